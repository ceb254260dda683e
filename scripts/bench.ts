// npm run bench: tbox's figures next to baselines measured in the same run,
// as ratios. Uses its own data root, bridge, subnet, chains and a registry on
// 127.0.0.1; never touches a user's tbox0 or the internet.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, execaSync } from 'execa';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { busyboxTar, push, startRegistry, writeOciLayout } from '../test/registry.js';
import { makeTar } from '../test/tar-writer.js';

interface Figure {
  label: string;
  median: number;
  p95: number;
  n?: number;
}

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'dist', 'cli.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-bench-'));
const BRIDGE = 'tbbench0';
const env = {
  ...process.env,
  TBOX_ROOT: root,
  TBOX_BRIDGE: BRIDGE,
  TBOX_BRIDGE_SUBNET: '10.254.0.0/16',
  TBOX_SUBNET_POOL: '10.253.0.0/16',
  TBOX_CHAIN_PREFIX: 'TBBENCH',
};
Object.assign(process.env, env);

function sh(cmd: string, args: string[]): string {
  // execa's error names the command, its exit code and its stderr
  return execaSync(cmd, args, { env, extendEnv: false, stripFinalNewline: false }).stdout;
}
const tbox = (...args: string[]) => sh(process.execPath, [cli, ...args]);
/** Clean-up steps whose failure does not matter. */
const quiet = (cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) => execaSync(cmd, args, { ...opts, reject: false });

function measure(label: string, cmd: string, args: string[], runs = RUNS, before?: () => void): Figure {
  before?.();
  sh(cmd, args); // warm-up: page cache, built-in image, bridge
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    before?.();
    const t0 = process.hrtime.bigint();
    sh(cmd, args);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return stats(label, times);
}

