import { database, write } from './db.js';
import { NotFoundError, InvalidArgumentError } from '../errors.js';
import { isAlive, readProcStat } from '../host/proc.js';
import type { PortMapping } from './ports.js';
import { recordContainerEvent } from './events.js';

export type ContainerState = 'created' | 'running' | 'exited';

/** A device node bound into the container (--device, or every host device with --privileged). */
export interface ContainerDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  hostPath?: string;
}

/** Confinement, resolved at create time from --cap-add/--cap-drop/--privileged/--security-opt/--device. */
export interface ContainerSecurity {
  /** the capability set (CAP_ names) */
  caps: string[];
  privileged: boolean;
  noNewPrivileges: boolean;
  /** 'default', 'unconfined', or a profile's JSON */
  seccomp: string;
  devices: ContainerDevice[];
}

/** Resource limits, in the shape of OCI's linux.resources (see container/cgroups/resources.ts). */
export interface ContainerResources {
  memory?: { limit?: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string };
  pids?: { limit: number };
}

/** A user's mount: a volume (by name), a host path, or a tmpfs; resolved at create time. */
export interface ContainerMount {
  type: 'volume' | 'bind' | 'tmpfs';
  /** volume name or absolute host path; '' for tmpfs */
  source: string;
  target: string;
  readonly: boolean;
  /** tmpfs mount options (size=, mode=, ...) */
  options?: string;
  /** an anonymous volume (-v /path): removed with the container by rm -v and --rm */
  anonymous?: boolean;
  /** a volume not filled from the image's files at the target (nocopy) */
  nocopy?: boolean;
}

/** --dns, --dns-search, --dns-option: each replaces the host's, as in Docker. */
export interface ContainerDns {
  servers: string[];
  search: string[];
  options: string[];
}

/** A network a container was connected to after it was made. */
export interface ContainerConnection {
  network: string;
  ip?: string;
  aliases: string[];
}

/** What the user asked for, fixed at create time. */
export interface ContainerSpec {
  args: string[];
  env: string[];
  cwd: string;
  hostname: string;
  network: string;
  tty: boolean;
  interactive: boolean;
  /** --ip, kept so `tbox start` asks for the same address */
  ip?: string;
  /** --user or the image's User: name, uid, name:group or uid:gid */
  user?: string;
  /** --restart: no, always, unless-stopped, on-failure[:max] */
  restart?: string;
  /** absent in containers made before confinement existed: they get the defaults at their next start */
  security?: ContainerSecurity;
  /** absent likewise: the defaults (pids limit 2048) */
  resources?: ContainerResources;
  /** -p and -P: host ports are chosen (when 0) and reserved at each start */
  ports?: PortMapping[];
  /** "80/tcp" keys: the image's ExposedPorts, --expose, and the published ports */
  exposed?: string[];
  mounts?: ContainerMount[];
  /** --read-only */
  readOnly?: boolean;
  dns?: ContainerDns;
  /** --add-host NAME:IP */
  extraHosts?: string[];
  /** --network-alias: more names peers on a user network resolve to this container */
  aliases?: string[];
  /** networks joined by tbox network connect, attached at each start after the first */
  connections?: ContainerConnection[];
  /** --ulimit, as config.json's process.rlimits (-1: unlimited) */
  ulimits?: { type: string; soft: number; hard: number }[];
  /** --init: a reaping init as pid 1 */
  init?: boolean;
  /** the image's labels and --label */
  labels?: Record<string, string>;
  /** --stop-signal (or the image's StopSignal) and --stop-timeout */
  stopSignal?: string;
  stopTimeout?: number;
}

