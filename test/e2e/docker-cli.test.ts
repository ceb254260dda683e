/**
 * The rest of Docker's CLI on the real kernel: create/start/rename, pause on
 * the freezer cgroup, cp both ways (and a container's symlink that points
 * out), diff, commit, export, save -> load (and podman load), history,
 * events, ps filters, logs --since, management syntax, and compose.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, makeSandbox, run, type Sandbox } from '../helpers.js';
import { makeTar } from '../tar-writer.js';

let box: Sandbox;
let work: string;
beforeAll(() => {
  box = makeSandbox();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-cli-work-'));
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  box.cleanup();
});

const ok = (args: string[], input?: string) => {
  const r = box.tbox(args, { input });
  expect(r, `tbox ${args.join(' ')}: ${r.stderr}`).toMatchObject({ code: 0 });
  return r.stdout;
};
const cgroupParent = () => box.env.TBOX_CGROUP_PARENT!;

describe('create, start, rename, events and ps filters', () => {
  it('create makes a Created container; start -a runs it attached with its exit code; rename keeps it', () => {
    const id = ok(['create', '--name', 'made', '--label', 'tier=web', 'busybox', 'sh', '-c', 'echo attached; exit 3']).trim();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(ok(['ps', '-a', '--filter', 'name=made', '--format', '{{.Status}}'])).toBe('Created\n');
    const started = box.tbox(['start', '-a', 'made']);
    expect(started).toMatchObject({ code: 3, stdout: 'attached\n' });
    ok(['rename', 'made', 'renamed']);
    expect(ok(['ps', '-a', '--filter', 'label=tier=web', '--format', '{{.Names}} {{.State}}'])).toBe('renamed exited\n');
    expect(ok(['ps', '-a', '--filter', 'exited=3', '-q'])).toBe(`${id.slice(0, 12)}\n`);
    expect(ok(['ps', '-a', '--filter', 'label=tier=db', '-q'])).toBe('');
    expect(box.tbox(['rename', 'renamed', 'bad name!']).code).toBe(1);
    const events = ok(['events', '--since', '5m', '--until', '0s', '--filter', `container=${id}`, '--format', '{{.Action}}']);
    expect(events.trim().split('\n')).toEqual(['create', 'start', 'die', 'rename']);
    ok(['container', 'rm', 'renamed']);
    expect(
      ok(['events', '--since', '5m', '--until', '0s', '--filter', 'event=destroy', '--format', '{{.Actor.Attributes.name}}']),
    ).toContain('renamed\n');
  });

  it('ps -n and -l look at every state; a bad filter is one line and exit 1', () => {
    ok(['run', '--name', 'first', 'busybox', 'true']);
    ok(['run', '--name', 'second', 'busybox', 'true']);
    expect(ok(['ps', '-l', '--format', '{{.Names}}'])).toBe('second\n');
    expect(ok(['ps', '-n', '2', '--format', '{{.Names}}'])).toBe('second\nfirst\n');
    const bad = box.tbox(['ps', '--filter', 'colour=red']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^tbox: invalid filter 'colour=red'/);
    ok(['rm', 'first', 'second']);
  });

  it('attach follows a running container to its end and exits with its code', () => {
    ok(['run', '-d', '--name', 'brief', 'busybox', 'sh', '-c', 'sleep 1; echo done; exit 4']);
    expect(box.tbox(['attach', 'brief'])).toMatchObject({ code: 4, stdout: 'done\n' });
    expect(box.tbox(['attach', 'brief']).code).toBe(1);
    ok(['rm', 'brief']);
  });

  it('logs --since and --until cut by the time of each line', async () => {
    ok(['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'echo early; sleep 2; echo late; sleep 600']);
    await eventually(() => box.tbox(['logs', 'talker']).stdout.includes('late'), 10_000);
    expect(ok(['logs', '--since', '1s', 'talker'])).toBe('late\n');
    expect(ok(['logs', '--until', '0s', 'talker'])).toBe('early\nlate\n');
    expect(ok(['logs', '--until', '2000-01-01T00:00:00Z', 'talker'])).toBe('');
    expect(box.tbox(['logs', '--since', 'yesterday', 'talker']).code).toBe(1);
    ok(['rm', '-f', 'talker']);
  });
});

describe('pause and unpause', () => {
  it('freeze every process (freezer.state FROZEN), show (Paused), refuse exec, and thaw', () => {
    const id = ok(['run', '-d', '--name', 'sleepy', 'busybox', 'sleep', '600']).trim();
    const state = path.join('/sys/fs/cgroup/freezer', cgroupParent(), id, 'freezer.state');
    ok(['pause', 'sleepy']);
    expect(fs.readFileSync(state, 'utf8').trim()).toBe('FROZEN');
    expect(ok(['ps', '--filter', 'name=sleepy', '--format', '{{.Status}}'])).toMatch(/^Up .* \(Paused\)\n$/);
    expect(JSON.parse(ok(['inspect', 'sleepy']))[0].State).toMatchObject({ Status: 'paused', Paused: true, Running: true });
    const exec = box.tbox(['exec', 'sleepy', 'true']);
    expect(exec.code).toBe(1);
    expect(exec.stderr).toMatch(/is paused, unpause the container before exec/);
    expect(box.tbox(['pause', 'sleepy']).code).toBe(1);
    ok(['unpause', 'sleepy']);
    expect(fs.readFileSync(state, 'utf8').trim()).toBe('THAWED');
    expect(ok(['exec', 'sleepy', 'echo', 'awake'])).toBe('awake\n');
    // stop of a paused container thaws it, so the signal lands
    ok(['pause', 'sleepy']);
    ok(['stop', '-t', '1', 'sleepy']);
    expect(ok(['ps', '-a', '--filter', 'name=sleepy', '--format', '{{.State}}'])).toBe('exited\n');
    ok(['rm', 'sleepy']);
  });
});

describe('cp, diff, export', () => {
  it('copies in and out, keeps writes through a symlink that points out of the container inside it, and streams tars', () => {
    ok([
      'run',
      '-d',
      '--name',
      'files',
      'busybox',
      'sh',
      '-c',
      'echo inner > /hello; mkdir /d; echo x > /d/f; ln -s / /escape; ln -s /etc /etclink; sleep 600',
    ]);
    const hostDir = path.join(work, 'host');
    fs.mkdirSync(hostDir);
    ok(['cp', 'files:/hello', path.join(work, 'hello.txt')]);
    expect(fs.readFileSync(path.join(work, 'hello.txt'), 'utf8')).toBe('inner\n');
    ok(['cp', 'files:/d', hostDir]);
    expect(fs.readFileSync(path.join(hostDir, 'd', 'f'), 'utf8')).toBe('x\n');
    // /escape -> / in the container: it resolves to the container's root, never the host's
    fs.writeFileSync(path.join(work, 'planted'), 'planted\n');
    ok(['cp', path.join(work, 'planted'), 'files:/escape/tmp/']);
    expect(ok(['exec', 'files', 'cat', '/tmp/planted'])).toBe('planted\n');
    expect(fs.existsSync('/tmp/planted')).toBe(false);
    ok(['cp', 'files:/etclink/hostname', path.join(work, 'their-hostname')]);
    expect(fs.readFileSync(path.join(work, 'their-hostname'), 'utf8')).toBe(ok(['exec', 'files', 'hostname']));
    // a tar stream out and back in
    const tarOut = run('sh', ['-c', `${process.execPath} ${path.join('dist', 'cli.js')} cp files:/d - | tar -t`], {
      env: box.env,
      cwd: process.cwd(),
    });
    expect(tarOut.stdout.split('\n').sort()).toEqual(['', 'd/', 'd/f']);
    const tarFile = path.join(work, 'in.tar');
    run('tar', ['-C', work, '-cf', tarFile, 'planted']);
    ok(['cp', '-', 'files:/d'], fs.readFileSync(tarFile, 'latin1'));
    expect(ok(['exec', 'files', 'cat', '/d/planted'])).toBe('planted\n');
    expect(box.tbox(['cp', 'files:/nope', work]).code).toBe(1);
    // a hostile tar stream is refused whole, before anything lands in the container or on the host
    for (const entries of [
      [{ path: '../../../../tmp/tbox-cp-escape', body: 'pwned' }],
      [
        { path: 'ln', type: 'symlink' as const, linkpath: '/tmp' },
        { path: 'ln/tbox-cp-escape', body: 'pwned' },
      ],
    ]) {
      const r = box.tbox(['cp', '-', 'files:/d'], { input: makeTar(entries).toString('latin1') });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^tbox: refusing unsafe archive/);
    }
    expect(fs.existsSync('/tmp/tbox-cp-escape')).toBe(false);
    expect(ok(['exec', 'files', 'ls', '/d'])).toBe('f\nplanted\n');
    const diff = ok(['diff', 'files']).trim().split('\n');
    expect(diff).toEqual(expect.arrayContaining(['A /hello', 'A /d', 'A /d/f', 'A /escape', 'C /tmp', 'A /tmp/planted']));
    expect(diff).not.toContain('A /etc/hostname');
    const exported = path.join(work, 'export.tar');
    ok(['export', '-o', exported, 'files']);
    expect(run('tar', ['-tf', exported]).stdout.split('\n')).toEqual(expect.arrayContaining(['hello', 'bin/busybox']));
    // the container runs on, thawed
    expect(ok(['exec', 'files', 'echo', 'still'])).toBe('still\n');
    ok(['rm', '-f', 'files']);
  });
});

describe('commit, history, save and load', () => {
  it('commits a container as a new image that runs, with its history', () => {
    ok(['run', '--name', 'tocommit', 'busybox', 'sh', '-c', 'echo committed > /made; rm /bin/vi']);
    const id = ok(['commit', '-m', 'made a file', '--change', 'CMD ["cat", "/made"]', 'tocommit', 'committed:1']).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ok(['run', '--rm', 'committed:1'])).toBe('committed\n');
    expect(box.tbox(['run', '--rm', 'committed:1', 'ls', '/bin/vi']).code).not.toBe(0);
    const history = ok(['history', '--format', '{{.Comment}}|{{.CreatedBy}}', 'committed:1']).split('\n');
    expect(history[0]).toMatch(/^made a file\|sh -c echo committed/);
    ok(['rm', 'tocommit']);
  });

  it('save writes an archive that tbox load reads into a fresh root, and podman load too', () => {
    const archive = path.join(work, 'saved.tar');
    ok(['save', '-o', archive, 'committed:1']);
    const names = run('tar', ['-tf', archive]).stdout.split('\n');
    expect(names).toEqual(expect.arrayContaining(['manifest.json', 'index.json', 'oci-layout']));
    const fresh = makeSandbox();
    try {
      const loaded = fresh.tbox(['load', '-i', archive]);
      expect(loaded.stderr).toBe('');
      expect(loaded.stdout).toContain('committed:1');
      expect(fresh.tbox(['run', '--rm', '--network', 'none', 'committed:1']).stdout).toBe('committed\n');
    } finally {
      fresh.cleanup();
    }
    const store = path.join(work, 'podman');
    const podman = run('podman', [
      '--root',
      `${store}/root`,
      '--runroot',
      `${store}/run`,
      '--storage-driver',
      'vfs',
      'load',
      '-i',
      archive,
    ]);
    expect(podman.stderr + podman.stdout).toMatch(/Loaded image.*committed:1/);
    run('podman', ['--root', `${store}/root`, '--runroot', `${store}/run`, '--storage-driver', 'vfs', 'system', 'reset', '-f']);
  });
});

describe('compose', () => {
  it('up -d starts the services in order on the project network, they ping by name, and down leaves nothing', async () => {
    const file = path.join(work, 'compose.yaml');
    fs.writeFileSync(
      file,
      [
        'name: pingpair',
        'services:',
        '  one:',
        '    image: busybox',
        '    command: sleep 600',
        '    volumes: [data:/data]',
        '  two:',
        '    image: busybox',
        '    command: ["sh", "-c", "ping -c 2 -W 2 one && echo PONG; sleep 600"]',
        '    depends_on: [one]',
        '    environment:',
        '      GREETING: hello',
        'volumes:',
        '  data: {}',
        '',
      ].join('\n'),
    );
    const up = ok(['compose', '-f', file, 'up', '-d']);
    expect(up).toMatch(
      /Network pingpair_default {2}Created[\s\S]*Container pingpair_one_1 {2}Started[\s\S]*Container pingpair_two_1 {2}Started/,
    );
    expect(ok(['compose', '-f', file, 'ps', '--format', '{{.Service}} {{.State}}'])).toBe('two running\none running\n');
    await eventually(() => box.tbox(['compose', '-f', file, 'logs', 'two']).stdout.includes('PONG'), 15_000);
    expect(ok(['compose', '-f', file, 'exec', 'two', 'sh', '-c', 'echo $GREETING; ping -c 1 -W 2 one >/dev/null && echo reached'])).toBe(
      'hello\nreached\n',
    );
    const down = ok(['compose', '-f', file, 'down', '-v']);
    expect(down).toMatch(
      /Container pingpair_two_1 {2}Removed[\s\S]*Container pingpair_one_1 {2}Removed[\s\S]*Network pingpair_default {2}Removed[\s\S]*Volume pingpair_data {2}Removed/,
    );
    expect(ok(['ps', '-aq'])).toBe('');
    expect(ok(['network', 'ls', '--format', '{{.Name}}'])).not.toContain('pingpair');
    expect(ok(['volume', 'ls', '-q'])).not.toContain('pingpair');
  });

  it('refuses what it does not run, in one line', () => {
    const file = path.join(work, 'bad.yaml');
    fs.writeFileSync(file, 'services:\n  web:\n    build: .\n');
    const r = box.tbox(['compose', '-f', file, 'up', '-d']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('tbox: compose file: services.web.build is not supported by tbox\n');
    fs.writeFileSync(file, 'services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [a]\n');
    expect(box.tbox(['compose', '-f', file, 'up', '-d']).stderr).toMatch(/depends_on has a cycle/);
    expect(ok(['ps', '-aq'])).toBe('');
  });
});

describe('network connect, disconnect, prune', () => {
  it('gives a running container a second interface on another network, reached by name there, and takes it away', () => {
    ok(['network', 'create', 'front']);
    ok(['network', 'create', 'back']);
    ok(['run', '-d', '--name', 'db', '--network', 'back', 'busybox', 'sleep', '600']);
    ok(['run', '-d', '--name', 'app', '--network', 'front', 'busybox', 'sleep', '600']);
    // isolated networks: no way across before the connect
    expect(box.tbox(['exec', 'app', 'ping', '-c', '1', '-W', '1', 'db']).code).not.toBe(0);
    ok(['network', 'connect', '--alias', 'application', 'back', 'app']);
    const links = ok(['exec', 'app', 'ip', '-o', 'addr', 'show', 'eth1']);
    const [back] = JSON.parse(ok(['network', 'inspect', 'back']));
    const prefix = back.IPAM.Config[0].Subnet.replace(/\.0\/24$/, '.');
    expect(links).toContain(`inet ${prefix}`);
    expect(ok(['exec', 'app', 'ping', '-c', '1', '-W', '2', 'db'])).toMatch(new RegExp(`1 packets received`));
    expect(ok(['exec', 'db', 'ping', '-c', '1', '-W', '2', 'application'])).toMatch(/1 packets received/);
    // the default route stays on the first network
    expect(ok(['exec', 'app', 'ip', 'route', 'show', 'default'])).toMatch(/dev eth0/);
    const nets = JSON.parse(ok(['inspect', 'app']))[0].NetworkSettings.Networks;
    expect(Object.keys(nets).sort()).toEqual(['back', 'front']);
    expect(nets.back.IPAddress.startsWith(prefix)).toBe(true);
    // a restart comes back on both
    ok(['restart', '-t', '0', 'app']);
    expect(ok(['exec', 'app', 'ping', '-c', '1', '-W', '2', 'db'])).toMatch(/1 packets received/);
    expect(box.tbox(['network', 'connect', 'back', 'app']).code).toBe(1);
    ok(['network', 'disconnect', 'back', 'app']);
    expect(box.tbox(['exec', 'app', 'ip', 'link', 'show', 'eth1']).code).not.toBe(0);
    expect(box.tbox(['network', 'disconnect', 'front', 'app']).code).toBe(1);
    ok(['rm', '-f', 'app', 'db']);
    ok(['run', '--name', 'keeps', '--network', 'front', 'busybox', 'true']);
    // a stopped container still uses its network
    expect(ok(['network', 'prune', '-f'])).toBe('Deleted Networks:\nback\n');
    ok(['rm', 'keeps']);
    expect(ok(['network', 'prune', '-f'])).toBe('Deleted Networks:\nfront\n');
    expect(ok(['network', 'ls', '--format', '{{.Name}}']).trim().split('\n').sort()).toEqual(['bridge', 'host', 'none']);
  });
});

describe('Docker habits', () => {
  it('management syntax runs the same code as the short forms', () => {
    expect(ok(['container', 'ls', '-a', '--format', '{{.Names}}'])).toBe(ok(['ps', '-a', '--format', '{{.Names}}']));
    expect(ok(['image', 'ls', '-q'])).toBe(ok(['images', '-q']));
    const platform = box.tbox(['run', '--rm', '--platform', 'linux/arm64', 'busybox', 'true']);
    expect(platform.code).toBe(125);
    expect(platform.stderr).toMatch(/^tbox: image platform "linux\/arm64" is not supported/);
  });

  it('--ulimit sets process limits, in exec too; --init reaps orphans as pid 1 and passes the exit code on', () => {
    expect(ok(['run', '--rm', '--network', 'none', '--ulimit', 'nofile=512:1024', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn'])).toBe(
      '512\n1024\n',
    );
    // root here lacks CAP_SYS_RESOURCE: a limit above tbox's own hard limit is one line, exit 125
    const above = box.tbox(['run', '--rm', '--network', 'none', '--ulimit', 'nofile=999999', 'busybox', 'true']);
    expect(above.code).toBe(125);
    expect(above.stderr).toMatch(/^tbox: ulimit RLIMIT_NOFILE .*Operation not permitted/);
    expect(box.tbox(['run', '--rm', '--ulimit', 'nofile=9:1', 'busybox', 'true']).stderr).toMatch(/soft limit is above the hard one/);
    const init = ok(['run', '--rm', '--network', 'none', '--init', 'busybox', 'sh', '-c', '(sleep 0.2 &); sleep 1; ps -o pid,stat,comm']);
    expect(init).toMatch(/^\s*1 S\s+tbox-shim$/m);
    expect(init).not.toMatch(/ Z /);
    expect(box.tbox(['run', '--rm', '--network', 'none', '--init', 'busybox', 'sh', '-c', 'exit 7']).code).toBe(7);
    ok(['run', '-d', '--name', 'limited', '--network', 'none', '--init', '--ulimit', 'nproc=64', 'busybox', 'sleep', '600']);
    expect(ok(['exec', 'limited', 'sh', '-c', 'ulimit -u'])).toBe('64\n');
    // stop reaches CMD through init
    ok(['stop', '-t', '5', 'limited']);
    expect(ok(['inspect', '-f', '{{.State.ExitCode}}', 'limited'])).toBe('143\n');
    ok(['rm', 'limited']);
  });

  it('--network container:NAME joins its network namespace, names and resolver; what needs its own network is refused', () => {
    ok(['run', '-d', '--name', 'netowner', 'busybox', 'sleep', '600']);
    const ownerIp = ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'netowner']).trim();
    const joined = ok(['run', '--rm', '--network', 'container:netowner', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; hostname']);
    expect(joined).toContain(`inet ${ownerIp}/`);
    expect(joined.trim().split('\n').at(-1)).toBe(ok(['exec', 'netowner', 'hostname']).trim());
    // one namespace: a server in one answers on the other's loopback
    ok([
      'run',
      '-d',
      '--name',
      'sidecar',
      '--network',
      'container:netowner',
      'busybox',
      'nc',
      '-l',
      '-p',
      '7000',
      '-e',
      'echo',
      'from-sidecar',
    ]);
    expect(ok(['exec', 'netowner', 'sh', '-c', 'sleep 0.5; nc 127.0.0.1 7000 </dev/null'])).toBe('from-sidecar\n');
    const conflict = box.tbox(['run', '--rm', '--network', 'container:netowner', '-p', '80:80', 'busybox', 'true']);
    expect(conflict).toMatchObject({ code: 125, stderr: 'tbox: conflicting options: -p/-P and the network mode container:netowner\n' });
    ok(['rm', '-f', 'sidecar', 'netowner']);
    const gone = box.tbox(['run', '--rm', '--network', 'container:netowner', 'busybox', 'true']);
    expect(gone).toMatchObject({ code: 125, stderr: 'tbox: No such container: netowner\n' });
  });

  it('system df, info, images filters and image inspect look as in Docker', () => {
    expect(ok(['system', 'df']).split('\n')[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    expect(ok(['system', 'df', '--format', '{{.Type}}'])).toBe('Images\nContainers\nLocal Volumes\nBuild Cache\n');
    expect(ok(['info', '-f', '{{.Driver}} {{.CgroupVersion}} {{.OSType}}'])).toBe('overlay2 1 linux\n');
    expect(ok(['system', 'info'])).toMatch(/^Server:\n Containers: \d+\n  Running: \d+/);
    ok(['tag', 'busybox', 'mine:7']);
    expect(ok(['images', 'mine', '--format', '{{.Repository}}:{{.Tag}}'])).toBe('mine:7\n');
    expect(ok(['images', 'mine:8', '-q'])).toBe('');
    expect(ok(['images', '--filter', 'reference=mi*', '--format', '{{.Tag}}'])).toBe('7\n');
    expect(ok(['images', '--filter', 'dangling=true', '-q'])).toBe('');
    expect(ok(['images', '--digests']).split('\n')[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID/);
    const [img] = JSON.parse(ok(['image', 'inspect', 'mine:7']));
    expect(img).toMatchObject({ Os: 'linux', Architecture: 'amd64', RepoTags: expect.arrayContaining(['mine:7', 'busybox:latest']) });
    expect(img.RootFS.Layers.length).toBeGreaterThan(0);
    expect(box.tbox(['image', 'inspect', 'nosuch']).code).toBe(1);
    ok(['rmi', 'mine:7']);
  });

  it('--stop-signal reaches pid 1 first, and --label shows in inspect', () => {
    ok([
      'run',
      '-d',
      '--name',
      'trapper',
      '--stop-signal',
      'USR1',
      '--label',
      'a=b',
      'busybox',
      'sh',
      '-c',
      "trap 'echo got USR1; exit 0' USR1; while :; do sleep 0.1; done",
    ]);
    ok(['stop', 'trapper']);
    expect(ok(['logs', 'trapper'])).toBe('got USR1\n');
    expect(ok(['inspect', '-f', '{{.Config.StopSignal}} {{index .Config.Labels "a"}} {{.State.ExitCode}}', 'trapper'])).toBe('USR1 b 0\n');
    ok(['rm', 'trapper']);
  });
});
