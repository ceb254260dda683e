/** Reading and writing cgroup files, for both drivers. */
import fs from 'node:fs';

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

/** rmdir, waiting a little for exiting processes to leave (the kernel empties a cgroup asynchronously). */
export function removeDir(dir: string): boolean {
  for (let i = 0; i < 1000; i++) {
    try {
      fs.rmdirSync(dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  return false;
}

export function writeFile(dir: string, file: string, value: string | number): void {
  fs.writeFileSync(`${dir}/${file}`, String(value));
}

/** A file's text, '' if it is not there. */
export function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