export interface ContainerRecord {
  id: string;
  name: string;
  imageId: string;
  imageRef: string;
  spec: ContainerSpec;
  state: ContainerState;
  shimPid: number | null;
  shimStartTicks: number | null;
  pid: number | null;
  exitCode: number | null;
  autoRemove: boolean;
  restartCount: number;
  stoppedByUser: boolean;
  /** the kernel's OOM killer killed a process of its last run */
  oomKilled: boolean;
  /** frozen by tbox pause */
  paused: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

interface Row {
  id: string;
  name: string;
  image_id: string;
  image_ref: string;
  spec: string;
  state: ContainerState;
  shim_pid: number | null;
  shim_start_ticks: number | null;
  pid: number | null;
  exit_code: number | null;
  auto_remove: number;
  restart_count: number;
  stopped_by_user: number;
  oom_killed: number;
  paused: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

function fromRow(r: Row): ContainerRecord {
  return {
    id: r.id,
    name: r.name,
    imageId: r.image_id,
    imageRef: r.image_ref,
    spec: JSON.parse(r.spec) as ContainerSpec,
    state: r.state,
    shimPid: r.shim_pid,
    shimStartTicks: r.shim_start_ticks,
    pid: r.pid,
    exitCode: r.exit_code,
    autoRemove: r.auto_remove === 1,
    restartCount: r.restart_count,
    stoppedByUser: r.stopped_by_user === 1,
    oomKilled: r.oom_killed === 1,
    paused: r.paused === 1,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** Docker's status word: paused is a running container that is frozen. */
export const statusWord = (c: ContainerRecord) => (c.state === 'running' && c.paused ? 'paused' : c.state);

/** The write a unique index refused (a container name in use). */
export const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';

export function insertContainer(c: ContainerRecord): void {
  write((db) => {
    db.prepare(
      `INSERT INTO containers (id, name, image_id, image_ref, spec, state, auto_remove, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(c.id, c.name, c.imageId, c.imageRef, JSON.stringify(c.spec), c.state, c.autoRemove ? 1 : 0, c.createdAt);
    recordContainerEvent(db, c.id, 'create');
  });
}

export function listContainers(): ContainerRecord[] {
  return (database().prepare('SELECT * FROM containers ORDER BY created_at DESC').all() as Row[]).map(fromRow);
}

export function runningContainers(): ContainerRecord[] {
  return (database().prepare("SELECT * FROM containers WHERE state = 'running'").all() as Row[]).map(fromRow);
}

export function getContainer(id: string): ContainerRecord | undefined {
  const row = database().prepare('SELECT * FROM containers WHERE id = ?').get(id) as Row | undefined;
  return row && fromRow(row);
}

/** Find a container by name, full id or unique id prefix, as Docker does. */
export function findContainer(ref: string): ContainerRecord {
  const db = database();
  let row = db.prepare('SELECT * FROM containers WHERE name = ? OR id = ?').get(ref, ref) as Row | undefined;
  if (!row && /^[0-9a-f-]+$/.test(ref)) {
    const rows = db.prepare("SELECT * FROM containers WHERE id LIKE ? || '%' LIMIT 2").all(ref) as Row[];
    if (rows.length > 1) throw new InvalidArgumentError(`multiple containers match id prefix "${ref}": use more characters`);
    row = rows[0];
  }
  if (!row) throw new NotFoundError(`No such container: ${ref}`);
  return fromRow(row);
}

export function markRunning(id: string, shimPid: number, shimStartTicks: number | null, pid: number, startedAt: string): void {
  write((db) => {
    db.prepare(
      `UPDATE containers SET state = 'running', shim_pid = ?, shim_start_ticks = ?, pid = ?, started_at = ?,
                finished_at = NULL, exit_code = NULL, paused = 0 WHERE id = ?`,
    ).run(shimPid, shimStartTicks, pid, startedAt, id);
    recordContainerEvent(db, id, 'start');
  });
}

/**
 * Take a stopped container for starting. Until the shim is up, the row names
 * this tbox process as its monitor, so a concurrent start backs off and a
 * crash here is reconciled like any dead monitor (abandonStart). A container
 * being removed is not taken: 'removing'.
 */
export function claimStart(id: string): 'claimed' | 'running' | 'removing' {
  const self = readProcStat(process.pid);
  return write((db) => {
    const row = db.prepare('SELECT state, removing FROM containers WHERE id = ?').get(id) as
      { state: string; removing: number } | undefined;
    if (!row || isAlive(row.removing, null)) return 'removing';
    if (row.state === 'running') return 'running';
    db.prepare(`UPDATE containers SET state = 'running', shim_pid = ?, shim_start_ticks = ?, pid = NULL WHERE id = ?`).run(
      process.pid,
      self?.startTicks ?? null,
      id,
    );
    return 'claimed';
  });
}

/**
 * The tbox that claimed a start died before pid 1 existed: the container is
 * as it was, Created if it never ran, else Exited with its last code.
 */
export function abandonStart(id: string): void {
  write((db) =>
    db
      .prepare(
        `UPDATE containers SET state = CASE WHEN started_at IS NULL THEN 'created' ELSE 'exited' END,
                shim_pid = NULL, shim_start_ticks = NULL, pid = NULL WHERE id = ? AND pid IS NULL`,
      )
      .run(id),
  );
}

/** A removal by a live tbox holds it (or it is gone): a start that failed meanwhile lost that race. */
export function isBeingRemoved(id: string): boolean {
  const row = database().prepare('SELECT removing FROM containers WHERE id = ?').get(id) as { removing: number } | undefined;
  return !row || isAlive(row.removing, null);
}

/** The removal failed half-way: let a later rm (or start) have it. */
export function releaseRemoval(id: string): void {
  write((db) => db.prepare('UPDATE containers SET removing = 0 WHERE id = ? AND removing = ?').run(id, process.pid));
}

/**
 * Mark a container as being removed (by this tbox), so no start can take it from here on.
 * Without force a running one is refused. Returns why it could not be taken.
 */
export function claimRemoval(id: string, force: boolean): 'claimed' | 'running' | 'removing' | 'gone' {
  return write((db) => {
    const row = db.prepare('SELECT state, removing FROM containers WHERE id = ?').get(id) as
      { state: string; removing: number } | undefined;
    if (!row) return 'gone';
    if (isAlive(row.removing, null)) return 'removing';
    if (row.state === 'running' && !force) return 'running';
    db.prepare('UPDATE containers SET removing = ? WHERE id = ?').run(process.pid, id);
    return 'claimed';
  });
}

/** The user stopped (or killed) it: no restart policy brings it back. */
export function markStoppedByUser(id: string): void {
  write((db) => db.prepare('UPDATE containers SET stopped_by_user = 1 WHERE id = ?').run(id));
}

/** A start by the user clears both; a restart by policy counts one more. */
export function setRestartState(id: string, restartCount: number): void {
  write((db) => db.prepare('UPDATE containers SET stopped_by_user = 0, restart_count = ? WHERE id = ?').run(restartCount, id));
}

/** Record an exit once: returns false if another process recorded it first. */
export function markExited(id: string, exitCode: number, finishedAt: string, oomKilled = false): boolean {
  return write((db) => {
    const changed =
      db
        .prepare(
          `UPDATE containers SET state = 'exited', exit_code = ?, finished_at = ?, pid = NULL, oom_killed = ?, paused = 0
                  WHERE id = ? AND state != 'exited'`,
        )
        .run(exitCode, finishedAt, oomKilled ? 1 : 0, id).changes === 1;
    if (changed) recordContainerEvent(db, id, 'die', { exitCode: String(exitCode) });
    return changed;
  });
}

export function deleteContainer(id: string): boolean {
  return write((db) => {
    recordContainerEvent(db, id, 'destroy');
    return db.prepare('DELETE FROM containers WHERE id = ?').run(id).changes === 1;
  });
}

/** tbox pause/unpause: kept in the row so ps and inspect show it. */
export function setPaused(id: string, paused: boolean): void {
  write((db) => {
    db.prepare('UPDATE containers SET paused = ? WHERE id = ?').run(paused ? 1 : 0, id);
    recordContainerEvent(db, id, paused ? 'pause' : 'unpause');
  });
}

/** tbox rename: the unique index refuses a name in use (SQLITE_CONSTRAINT_UNIQUE). */
export function renameContainer(id: string, name: string): void {
  write((db) => {
    const old = (db.prepare('SELECT name FROM containers WHERE id = ?').get(id) as { name: string }).name;
    db.prepare('UPDATE containers SET name = ? WHERE id = ?').run(name, id);
    recordContainerEvent(db, id, 'rename', { oldName: old });
  });
}

export function containersUsingImage(imageId: string): ContainerRecord[] {
  return (database().prepare('SELECT * FROM containers WHERE image_id = ?').all(imageId) as Row[]).map(fromRow);
}

/** Change part of a stored spec: tbox update (resources), tbox network connect/disconnect (connections). */
export function updateSpec(id: string, patch: Partial<ContainerSpec>): void {
  write((db) => {
    const row = db.prepare('SELECT spec FROM containers WHERE id = ?').get(id) as { spec: string } | undefined;
    if (!row) return;
    db.prepare('UPDATE containers SET spec = ? WHERE id = ?').run(
      JSON.stringify({ ...(JSON.parse(row.spec) as ContainerSpec), ...patch }),
      id,
    );
  });
}
