/** Reading and writing cgroup files, for both drivers. */
import fs from 'node:fs';
import { removeKernelDir, writeKernelFile } from '../../host/command.js';

/** Read a number from a cgroup file; undefined if it is not there. */
export function readNumber(file: string): number | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return text === 'max' ? undefined : Number(text);
  } catch {
    return undefined;
  }
}

/** "key value" lines (memory.stat, memory.events, cpu.stat). */
export function readKeyed(file: string): Record<string, number> {
  try {
    return Object.fromEntries(
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [k, v] = l.split(/\s+/);
          return [k!, Number(v)];
        }),
    );
  } catch {
    return {};
  }
}

/** rmdir through the host seam, waiting for exiting processes to leave. */
export const removeDir = removeKernelDir;

export function writeFile(dir: string, file: string, value: string | number): void {
  writeKernelFile(`${dir}/${file}`, String(value));
}

/** A file's text, '' if it is not there. */
export function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * Wait (a few seconds at most) until `done()` holds: freezing is not instant,
 * the kernel reports FREEZING (v1) or frozen 0 (v2) until every task stopped.
 */
export function waitUntil(done: () => boolean, what: string): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 400; i++) {
    if (done()) return;
    Atomics.wait(cell, 0, 0, 5);
  }
  throw new Error(`${what}: the kernel did not finish in 2 seconds`);
}
