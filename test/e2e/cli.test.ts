import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, makeSandbox, run, type Sandbox } from '../helpers.js';

let box: Sandbox;
beforeAll(() => {
  box = makeSandbox();
});
afterAll(() => box.cleanup());

const rowCount = () => Number(box.tbox(['ps', '-aq']).stdout.split('\n').filter(Boolean).length);

describe('ps, inspect, rm', () => {
  it('lists, inspects and removes by name, id prefix and full id', () => {
    const id = box.tbox(['run', '-d', '--name', 'sleeper', 'busybox', 'sleep', '300']).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const ps = box.tbox(['ps']).stdout;
    expect(ps).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n/);
    expect(ps).toContain(id.slice(0, 12));
    expect(ps).toMatch(/"sleep 300"\s+.*\s+Up .*\s+sleeper\n/);

    const json = JSON.parse(box.tbox(['ps', '--format', 'json']).stdout.trim().split('\n')[0]!);
    expect(json).toMatchObject({ ID: id.slice(0, 12), Names: 'sleeper', State: 'running', Image: 'busybox' });

    for (const ref of ['sleeper', id.slice(0, 6), id]) {
      const [info] = JSON.parse(box.tbox(['inspect', ref]).stdout);
      expect(info.Id).toBe(id);
      expect(info.Name).toBe('/sleeper');
      expect(info.State).toMatchObject({ Status: 'running', Running: true, ExitCode: 0 });
      expect(fs.readFileSync(`/proc/${info.State.Pid}/cmdline`, 'utf8')).toBe('sleep\x00300\x00');
    }

    const refused = box.tbox(['rm', 'sleeper']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/stop the container before removing it, or use rm -f/);
    expect(box.tbox(['rm', '-f', id.slice(0, 8)]).code).toBe(0);
    expect(box.tbox(['ps', '-a']).stdout).not.toContain(id.slice(0, 12));
    expect(fs.existsSync(path.join(box.root, 'state', 'containers', id))).toBe(false);
  });

  it('ps shows exited containers only with -a, with Docker-style status', () => {
    box.tbox(['run', '--name', 'done3', 'busybox', 'sh', '-c', 'exit 3']);
    expect(box.tbox(['ps']).stdout).not.toContain('done3');
    expect(box.tbox(['ps', '-a']).stdout).toMatch(/Exited \(3\) .* ago\s+done3/);
    const [info] = JSON.parse(box.tbox(['inspect', 'done3']).stdout);
    expect(info.State).toMatchObject({ Status: 'exited', Running: false, Pid: 0, ExitCode: 3 });
    expect(Date.parse(info.State.FinishedAt)).toBeGreaterThanOrEqual(Date.parse(info.State.StartedAt));
    expect(box.tbox(['rm', 'done3']).stdout).toBe('done3\n');
  });

  it('never shows a container as running once its process is gone', async () => {
    box.tbox(['run', '-d', '--name', 'victim', 'busybox', 'sleep', '300']);
    const [info] = JSON.parse(box.tbox(['inspect', 'victim']).stdout);
    process.kill(info.State.Pid, 'SIGKILL');
    expect(box.tbox(['ps', '-a', '--format', '{{.Names}} {{.State}}']).stdout).toContain('victim exited');
    const [after] = JSON.parse(box.tbox(['inspect', 'victim']).stdout);
    expect(after.State.ExitCode).toBe(137);
    box.tbox(['rm', 'victim']);
  });
});

describe('bad input: one clear line, exit 125 for run (1 for other commands), nothing left behind', () => {
  const expectCleanFailure = (r: ReturnType<Sandbox['tbox']>, message: RegExp, code = 125) => {
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  };

  it('unknown container', () => {
    // Docker's code for a name a command other than run does not know: 1
    expectCleanFailure(box.tbox(['rm', 'ghost']), /^tbox: No such container: ghost/, 1);
    expectCleanFailure(box.tbox(['inspect', 'ghost']), /No such object: ghost/, 1);
  });

  it('duplicate --name', () => {
    box.tbox(['run', '--name', 'twin', 'busybox', 'true']);
    const before = rowCount();
    const dirs = fs.readdirSync(path.join(box.root, 'state', 'containers')).length;
    expectCleanFailure(box.tbox(['run', '--name', 'twin', 'busybox', 'true']), /name "\/twin" is already in use/);
    expect(rowCount()).toBe(before);
    expect(fs.readdirSync(path.join(box.root, 'state', 'containers')).length).toBe(dirs);
    box.tbox(['rm', 'twin']);
  });

  it('bad names, workdirs and networks', () => {
    const before = rowCount();
    expectCleanFailure(box.tbox(['run', '--name', 'bad/name', 'busybox', 'true']), /Invalid container name/);
    expectCleanFailure(box.tbox(['run', '-w', 'relative', 'busybox', 'true']), /needs to be an absolute path/);
    expectCleanFailure(box.tbox(['run', '--network', 'nosuchnet', 'busybox', 'true']), /network nosuchnet not found/);
    expectCleanFailure(box.tbox(['run', 'Bad:Ref!', 'true']), /invalid reference format/);
    expect(rowCount()).toBe(before);
  });

  it('not root', () => {
    const r = run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliPath, 'ps'], { env: box.env });
    expectCleanFailure(r, /needs root/, 1);
  });

  it('a missing host tool names its package', () => {
    const before = rowCount();
    const r = box.tbox(['run', '--rm', 'busybox', 'true'], { env: { PATH: '/nonexistent' } });
    // the bridge network needs ip(8) first (the namespaces are the shim's own unshare(2))
    expectCleanFailure(r, /^tbox: ip not found: apt-get install iproute2/);
    expect(rowCount()).toBe(before);
  });

  it('an unknown flag', () => {
    expectCleanFailure(box.tbox(['run', '--no-such-flag', 'busybox']), /unknown option/);
  });
});

