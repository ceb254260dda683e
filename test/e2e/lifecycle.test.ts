import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, uniqueNet, type Sandbox, eventually, links, processesOf } from '../helpers.js';

let box: Sandbox;
beforeAll(() => {
  box = makeSandbox();
});
afterAll(() => box.cleanup());

const inspect = (ref: string) => JSON.parse(box.tbox(['inspect', ref]).stdout)[0];
const psLine = (name: string) =>
  box
    .tbox(['ps', '-a', '--format', '{{.Names}}|{{.Status}}'])
    .stdout.split('\n')
    .find((l) => l.startsWith(`${name}|`));
const shims = () => processesOf(box.root);
const spawnTbox = (args: string[]) => box.tboxAsync(args);

describe('detached containers', () => {
  it('run -d, logs, stop, start (same id, name, rootfs and --ip), restart, wait, rm', async () => {
    const net = uniqueNet();
    box.tbox(['network', 'create', '--subnet', net.subnet, '-o', `com.docker.network.bridge.name=${net.bridge}`, 'life']);
    const t0 = Date.now();
    const r = box.tbox([
      'run',
      '-d',
      '--name',
      'svc',
      '--network',
      'life',
      '--ip',
      `${net.prefix}.42`,
      'busybox',
      'sh',
      '-c',
      'echo boot $(cat /data 2>/dev/null); echo hello > /data; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f]{32}\n$/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const id = r.stdout.trim();
    expect(psLine('svc')).toMatch(/^svc\|Up /);
    await eventually(() => box.tbox(['logs', 'svc']).stdout === 'boot\n');
    const state = inspect('svc').State;
    expect(state).toMatchObject({ Status: 'running', Running: true, ExitCode: 0, OOMKilled: false });
    expect(fs.readFileSync(`/proc/${state.Pid}/cmdline`, 'utf8')).toMatch(/^sh\0-c\0/);

    expect(box.tbox(['stop', 'svc']).stdout).toBe('svc\n');
    expect(psLine('svc')).toMatch(/^svc\|Exited \(0\) /);
    expect(inspect('svc').State).toMatchObject({ Status: 'exited', Running: false, Pid: 0, ExitCode: 0 });
    expect(box.tbox(['logs', 'svc']).stdout).toBe('boot\nbye\n');

    expect(box.tbox(['start', 'svc']).code).toBe(0);
    const again = inspect('svc');
    expect(again.Id).toBe(id);
    expect(again.NetworkSettings.IPAddress).toBe(`${net.prefix}.42`);
    await eventually(() => box.tbox(['logs', 'svc']).stdout.includes('boot hello\n'));

    expect(box.tbox(['restart', '-t', '5', 'svc']).code).toBe(0);
    expect(psLine('svc')).toMatch(/^svc\|Up /);
    const waiter = spawnTbox(['wait', 'svc']);
    await new Promise((r) => setTimeout(r, 300));
    box.tbox(['kill', '-s', 'TERM', 'svc']);
    expect((await waiter).stdout).toBe('0\n');
    expect(box.tbox(['rm', 'svc']).code).toBe(0);
    expect(box.tbox(['network', 'rm', 'life']).code).toBe(0);
  });

  it('--rm with -d: the monitor removes the container when it exits, with no tbox running', async () => {
    const id = box.tbox(['run', '-d', '--rm', 'busybox', 'sh', '-c', 'sleep 0.3']).stdout.trim();
    expect(fs.existsSync(path.join(box.root, 'state', 'containers', id))).toBe(true);
    await eventually(() => !fs.existsSync(path.join(box.root, 'state', 'containers', id)));
  });

  it('stop waits the timeout for a process that ignores SIGTERM, then reports 137', () => {
    box.tbox(['run', '-d', '--name', 'stubborn', 'busybox', 'sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done']);
    const t0 = Date.now();
    expect(box.tbox(['stop', '-t', '2', 'stubborn']).code).toBe(0);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(8000);
    expect(inspect('stubborn').State.ExitCode).toBe(137);
    box.tbox(['rm', 'stubborn']);
  });

  it('kill -9 of the monitor is reconciled by the next command: exited, lease and veth released', async () => {
    box.tbox(['run', '-d', '--name', 'orphan', 'busybox', 'sleep', '600']);
    const before = inspect('orphan');
    const veth = before.NetworkSettings.Networks.bridge.HostVeth;
    process.kill(before.MonitorPid, 'SIGKILL');
    expect(psLine('orphan')).toMatch(/^orphan\|Exited \(137\)/);
    await eventually(() => !links().includes(veth));
    const [net] = JSON.parse(box.tbox(['network', 'inspect', 'bridge']).stdout);
    expect(Object.keys(net.Containers)).toEqual([]);
    box.tbox(['rm', 'orphan']);
  });

  it('stop + rm, and start + start, at the same time leave consistent state', async () => {
    box.tbox(['run', '-d', '--name', 'race', 'busybox', 'sleep', '600']);
    const [stop, rm] = await Promise.all([spawnTbox(['stop', '-t', '1', 'race']), spawnTbox(['rm', '-f', 'race'])]);
    expect({ code: rm.code, stderr: rm.stderr }).toEqual({ code: 0, stderr: '' });
    // rm may win: stop then fails on the name, with Docker's exit 1
    expect([0, 1]).toContain(stop.code);
    expect(box.tbox(['ps', '-a', '--format', '{{.Names}}']).stdout).not.toContain('race');

    box.tbox(['run', '-d', '--name', 'twice', 'busybox', 'sleep', '600']);
    box.tbox(['stop', '-t', '0', 'twice']);
    const starts = await Promise.all([spawnTbox(['start', 'twice']), spawnTbox(['start', 'twice'])]);
    expect(starts.map((s) => s.code)).toEqual([0, 0]);
    expect(psLine('twice')).toMatch(/^twice\|Up/);
    const [net] = JSON.parse(box.tbox(['network', 'inspect', 'bridge']).stdout);
    expect(Object.keys(net.Containers)).toHaveLength(1);
    box.tbox(['rm', '-f', 'twice']);
  });
});

describe('logs', () => {
  it('keeps all 10,000 lines in order, stdout and stderr apart, with --tail and -t', () => {
    // The pause keeps stderr after all of stdout: the two pipes are read independently.
    const r = box.tbox(['run', '--name', 'chatty', 'busybox', 'sh', '-c', 'seq 1 10000; sleep 0.2; echo oops >&2']);
    expect(r.stdout.split('\n').length).toBe(10_001);
    const logs = box.tbox(['logs', 'chatty']);
    expect(logs.stdout).toBe(Array.from({ length: 10_000 }, (_, i) => `${i + 1}\n`).join(''));
    expect(logs.stderr).toBe('oops\n');
    const tail = box.tbox(['logs', '--tail', '2', 'chatty']);
    expect([tail.stdout, tail.stderr]).toEqual(['10000\n', 'oops\n']);
    expect(box.tbox(['logs', '-n', '3', '-t', 'chatty']).stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z 9999\n\S+ 10000\n$/);
    box.tbox(['rm', 'chatty']);
  });

  it('-f follows until the container exits', async () => {
    box.tbox(['run', '-d', '--name', 'ticker', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo tick $i; sleep 0.3; done']);
    const followed = await spawnTbox(['logs', '-f', 'ticker']);
    expect(followed.stdout).toBe('tick 1\ntick 2\ntick 3\n');
    box.tbox(['rm', 'ticker']);
  });
});

describe('exec', () => {
  it("runs in the container's namespaces: its pid 1, its IP, its cwd; exit codes pass through", () => {
    box.tbox(['run', '-d', '--name', 'host1', '-w', '/tmp', 'busybox', 'sleep', '600']);
    const ps = box.tbox(['exec', 'host1', 'ps', '-o', 'pid,args']).stdout;
    expect(ps).toMatch(/^\s*1 sleep 600$/m);
    const ip = inspect('host1').NetworkSettings.IPAddress;
    expect(box.tbox(['exec', 'host1', 'ip', '-o', 'addr', 'show', 'eth0']).stdout).toContain(`inet ${ip}/`);
    expect(box.tbox(['exec', 'host1', 'pwd']).stdout).toBe('/tmp\n');
    expect(box.tbox(['exec', '-w', '/etc', '-e', 'X=1', 'host1', 'sh', '-c', 'echo $X $(pwd) $(hostname)']).stdout).toBe(
      `1 /etc ${inspect('host1').Config.Hostname}\n`,
    );
    expect(box.tbox(['exec', 'host1', 'sh', '-c', 'exit 9']).code).toBe(9);
    expect(box.tbox(['exec', 'host1', 'no-such-command']).code).toBe(127);
    // -t: a pty from the container's own devpts, as with run -t
    const tty = box.tbox(['exec', '-t', 'host1', 'sh', '-c', 'tty; echo $PPID']);
    expect(tty.stdout).toBe('/dev/pts/0\r\n0\r\n');
    expect(box.tbox(['exec', '-t', 'host1', 'sh', '-c', 'exit 5']).code).toBe(5);
    expect(box.tbox(['exec', '-u', 'nobody', 'host1', 'id', '-u']).stdout).toBe('65534\n');
    expect(box.tbox(['exec', '-t', '-u', '1234:5', 'host1', 'id', '-u']).stdout).toBe('1234\r\n');
    box.tbox(['run', '-d', '--name', 'asnobody', '-u', 'nobody', 'busybox', 'sleep', '600']);
    expect(box.tbox(['exec', 'asnobody', 'id', '-u']).stdout).toBe('65534\n');
    box.tbox(['rm', '-f', 'asnobody']);
    box.tbox(['stop', '-t', '0', 'host1']);
    const stopped = box.tbox(['exec', 'host1', 'true']);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toBe('tbox: container host1 is not running\n');
    box.tbox(['rm', 'host1']);
  });
});

describe('at scale', () => {
  it('100 detached containers started and removed leave no process, veth or lease', async () => {
    const net = uniqueNet();
    box.tbox(['network', 'create', '--subnet', net.subnet, '-o', `com.docker.network.bridge.name=${net.bridge}`, 'hundred']);
    const linksBefore = links().sort();
    const names = Array.from({ length: 100 }, (_, i) => `h${i}`);
    for (let i = 0; i < names.length; i += 10) {
      const batch = await Promise.all(
        names.slice(i, i + 10).map((n) => spawnTbox(['run', '-d', '--name', n, '--network', 'hundred', 'busybox', 'sleep', '600'])),
      );
      expect(batch.filter((b) => b.code !== 0)).toEqual([]);
    }
    expect(box.tbox(['ps', '-q']).stdout.trim().split('\n')).toHaveLength(100);
    expect(shims().length).toBeGreaterThanOrEqual(100);
    expect(box.tbox(['rm', '-f', ...names]).code).toBe(0);
    await eventually(() => shims().length === 0);
    // The kernel tears a dead netns down in the background: wait for its veths.
    await eventually(() => links().every((l) => linksBefore.includes(l)));
    const [info] = JSON.parse(box.tbox(['network', 'inspect', 'hundred']).stdout);
    expect(info.Containers).toEqual({});
    expect(fs.readdirSync(path.join(box.root, 'state', 'containers'))).toEqual([]);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(box.root);
    box.tbox(['network', 'rm', 'hundred']);
  });
});

describe('restart policies', () => {
  it('on-failure:2 restarts a failing container twice, keeping its rootfs', async () => {
    box.tbox([
      'run',
      '-d',
      '--name',
      'flaky',
      '--restart',
      'on-failure:2',
      'busybox',
      'sh',
      '-c',
      'echo run >> /runs; cat /runs | wc -l; exit 3',
    ]);
    await eventually(() => inspect('flaky').RestartCount === 2 && inspect('flaky').State.Status === 'exited', 20_000);
    await new Promise((r) => setTimeout(r, 1000)); // no third run comes
    expect(box.tbox(['logs', 'flaky']).stdout).toBe('1\n2\n3\n');
    expect(inspect('flaky')).toMatchObject({
      RestartCount: 2,
      State: { ExitCode: 3 },
      HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } },
    });
    box.tbox(['rm', 'flaky']);
  });

  it('always restarts until the user stops it', async () => {
    box.tbox(['run', '-d', '--name', 'phoenix', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.2']);
    await eventually(() => inspect('phoenix').RestartCount >= 2, 20_000);
    box.tbox(['stop', '-t', '1', 'phoenix']);
    const count = inspect('phoenix').RestartCount;
    await new Promise((r) => setTimeout(r, 1500));
    expect(inspect('phoenix').RestartCount).toBe(count);
    expect(inspect('phoenix').State.Status).toBe('exited');
    box.tbox(['rm', 'phoenix']);
  });

  it('refuses --restart with --rm, and a bad policy', () => {
    expect(box.tbox(['run', '--rm', '--restart', 'always', 'busybox', 'true']).stderr).toBe(
      'tbox: conflicting options: --restart and --rm\n',
    );
    expect(box.tbox(['run', '--restart', 'sometimes', 'busybox', 'true']).stderr).toMatch(/invalid restart policy "sometimes"/);
  });
});
