/**
 * Every test gets its own data root (and, for networking, its own bridge and
 * subnet), and removes what it made even when it fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cliPath = path.join(repoDir, 'dist', 'cli.js');
/** Test roots live under this prefix so the leak check can find them. */
export const TEST_PREFIX = path.join(os.tmpdir(), 'tbox-test-');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  root: string;
  env: NodeJS.ProcessEnv;
  tbox(args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number }): Result;
  cleanup(): void;
}

export function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Result {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, ...opts });
  return { code: r.status ?? 128, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

export function sh(script: string): Result {
  return run('sh', ['-c', script]);
}

export function makeSandbox(): Sandbox {
  const root = fs.mkdtempSync(TEST_PREFIX);
  const env = { ...process.env, TBOX_ROOT: root };
  const tbox: Sandbox['tbox'] = (args, opts = {}) =>
    run(process.execPath, [cliPath, ...args], {
      input: opts.input,
      env: { ...env, ...opts.env },
      timeout: opts.timeout ?? 60_000,
    });
  return {
    root,
    env,
    tbox,
    cleanup() {
      const ids = tbox(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) tbox(['rm', '-f', ...ids]);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
