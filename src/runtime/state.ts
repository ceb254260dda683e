/**
 * tbox-runtime's record of a container, one directory per id under --root
 * (default /run/tbox-runtime, gone with a reboot like runc's): state.json,
 * the bundle's config.json as it was at create, the exec barrier (a FIFO),
 * the environment and seccomp rules for the shim. The status is never
 * stored: it is read from the kernel each time (runtime-spec "State").
 */
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, readProcStat } from '../host/proc.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import type { OciSpec } from '../container/oci.js';

export type RuntimeStatus = 'creating' | 'created' | 'running' | 'stopped';

export interface RuntimeRecord {
  id: string;
  bundle: string;
  /** root.path, absolute */
  rootfs: string;
  created: string;
  /** pid 1 on the host; unset while creating */
  pid?: number;
  pidStartTicks?: number;
  /** the exec barrier was opened (start ran) */
  started: boolean;
  annotations: Record<string, string>;
}

/** The runtime-spec's state, as `state` prints it. */
export interface RuntimeState {
  ociVersion: string;
  id: string;
  status: RuntimeStatus;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  annotations: Record<string, string>;
  owner: string;
}

export const DEFAULT_RUNTIME_ROOT = '/run/tbox-runtime';

/** runc's rule for ids: they become directory names here and cgroup names. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}$/;

export class RuntimeStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    if (!ID.test(id)) throw new InvalidArgumentError(`invalid container id "${id}": use [A-Za-z0-9][A-Za-z0-9_.+-]`);
    return path.join(this.root, id);
  }

  fifo = (id: string) => path.join(this.dir(id), 'exec.fifo');
  configPath = (id: string) => path.join(this.dir(id), 'config.json');
  envPath = (id: string) => path.join(this.dir(id), 'env');
  seccompPath = (id: string) => path.join(this.dir(id), 'seccomp.rules');
  private statePath = (id: string) => path.join(this.dir(id), 'state.json');

  /** The directory, made exclusively: two creates of one id cannot both win. */
  claim(id: string): void {
    fs.mkdirSync(this.root, { recursive: true, mode: 0o700 });
    try {
      fs.mkdirSync(this.dir(id), { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ConflictError(`container with id ${id} already exists`);
      throw err;
    }
  }

  write(r: RuntimeRecord): void {
    const tmp = `${this.statePath(r.id)}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(r));
    fs.renameSync(tmp, this.statePath(r.id));
  }

  read(id: string): RuntimeRecord {
    try {
      return JSON.parse(fs.readFileSync(this.statePath(id), 'utf8')) as RuntimeRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`container ${id} does not exist`);
      throw err;
    }
  }

  exists(id: string): boolean {
    return fs.existsSync(this.dir(id));
  }

  config(id: string): OciSpec {
    return JSON.parse(fs.readFileSync(this.configPath(id), 'utf8')) as OciSpec;
  }

  ids(): string[] {
    try {
      return fs.readdirSync(this.root).filter((n) => ID.test(n) && fs.existsSync(this.statePath(n)));
    } catch {
      return [];
    }
  }

  remove(id: string): void {
    fs.rmSync(this.dir(id), { recursive: true, force: true });
  }
}

/** Read from the kernel: no pid yet is creating; a live pid 1 is created until start opened the barrier. */
export function statusOf(r: RuntimeRecord): RuntimeStatus {
  if (r.pid === undefined) return 'creating';
  if (!isAlive(r.pid, r.pidStartTicks ?? null)) return 'stopped';
  return r.started ? 'running' : 'created';
}

export function stateOf(r: RuntimeRecord, ociVersion: string): RuntimeState {
  const status = statusOf(r);
  return {
    ociVersion,
    id: r.id,
    status,
    pid: status === 'stopped' || r.pid === undefined ? 0 : r.pid,
    bundle: r.bundle,
    rootfs: r.rootfs,
    created: r.created,
    annotations: r.annotations,
    owner: '',
  };
}

export const startTicksOf = (pid: number) => readProcStat(pid)?.startTicks;
