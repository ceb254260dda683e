import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cliPath, makeSandbox, run, type Sandbox } from '../helpers.js';

let box: Sandbox;
beforeAll(() => {
  box = makeSandbox();
});
afterAll(() => box.cleanup());

const runIn = (cmd: string, extra: string[] = []) => box.tbox(['run', '--rm', ...extra, 'busybox', 'sh', '-c', cmd]);

describe('tbox run', () => {
  it('builds busybox on first use and prints the greeting', () => {
    const r = box.tbox(['run', '--rm', 'busybox', 'sh', '-c', 'echo hello from $(hostname)']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^hello from [0-9a-f]{12}\n$/);
  });

  it('runs CMD as pid 1 and hides host processes', () => {
    const r = runIn('echo $$; ps -o pid | tail -n +2 | wc -l; ls /proc | grep -c "^[0-9]"');
    const [pid, psCount, procCount] = r.stdout.trim().split('\n').map(Number);
    expect(pid).toBe(1);
    // sh, ps, tail, wc, and the subshells around them: a handful, not the host's hundreds
    expect(psCount).toBeLessThan(8);
    expect(procCount).toBeLessThan(8);
  });

  it('sets the hostname without touching the host', () => {
    const hostBefore = os.hostname();
    const r = runIn('hostname; cat /etc/hostname; grep -c localhost /etc/hosts', ['--hostname', 'box1']);
    expect(r.stdout).toBe('box1\nbox1\n2\n');
    expect(fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).toBe(hostBefore);
  });

  it('pivots into the image: host files are not reachable', () => {
    const marker = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-marker-'));
    fs.writeFileSync(path.join(marker, 'secret'), 'host');
    try {
      const r = runIn(
        `test -e ${marker}/secret && echo visible; test -e ${box.root} && echo root-visible; cat /proc/1/mountinfo | grep -c ' / / ' ; echo done`,
      );
      expect(r.stdout).toBe('1\ndone\n');
    } finally {
      fs.rmSync(marker, { recursive: true });
    }
  });

  it('keeps writes inside one container', () => {
    const first = box.tbox(['run', '--name', 'writer', 'busybox', 'sh', '-c', 'echo changed > /bin/busybox-note; rm /bin/ls; echo ok']);
    expect(first.stdout).toBe('ok\n');
    const other = runIn('test -e /bin/busybox-note && echo leaked; test -e /bin/ls && echo intact');
    expect(other.stdout).toBe('intact\n');
    expect(box.tbox(['rm', 'writer']).code).toBe(0);
  });

  it('has the /dev Docker gives: six nodes, pts, shm, mqueue and fd links', () => {
    const r = runIn('ls /dev | tr "\\n" " "; mount | grep -c "^proc on /proc type"; mount | grep "on /sys " | grep -c "(ro,"');
    expect(r.stdout).toBe('fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero 1\n1\n');
  });

  it.each([
    [['true'], 0],
    [['sh', '-c', 'exit 7'], 7],
    [['/etc/passwd'], 126],
    [['no-such-command'], 127],
  ])('passes the exit code through: %j -> %i', (cmd, code) => {
    const r = box.tbox(['run', '--rm', 'busybox', ...(cmd as string[])]);
    expect(r.code).toBe(code);
  });

  it("reports 137 when pid 1 is SIGKILLed from outside (not unshare's 1)", async () => {
    const child = spawn(process.execPath, [cliPath, 'run', '--name', 'victim', 'busybox', 'sleep', '30'], { env: box.env });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let pid = 0;
    for (let i = 0; i < 100 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const info = box.tbox(['inspect', 'victim']);
      if (info.code === 0) pid = JSON.parse(info.stdout)[0].State.Pid;
    }
    process.kill(pid, 'SIGKILL');
    expect(await exited).toBe(137);
    expect(box.tbox(['ps', '-a', '--format', '{{.Status}}']).stdout).toMatch(/Exited \(137\)/);
    box.tbox(['rm', 'victim']);
  });

  it('explains why CMD could not run', () => {
    expect(box.tbox(['run', '--rm', 'busybox', 'no-such-command']).stderr).toMatch(/executable file not found in \$PATH/);
  });

  it('--network none has only lo, and it is up', () => {
    const r = runIn('ip -o link show | cut -d: -f2 | tr -d " "; ip -o link show lo | grep -c LOWER_UP', ['--network', 'none']);
    expect(r.stdout).toBe('lo\n1\n');
  });

  it("--network host shows the host's interfaces", () => {
    const host = run('ip', ['-o', 'link', 'show'])
      .stdout.split('\n')
      .filter(Boolean)
      .map((l) => l.split(': ')[1]!.split('@')[0]);
    const r = runIn('ip -o link show | cut -d: -f2 | tr -d " " | cut -d@ -f1', ['--network', 'host']);
    expect(r.stdout.trim().split('\n').sort()).toEqual(host.sort());
  });

  it('applies -e, --env-file, -w and --entrypoint like Docker', () => {
    const envFile = path.join(box.root, 'env');
    fs.writeFileSync(envFile, '# comment\nFROM_FILE=1\nOVERRIDDEN=file\n');
    const r = box.tbox([
      'run',
      '--rm',
      '-e',
      'A=b c',
      '--env-file',
      envFile,
      '-e',
      'OVERRIDDEN=flag',
      '-w',
      '/tmp/work',
      'busybox',
      'sh',
      '-c',
      'echo "$A|$FROM_FILE|$OVERRIDDEN|$(pwd)|$HOME|$PATH"',
    ]);
    expect(r.stdout).toBe('b c|1|flag|/tmp/work|/root|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
    const ep = box.tbox(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'from', 'entrypoint']);
    expect(ep.stdout).toBe('from entrypoint\n');
  });

  it('-t without -i still gives the command a terminal; its output is logged', () => {
    const r = box.tbox(['run', '-t', '--name', 'withtty', 'busybox', 'tty']);
    expect(r.stdout).toBe('/dev/pts/0\r\n');
    expect(box.tbox(['logs', 'withtty']).stdout).toBe('/dev/pts/0\r\n');
    box.tbox(['rm', 'withtty']);
  });

  it("-u runs as a user named in the image's /etc/passwd", () => {
    expect(box.tbox(['run', '--rm', '-u', 'nobody', 'busybox', 'id']).stdout).toBe('uid=65534(nobody) gid=65534(nogroup)\n');
  });

  it('uses the image Cmd when none is given', () => {
    const r = box.tbox(['run', '--rm', '-i', 'busybox'], { input: 'echo from-stdin-$$\n' });
    expect(r.stdout).toBe('from-stdin-1\n');
  });

  it('--rm leaves no container and no state directory', () => {
    const before = box.tbox(['ps', '-aq']).stdout;
    runIn('true');
    expect(box.tbox(['ps', '-aq']).stdout).toBe(before);
    const dirs = fs.readdirSync(path.join(box.root, 'state', 'containers'));
    expect(dirs.length).toBe(before.split('\n').filter(Boolean).length);
  });
});

