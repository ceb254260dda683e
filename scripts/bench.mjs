#!/usr/bin/env node
// npm run bench: start-to-exit times of tbox next to floors measured in the
// same run, as ratios. Uses its own data root; never touches tbox0.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'dist', 'cli.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-bench-'));
const env = { ...process.env, TBOX_ROOT: root };

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

function measure(label, cmd, args) {
  sh(cmd, args); // warm-up: page cache, built-in image
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    sh(cmd, args);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const pick = (q) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
  return { label, median: pick(0.5), p95: pick(0.95) };
}

function report(title, rows, against) {
  console.log(`\n${title} (${RUNS} runs each)`);
  console.log(`${'what'.padEnd(58)}${'median ms'.padStart(11)}${'p95 ms'.padStart(10)}`);
  for (const r of rows) console.log(`${r.label.padEnd(58)}${r.median.toFixed(1).padStart(11)}${r.p95.toFixed(1).padStart(10)}`);
  for (const [a, b] of against) {
    console.log(`ratio ${a.label} / ${b.label}: median ${(a.median / b.median).toFixed(2)}x, p95 ${(a.p95 / b.p95).toFixed(2)}x`);
  }
}

try {
  sh(process.execPath, [cli, 'run', '--rm', '--network', 'none', 'busybox', 'true']);
  const image = JSON.parse(sh(process.execPath, [cli, 'inspect', 'busybox']))[0];
  const layer = path.join(root, 'images', 'layers', image.rootfs.diff_ids[0].replace('sha256:', ''));

  // The floor: what any runtime must do at least, by hand in one shell.
  const floorDir = path.join(root, 'floor');
  for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(floorDir, d), { recursive: true });
  const floorScript = `mount -t overlay overlay -o lowerdir=${layer},upperdir=${floorDir}/upper,workdir=${floorDir}/work ${floorDir}/merged
cd ${floorDir}/merged && pivot_root . . && umount -l . && exec /bin/true`;
  const floor = measure('floor: unshare + overlay + pivot_root + exec true (sh)', 'unshare', ['--mount', '--uts', '--ipc', '--net', '--pid', '--fork', 'sh', '-c', floorScript]);
  const node = measure('node -e 0', process.execPath, ['-e', '0']);
  const tbox = measure('tbox run --rm --network none busybox true', process.execPath, [cli, 'run', '--rm', '--network', 'none', 'busybox', 'true']);
  const sum = { label: 'node + floor', median: node.median + floor.median, p95: node.p95 + floor.p95 };
  report('Container start-to-exit', [floor, node, tbox], [[tbox, floor], [tbox, node], [tbox, sum]]);
} finally {
  const left = spawnSync(process.execPath, [cli, 'ps', '-aq'], { env, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  if (left.length > 0) spawnSync(process.execPath, [cli, 'rm', '-f', ...left], { env });
  fs.rmSync(root, { recursive: true, force: true });
}
