/**
 * A real Podman with everything of its own in a temp dir: storage, run
 * state, containers.conf, network configs and events. The host's Podman
 * setup is never read or changed. Images come from an OCI layout on disk,
 * never from a registry.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { busyboxTar, writeOciLayout } from './registry.js';
import { repoDir, run, type Result, type RunOptions } from './helpers.js';

export interface Podman {
  dir: string;
  /** the test image: busybox, tagged in this Podman's own store */
  image: string;
  /** where conflists go (network_config_dir) */
  networkDir: string;
  podman(args: string[], opts?: RunOptions): Result;
  cleanup(): void;
}

export function makePodman(opts: { runtime?: string; runtimePath?: string; cni?: boolean } = {}): Podman {
  // lower case: Podman names an image pulled from an OCI layout after the layout's path
  const dir = path.join(os.tmpdir(), `tbox-podman-${randomBytes(6).toString('hex')}`);
  fs.mkdirSync(dir);
  const networkDir = path.join(dir, 'cni');
  fs.mkdirSync(networkDir);
  const runtime = opts.runtime ?? 'runc';
  fs.writeFileSync(
    path.join(dir, 'containers.conf'),
    [
      '[containers]',
      // root here lacks CAP_SYS_RESOURCE: Podman's default 1048576 nofile would fail
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${dir}/events.log"`,
      `runtime = "${runtime}"`,
      ...(opts.runtimePath ? ['[engine.runtimes]', `${runtime} = ["${opts.runtimePath}"]`] : []),
      '[network]',
      `network_backend = "${opts.cni ? 'cni' : 'netavark'}"`,
      // tbox-cni is found by its config's type in scripts/
      `cni_plugin_dirs = ["${path.join(repoDir, 'scripts')}", "/usr/lib/cni"]`,
      `network_config_dir = "${networkDir}"`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, CONTAINERS_CONF: path.join(dir, 'containers.conf') };
  const base = ['--root', `${dir}/root`, '--runroot', `${dir}/run`, '--storage-driver', 'vfs'];
  const podman = (args: string[], o: RunOptions = {}) =>
    run('podman', [...base, ...args], { timeout: 120_000, ...o, env: { ...env, ...o.env } });
  const layout = path.join(dir, 'layout');
  writeOciLayout(layout, [busyboxTar()], {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [] },
  });
  const image = 'localhost/tbox-test/busybox:1';
  const pulled = podman(['pull', '-q', `oci:${layout}:latest`]);
  if (pulled.code !== 0) throw new Error(`podman pull: ${pulled.stderr}`);
  podman(['tag', pulled.stdout.trim(), image]);
  return {
    dir,
    image,
    networkDir,
    podman,
    cleanup() {
      const r = podman(['system', 'reset', '-f']);
      fs.rmSync(dir, { recursive: true, force: true });
      if (r.code !== 0) throw new Error(`podman system reset: ${r.stderr}`);
    },
  };
}