describe('tbox run -it', () => {
  // script(1) gives tbox a real terminal, as a user's shell would. Keys go in
  // one step at a time so Ctrl-C lands while `sleep` runs, not before.
  async function interactive(steps: string[]): Promise<{ code: number | null; out: string; ms: number }> {
    const t0 = Date.now();
    const child = spawn('script', ['-qefc', `${process.execPath} ${cliPath} run -it --rm busybox sh`, '/dev/null'], { env: box.env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (const keys of steps) {
      await new Promise((r) => setTimeout(r, 700));
      child.stdin.write(keys);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(timer);
    return { code, out, ms: Date.now() - t0 };
  }

  it('gives a shell on a pty of its own whose exit code reaches the host', async () => {
    const r = await interactive(['echo pid=$$\n', 'tty\n', 'exit 3\n']);
    expect(r.out).toMatch(/pid=1/);
    expect(r.out).toMatch(/\/dev\/pts\/0/);
    expect(r.code).toBe(3);
  });

  it('delivers Ctrl-C to the container, not to tbox', async () => {
    const r = await interactive(['sleep 30\n', '\x03', 'echo still-here\n', 'exit 4\n']);
    expect(r.out).toMatch(/still-here/);
    expect(r.code).toBe(4);
    expect(r.ms).toBeLessThan(25_000);
  });
});
