/**
 * Builds once, then after the whole suite fails it if the tests left any
 * kernel object or file behind (see leaks.ts). The snapshot taken first keeps
 * a user's own objects out of it.
 */
import { execFileSync } from 'node:child_process';
import { repoDir } from './helpers.js';
import { leaked, snapshot } from './leaks.js';

export default function setup() {
  execFileSync('npm', ['run', 'build'], { cwd: repoDir, stdio: 'inherit' });
  const before = snapshot();
  return async function teardown() {
    let leaks: string[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      leaks = leaked(before, snapshot());
      if (leaks.length === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the tests leaked kernel objects or files:\n  ${leaks.join('\n  ')}`);
  };
}