/** Several commands measured round-robin, so a noisy moment hits them all alike. */
function measureInterleaved(cases: { label: string; cmd: string; args: string[] }[], runs = RUNS): Figure[] {
  for (const c of cases) sh(c.cmd, c.args); // warm-up
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    cases.forEach((c, k) => {
      const t0 = process.hrtime.bigint();
      sh(c.cmd, c.args);
      times[k]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  }
  return cases.map((c, k) => stats(c.label, times[k]!));
}

function stats(label: string, times: number[]): Figure {
  const sorted = [...times].sort((a, b) => a - b);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { label, median: pick(0.5), p95: pick(0.95), n: times.length };
}

/** Issue 13's goals: each figure against a limit made of floors measured in the same run. */
interface Goal {
  what: string;
  median: number;
  limit: number;
  rule: string;
  ratio: number;
  met: boolean;
}
const goals: Goal[] = [];

function goal(what: string, figure: Figure, limit: number, rule: string): void {
  goals.push({ what, median: figure.median, limit, rule, ratio: figure.median / limit, met: figure.median <= limit });
}

/** The goals as a table, and bench/results.json for comparing later runs. */
function reportGoals(): void {
  console.log('\nGoals (issue 13): each median next to its limit, from floors measured in this run');
  console.log(`${'what'.padEnd(52)}${'ms'.padStart(8)}${'limit'.padStart(8)}${'ratio'.padStart(7)}  rule`);
  for (const g of goals) {
    const mark = g.met ? 'ok ' : 'OVER';
    console.log(
      `${g.what.padEnd(52)}${g.median.toFixed(1).padStart(8)}${g.limit.toFixed(1).padStart(8)}${g.ratio.toFixed(2).padStart(7)}  ${mark} ${g.rule}`,
    );
  }
  const out = path.join(repo, 'bench', 'results.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({ at: new Date().toISOString(), host: os.hostname(), kernel: os.release(), goals }, null, 2)}\n`);
  console.log(`  written to ${path.relative(repo, out)}`);
}

function report(title: string, rows: Figure[], ratios: [Figure, Figure][], digits = 1): void {
  console.log(`\n${title}`);
  console.log(`${'what'.padEnd(62)}${'median ms'.padStart(11)}${'p95 ms'.padStart(10)}${'runs'.padStart(6)}`);
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(62)}${r.median.toFixed(digits).padStart(11)}${r.p95.toFixed(digits).padStart(10)}${String(r.n ?? '').padStart(6)}`,
    );
  }
  for (const [a, b] of ratios) {
    console.log(`  ${a.label} / ${b.label}: median ${(a.median / b.median).toFixed(2)}x, p95 ${(a.p95 / b.p95).toFixed(2)}x`);
  }
}

async function benchStart() {
  tbox('run', '--rm', '--network', 'none', 'busybox', 'true');
  const image = JSON.parse(tbox('image', 'inspect', 'busybox'))[0];
  const layer = path.join(root, 'images', 'layers', image.RootFS.Layers[0].replace('sha256:', ''));
  const floorDir = path.join(root, 'floor');
  for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(floorDir, d), { recursive: true });

  // The floor: the least any runtime must do, by hand in one shell.
  const inContainer = `mount -t overlay overlay -o lowerdir=${layer},upperdir=${floorDir}/upper,workdir=${floorDir}/work ${floorDir}/merged && cd ${floorDir}/merged && pivot_root . . && umount -l . && exec /bin/true`;
  const floor = measure('floor: unshare + overlay + pivot_root + exec true', 'unshare', [
    '--mount',
    '--uts',
    '--ipc',
    '--net',
    '--pid',
    '--fork',
    'sh',
    '-c',
    inContainer,
  ]);
  const node = measure('node -e 0', process.execPath, ['-e', '0']);
  const none = measure('tbox run --rm --network none busybox true', process.execPath, [
    cli,
    'run',
    '--rm',
    '--network',
    'none',
    'busybox',
    'true',
  ]);
  const nodeFloor: Figure = { label: 'node + floor', median: node.median + floor.median, p95: node.p95 + floor.p95 };
  goal('run --rm --network none', none, node.median + 1.25 * floor.median, 'node -e 0 + 1.25 x raw floor');
  report(
    'Start-to-exit, --network none',
    [floor, node, none],
    [
      [none, floor],
      [none, node],
      [none, nodeFloor],
    ],
  );

  // Bridge mode: the same plus a netns, a veth pair on the bridge, an address and a route.
  const bridgeFloorScript = [
    'set -e; ns=tbbench$$; v=tbbv$$',
    // The veth goes with the netns; the link del is for a run that failed half-way.
    'trap "ip netns del $ns 2>/dev/null || true; ip link del $v 2>/dev/null || true" EXIT',
    'ip netns add $ns',
    `printf 'link add %s type veth peer name eth0 netns %s\\nlink set %s master ${BRIDGE}\\nlink set %s up\\n' $v $ns $v $v | ip -batch -`,
    `printf 'addr add 10.254.200.2/16 dev eth0\\nlink set eth0 up\\nlink set lo up\\nroute add default via 10.254.0.1\\n' | ip -n $ns -batch -`,
    `ip netns exec $ns unshare --mount --uts --ipc --pid --fork sh -c '${inContainer}'`,
  ].join('\n');
  tbox('network', 'ls'); // creates the bench's bridge
  const bridgeFloor = measure('floor: the same + netns, veth, bridge, address by hand', 'sh', ['-c', bridgeFloorScript]);
  const bridge = measure('tbox run --rm busybox true (bridge)', process.execPath, [cli, 'run', '--rm', 'busybox', 'true']);
  const nodeBridgeFloor: Figure = {
    label: 'node + bridge floor',
    median: node.median + bridgeFloor.median,
    p95: node.p95 + bridgeFloor.p95,
  };
  goal('run --rm (bridge)', bridge, node.median + 1.25 * bridgeFloor.median, 'node -e 0 + 1.25 x raw bridge floor');
  report(
    'Start-to-exit, bridge mode',
    [bridgeFloor, none, bridge],
    [
      [bridge, bridgeFloor],
      [bridge, nodeBridgeFloor],
      [bridge, none],
    ],
  );
}

/** ps, images and network ls next to node -e 0; and a start, with `count` containers present. */
function benchList(count: number, noneAtZero?: Figure): Figure {
  const cases = [
    { label: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
    { label: `tbox ps (${count} containers)`, cmd: process.execPath, args: [cli, 'ps'] },
    { label: `tbox images (${count} containers)`, cmd: process.execPath, args: [cli, 'images'] },
    { label: `tbox network ls (${count} containers)`, cmd: process.execPath, args: [cli, 'network', 'ls'] },
    {
      label: `tbox run --rm --network none (${count} running)`,
      cmd: process.execPath,
      args: [cli, 'run', '--rm', '--network', 'none', 'busybox', 'true'],
    },
  ];
  const [node, ps, images, netls, start] = measureInterleaved(cases);
  for (const f of [ps!, images!, netls!]) goal(f.label, f, 1.25 * node!.median, '1.25 x node -e 0');
  if (noneAtZero) goal(start!.label, start!, 1.1 * noneAtZero.median, '1.1 x the same with 0 running');
  report(
    `Listing and starting with ${count} containers`,
    [node!, ps!, images!, netls!, start!],
    [
      [ps!, node!],
      [images!, node!],
      [netls!, node!],
    ],
  );
  return start!;
}

/** The list and start figures with 0 containers, then with 200 idle ones (no network: 200 veths would measure the bridge). */
function benchScale(): void {
  const atZero = benchList(0);
  const COUNT = 200;
  const names = Array.from({ length: COUNT }, (_, i) => `many${i}`);
  for (const n of names) tbox('run', '-d', '--network', 'none', '--name', n, 'busybox', 'sleep', '600');
  try {
    benchList(COUNT, atZero);
  } finally {
    tbox('rm', '-f', ...names);
  }
}

/** One IPAM allocation with 10,000 leases in a /16, next to a bare write transaction. */
async function benchIpam() {
  // dist is CommonJS: load it as Node would.
  const load = createRequire(import.meta.url);
  const { createNetwork } = load(path.join(repo, 'dist/network/networks.js'));
  const { leaseAddress, releaseLease } = load(path.join(repo, 'dist/network/ipam.js'));
  const { database, write } = load(path.join(repo, 'dist/state/db.js'));
  const net = createNetwork({ name: 'ipam-bench', subnet: '10.253.0.0/16', bridge: 'tbbench1' });
  database().exec('CREATE TABLE IF NOT EXISTS bench_writes (n INTEGER)');
  const filler = 10_000;
  for (let i = 0; i < filler; i++) leaseAddress(net.id, `fill${i}`);
  const time = (fn: () => void) => {
    const t0 = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const ipam: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 200; i++) {
    ipam.push(time(() => leaseAddress(net.id, `probe${i}`)));
    bare.push(
      time(() =>
        write((db: { prepare(sql: string): { run(...a: unknown[]): unknown } }) =>
          db.prepare('INSERT INTO bench_writes (n) VALUES (?)').run(i),
        ),
      ),
    );
    releaseLease(`probe${i}`);
  }
  const a = stats(`IPAM allocation with ${filler} leases in a /16`, ipam);
  const b = stats('bare BEGIN IMMEDIATE + INSERT + COMMIT', bare);
  report('IPAM', [a, b], [[a, b]], 3);
}

/** PSS (kB) of a process, from /proc/PID/smaps_rollup. */
function pss(pid: number | string): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

/** Host memory per idle detached container, and tbox exec, each next to a baseline. */
/** What confinement (capabilities, seccomp, masked paths, nodev, cgroup) and limits cost at start. */
function benchConfinement(): void {
  const run = (label: string, flags: string[]) => ({
    label,
    cmd: process.execPath,
    args: [cli, 'run', '--rm', '--network', 'none', ...flags, 'busybox', 'true'],
  });
  const [confined, privileged, limited] = measureInterleaved([
    run('tbox run (default: confined, pids limit 2048)', []),
    run('tbox run --privileged', ['--privileged']),
    run('tbox run -m 64m --pids-limit 100', ['-m', '64m', '--pids-limit', '100']),
  ]);
  report(
    'Confinement and limits at start (interleaved runs)',
    [confined!, privileged!, limited!],
    [
      [confined!, privileged!],
      [limited!, confined!],
    ],
  );
  process.stdout.write(`  confinement costs ${(confined!.median - privileged!.median).toFixed(1)} ms at the median (target: under 5 ms)\n`);
}

/** What a published port (reservation, monitor's hold, DNAT rules set up and torn down) and a volume cost at start. */
function benchReach(): void {
  const run = (label: string, flags: string[]) => ({
    label,
    cmd: process.execPath,
    args: [cli, 'run', '--rm', ...flags, 'busybox', 'true'],
  });
  const [plain, published, volume] = measureInterleaved([
    run('tbox run --rm busybox true (bridge)', []),
    run('tbox run --rm -p 18080:80 busybox true', ['-p', '18080:80']),
    run('tbox run --rm -v benchvol:/data busybox true', ['-v', 'benchvol:/data']),
  ]);
  report(
    'Published ports and volumes at start (interleaved runs)',
    [plain!, published!, volume!],
    [
      [published!, plain!],
      [volume!, plain!],
    ],
  );
}

async function benchDetached() {
  const COUNT = 20;
  const names = Array.from({ length: COUNT }, (_, i) => `idle${i}`);
  for (const n of names) tbox('run', '-d', '--name', n, 'busybox', 'sleep', '600');
  await new Promise((r) => setTimeout(r, 500));
  // Every host process tbox keeps alive for these containers: their monitors.
  const monitors = fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return (
          fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(path.join(repo, 'dist', 'tbox-shim')) &&
          fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(root)
        );
      } catch {
        return false;
      }
    });
  const perContainer = monitors.reduce((sum, p) => sum + pss(p), 0) / COUNT;
  const idleNode = execa(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { reject: false });
  const idleSleep = execa('sleep', ['60'], { reject: false });
  await new Promise((r) => setTimeout(r, 500));
  const nodePss = pss(idleNode.pid!);
  const sleepPss = pss(idleSleep.pid!);
  idleNode.kill();
  idleSleep.kill();
  console.log(`\nHost memory per idle detached container (${COUNT} containers, ${monitors.length} monitor processes)`);
  console.log(`${'what'.padEnd(62)}${'PSS kB'.padStart(11)}`);
  console.log(`${'tbox (tbox-shim, per container)'.padEnd(62)}${perContainer.toFixed(0).padStart(11)}`);
  console.log(`${'an idle node process (a Node.js monitor would cost this)'.padEnd(62)}${String(nodePss).padStart(11)}`);
  console.log(`${'an idle sleep(1), the smallest dynamic process'.padEnd(62)}${String(sleepPss).padStart(11)}`);
  console.log(`  tbox / node: ${(perContainer / nodePss).toFixed(3)}x; tbox / sleep: ${(perContainer / sleepPss).toFixed(2)}x`);

  const pid = JSON.parse(tbox('inspect', 'idle0'))[0].State.Pid;
  const floor = measure('floor: nsenter -t PID -m -u -i -n -p -r true', 'nsenter', [
    '-t',
    String(pid),
    '-m',
    '-u',
    '-i',
    '-n',
    '-p',
    '-r',
    'true',
  ]);
  const node = measure('node -e 0', process.execPath, ['-e', '0']);
  const exec = measure('tbox exec CTR true', process.execPath, [cli, 'exec', 'idle0', 'true']);
  goal('exec CTR true', exec, node.median + 1.25 * floor.median, 'node -e 0 + 1.25 x bare nsenter');
  report(
    'exec',
    [floor, node, exec],
    [
      [exec, floor],
      [exec, node],
    ],
  );
  tbox('rm', '-f', ...names);
}

/** Pull of a ~50 MB image next to skopeo copying it; start of a many-layer image next to a one-layer one. */
async function benchImages() {
  const registry = await startRegistry();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-bench-images-'));
  try {
    const bb = busyboxTar();
    // Random bytes do not compress: the blob is as big as the payload.
    const big = makeTar([{ path: 'payload', body: randomBytes(48 * 1024 * 1024) }]);
    const config = { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] };
    writeOciLayout(path.join(work, 'big'), [bb, big], config);
    push(path.join(work, 'big'), registry.host, 'bench/big:1');
    const size = fs
      .readdirSync(path.join(work, 'big', 'blobs', 'sha256'))
      .reduce((n, f) => n + fs.statSync(path.join(work, 'big', 'blobs', 'sha256', f)).size, 0);

    // A many-file image, as Alpine is: 3,000 small files in a second layer.
    const files = makeTar(Array.from({ length: 3000 }, (_, i) => ({ path: `usr/share/f${i}`, body: `file ${i}\n` })));
    writeOciLayout(path.join(work, 'manyfiles'), [bb, files], config);
    push(path.join(work, 'manyfiles'), registry.host, 'bench/manyfiles:1');
    const pullRuns = 5;
    const has = (tool: string) => execaSync('sh', ['-c', `command -v ${tool}`], { reject: false }).exitCode === 0;
    for (const [name, what] of [
      ['big', `${(size / 1e6).toFixed(0)} MB image, 2 layers`],
      ['manyfiles', '3,000-file image'],
    ] as const) {
      const image = `${registry.host}/bench/${name}:1`;
      const forget = () => {
        quiet(process.execPath, [cli, 'rmi', image], { env });
        quiet(process.execPath, [cli, 'image', 'prune', '-a', '-f'], { env });
      };
      const layout = path.join(work, `oci-${name}`);
      const rootfs = path.join(work, `rootfs-${name}`);
      const pull = measure(`tbox pull (${what})`, process.execPath, [cli, 'pull', '-q', image], pullRuns, forget);
      const rows = [pull];
      if (has('umoci')) {
        // the floor: download and verify (skopeo), then unpack the layers (umoci)
        const floor = measure(
          'skopeo copy + umoci raw unpack',
          'sh',
          [
            '-c',
            `skopeo --insecure-policy copy -q --src-tls-verify=false docker://${image} oci:${layout}:t && umoci raw unpack --image ${layout}:t ${rootfs}`,
          ],
          pullRuns,
          () => {
            fs.rmSync(layout, { recursive: true, force: true });
            fs.rmSync(rootfs, { recursive: true, force: true });
          },
        );
        goal(`pull (${what})`, pull, floor.median, 'skopeo copy + umoci raw unpack');
        rows.push(floor);
      }
      if (has('podman')) {
        const store = path.join(work, 'podman');
        const podmanArgs = ['--root', `${store}/root`, '--runroot', `${store}/run`, '--storage-driver', 'vfs'];
        const podman = measure('podman pull', 'podman', [...podmanArgs, 'pull', '-q', '--tls-verify=false', image], pullRuns, () =>
          quiet('podman', [...podmanArgs, 'rmi', '-a', '-f']),
        );
        goal(`pull (${what}) vs podman`, pull, podman.median, 'podman pull');
        rows.push(podman);
        quiet('podman', [...podmanArgs, 'system', 'reset', '-f']);
      }
      report(
        `Pull from a registry on 127.0.0.1 (${what})`,
        rows,
        rows.slice(1).map((r) => [pull, r] as [Figure, Figure]),
      );
    }
    // A re-pull with nothing to download: a manifest round trip on top of a listing.
    tbox('pull', '-q', `${registry.host}/bench/manyfiles:1`);
    const [repull, images] = measureInterleaved([
      { label: 'tbox pull (image already there)', cmd: process.execPath, args: [cli, 'pull', '-q', `${registry.host}/bench/manyfiles:1`] },
      { label: 'tbox images', cmd: process.execPath, args: [cli, 'images'] },
    ]);
    goal('re-pull (nothing to download)', repull!, images!.median + 15, 'tbox images + 15 ms');
    report('Re-pull', [images!, repull!], [[repull!, images!]]);

    const layers = [bb, ...Array.from({ length: 19 }, (_, i) => makeTar([{ path: `layer${i}/file`, body: `layer ${i}\n` }]))];
    writeOciLayout(path.join(work, 'many'), layers, config);
    writeOciLayout(path.join(work, 'one'), [bb], config);
    push(path.join(work, 'many'), registry.host, 'bench/many:1');
    push(path.join(work, 'one'), registry.host, 'bench/one:1');
    tbox('pull', `${registry.host}/bench/many:1`);
    tbox('pull', `${registry.host}/bench/one:1`);
    const one = measure('tbox run --rm --network none (1-layer image) true', process.execPath, [
      cli,
      'run',
      '--rm',
      '--network',
      'none',
      `${registry.host}/bench/one:1`,
      'true',
    ]);
    const many = measure('tbox run --rm --network none (20-layer image) true', process.execPath, [
      cli,
      'run',
      '--rm',
      '--network',
      'none',
      `${registry.host}/bench/many:1`,
      'true',
    ]);
    report('Start-to-exit by number of layers', [one, many], [[many, one]]);
  } finally {
    await registry.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

try {
  await benchStart();
  benchScale();
  benchConfinement();
  benchReach();
  await benchDetached();
  await benchIpam();
  await benchImages();
  reportGoals();
} finally {
  quiet(process.execPath, [cli, 'system', 'reset', '-f'], { env });
  fs.rmSync(root, { recursive: true, force: true });
}