/** The `tbox` command as installed: the launcher in front of dist/cli.js. */
const launcher = path.join(path.dirname(cliPath), '..', 'scripts', 'tbox');

describe('a CLI that behaves in a pipe and with many names', () => {
  it('ends quietly when the reader of its output goes away (tbox logs | head -1)', () => {
    expect(box.tbox(['run', '--name', 'chatty', 'busybox', 'seq', '1', '100000']).code).toBe(0);
    try {
      const r = run('sh', ['-c', `"${launcher}" logs chatty | head -1`], { env: box.env });
      expect(r.stdout).toBe('1\n');
      expect(r.stderr).toBe('');
      const ps = run('sh', ['-c', `"${launcher}" ps -a --format '{{.Names}}' | head -c 1`], { env: box.env });
      expect(ps.stderr).toBe('');
    } finally {
      box.tbox(['rm', 'chatty']);
    }
  });

  it('acts on every name, reports each failure in one line, and exits 1', () => {
    expect(box.tbox(['run', '-d', '--name', 'second', 'busybox', 'sleep', '600']).code).toBe(0);
    try {
      const r = box.tbox(['stop', '-t', '1', 'nope', 'second']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('second\n');
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining('nope')]);
      expect(box.tbox(['inspect', '-f', '{{.State.Status}}', 'second']).stdout).toBe('exited\n');
      const rm = box.tbox(['rm', 'nope', 'second']);
      expect(rm.code).toBe(1);
      expect(rm.stdout).toBe('second\n');
    } finally {
      box.tbox(['rm', '-f', 'second']);
    }
  });

  it("--env-file is tbox's own, not Node's: a missing file is one clear line, a real one reaches the container only", () => {
    const missing = run(launcher, ['run', '--rm', '--env-file', '/nonexistent.env', 'busybox', 'true'], { env: box.env });
    expect(missing.code).toBe(125);
    expect(missing.stderr).toBe('tbox: --env-file /nonexistent.env: no such file\n');
    const file = path.join(box.root, 'app.env');
    fs.writeFileSync(file, 'FROM_FILE=yes\nNODE_OPTIONS=--require=/nonexistent\n');
    const ok = run(launcher, ['run', '--rm', `--env-file=${file}`, 'busybox', 'sh', '-c', 'echo $FROM_FILE'], { env: box.env });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('yes\n');
  });
});

describe('help, version, completion and templates, as a Docker user expects', () => {
  it('groups --help as Docker does, with examples, and no "(default: false)"', () => {
    const help = box.tbox(['--help']).stdout;
    expect(help).toContain('Common Commands:\n  run ');
    expect(help).toContain('Management Commands:');
    expect(help).toContain('Examples:\n  tbox run --rm -it busybox sh');
    expect(box.tbox(['run', '--help']).stdout).not.toContain('(default: false)');
  });

  it('version names the kernel and the cgroup version; -f takes a template', () => {
    expect(box.tbox(['version']).stdout).toMatch(/Kernel Version: \S+\n Cgroup Version: [12]\n/);
    expect(box.tbox(['version', '-f', '{{.Client.Version}}']).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('completion scripts parse in bash and zsh, and complete commands, subcommands and flags', () => {
    const bash = box.tbox(['completion', 'bash']).stdout;
    const file = path.join(box.root, 'tbox.bash');
    fs.writeFileSync(file, bash);
    expect(run('bash', ['-n', file]).code).toBe(0);
    fs.writeFileSync(path.join(box.root, 'tbox.zsh'), box.tbox(['completion', 'zsh']).stdout);
    expect(run('zsh', ['-n', path.join(box.root, 'tbox.zsh')]).code).toBe(0);
    // In the sandbox's env, with this checkout's tbox first on PATH: completing names runs tbox, which must not touch the default root.
    const env = { ...box.env, PATH: `${path.dirname(launcher)}:${process.env.PATH}` };
    const complete = (words: string[]) =>
      run(
        'bash',
        ['-c', `source ${file}; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _tbox; echo "\${COMPREPLY[@]}"`],
        {
          env,
        },
      ).stdout.trim();
    expect(complete(['tbox', 'netw'])).toBe('network');
    expect(complete(['tbox', 'network', 'diag'])).toBe('diagram');
    expect(complete(['tbox', 'run', '--publish-a'])).toBe('--publish-all');
    expect(box.tbox(['completion', 'tcsh']).code).toBe(1);
  });

  it('a template with an unknown field or function is one line and exit 1, never printed back', () => {
    expect(box.tbox(['run', '--name', 'tpl', 'busybox', 'true']).code).toBe(0);
    try {
      const field = box.tbox(['inspect', '-f', '{{.Nope}}', 'tpl']);
      expect(field.code).toBe(1);
      expect(field.stderr).toBe("tbox: template: .Nope: can't evaluate field Nope\n");
      expect(field.stdout).toBe('');
      expect(box.tbox(['ps', '-a', '--format', '{{nosuch .Names}}']).code).toBe(1);
      const ips = box.tbox(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'tpl']);
      expect(ips.code).toBe(0);
      const table = box.tbox(['ps', '-a', '--format', 'table {{.Names}}\\t{{.Status}}']).stdout.split('\n');
      expect(table[0]).toMatch(/^NAMES\s+STATUS$/);
      expect(table[1]).toMatch(/^tpl\s+Exited \(0\)/);
    } finally {
      box.tbox(['rm', 'tpl']);
    }
  });
});
