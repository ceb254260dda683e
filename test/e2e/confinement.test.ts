/**
 * A default container is confined as a default Docker container is: Docker's
 * 14 capabilities, masked and read-only /proc and /sys paths, and device
 * nodes it makes itself open nothing. --privileged, --cap-add/--cap-drop,
 * --security-opt no-new-privileges and --device change that as in Docker.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers.js';

let box: Sandbox;
beforeAll(() => {
  box = makeSandbox();
});
afterAll(() => box.cleanup());

const inside = (script: string, flags: string[] = []) =>
  box.tbox(['run', '--rm', '--network', 'none', ...flags, 'busybox', 'sh', '-c', script]);
const status = (field: string, flags: string[] = []) => /:\s*(\S+)/.exec(inside(`grep ^${field}: /proc/self/status`, flags).stdout)?.[1];
const hostCapBnd = () => /^CapBnd:\s*(\S+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];

/** The host's first disk, as major:minor (vda is 254:0 here). */
function firstDisk(): [number, number] {
  const disk = fs.readdirSync('/sys/block').find((d) => !/^(loop|ram|zram)/.test(d)) ?? fs.readdirSync('/sys/block')[0]!;
  const [major, minor] = fs.readFileSync(`/sys/block/${disk}/dev`, 'utf8').trim().split(':').map(Number);
  return [major!, minor!];
}

describe('a default container', () => {
  it("holds Docker's 14 capabilities in its bounding, effective and permitted sets, and no more", () => {
    for (const field of ['CapBnd', 'CapEff', 'CapPrm']) expect(status(field)).toBe('00000000a80425fb');
    expect(status('CapInh')).toBe('0000000000000000');
    expect(status('CapAmb')).toBe('0000000000000000');
  });

  it("cannot read the host's disk through a node it makes, in its rootfs or in /dev", () => {
    const [major, minor] = firstDisk();
    const r = inside(
      `mknod /tmp/disk b ${major} ${minor} && head -c 512 /tmp/disk | wc -c; mknod /dev/disk b ${major} ${minor} && head -c 512 /dev/disk | wc -c; mknod /tmp/kmsg c 1 11 && head -c 1 /tmp/kmsg | wc -c`,
    );
    expect(r.stdout).toBe('0\n0\n0\n');
    expect(r.stderr).toMatch(/\/tmp\/disk: Permission denied/);
    // The standard nodes still work.
    expect(inside('echo x > /dev/null && head -c 3 /dev/zero | wc -c && head -c 3 /dev/urandom | wc -c').stdout).toBe('3\n3\n');
  });

  it('cannot mount, change the host through /proc/sys, or take its network down', () => {
    const r = inside(
      'mount -t tmpfs none /tmp; echo "mount=$?"; echo 3 > /proc/sys/vm/drop_caches; echo "drop=$?"; ip link set lo down; echo "ip=$?"',
    );
    expect(r.stdout).toMatch(/^mount=[1-9]\d*\ndrop=[1-9]\d*\nip=[1-9]\d*\n$/);
    expect(r.stderr).toMatch(/Read-only file system/);
  });

  it('reads the masked paths the host has as empty', () => {
    const masked = ['/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/interrupts', '/proc/latency_stats'].filter((p) =>
      fs.existsSync(p),
    );
    expect(masked.length).toBeGreaterThan(0);
    const r = inside(masked.map((p) => `echo "${p} $(cat ${p} | wc -c)"`).join('; '));
    expect(r.stdout).toBe(masked.map((p) => `${p} 0\n`).join(''));
    for (const dir of ['/sys/firmware', '/proc/acpi', '/proc/scsi'].filter((p) => fs.existsSync(p))) {
      expect(inside(`ls -A ${dir} | wc -l`).stdout).toBe('0\n');
    }
  });

  it('writes its spec as an OCI config.json, which exec reads too', () => {
    const id = box
      .tbox(['run', '-d', '--network', 'none', '--cap-drop', 'ALL', '--cap-add', 'KILL', 'busybox', 'sleep', '60'])
      .stdout.trim();
    const config = JSON.parse(fs.readFileSync(`${box.root}/state/containers/${id}/config.json`, 'utf8'));
    expect(config.ociVersion).toBe('1.0.2');
    expect(config.process.capabilities.bounding).toEqual(['CAP_KILL']);
    expect(config.linux.maskedPaths).toContain('/proc/kcore');
    expect(config.linux.readonlyPaths).toContain('/proc/sys');
    expect(config.linux.namespaces.map((n: { type: string }) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(box.tbox(['exec', id, 'grep', 'CapEff', '/proc/self/status']).stdout).toBe('CapEff:\t0000000000000020\n');
    box.tbox(['rm', '-f', id]);
  });
});

describe('changing the defaults, as in Docker', () => {
  it("--privileged has the host's capabilities and devices, and can mount", () => {
    expect(status('CapBnd', ['--privileged'])).toBe(hostCapBnd());
    const r = inside('mount -t tmpfs none /tmp && echo mounted; echo 1 > /proc/sys/vm/overcommit_memory 2>/dev/null; ls /dev | wc -l', [
      '--privileged',
    ]);
    expect(r.stdout.split('\n')[0]).toBe('mounted');
    expect(Number(r.stdout.split('\n')[1])).toBeGreaterThan(20);
  });

  it('--cap-drop ALL leaves none; --cap-add NET_ADMIN lets ip take lo down; names go with or without CAP_', () => {
    expect(status('CapEff', ['--cap-drop', 'ALL'])).toBe('0000000000000000');
    expect(inside('ip link set lo down && echo down', ['--cap-add', 'NET_ADMIN']).stdout).toBe('down\n');
    expect(status('CapEff', ['--cap-drop', 'chown', '--cap-drop', 'CAP_KILL'])).toBe('00000000a80425da');
    expect(status('CapEff', ['--cap-add', 'ALL'])).toBe(hostCapBnd());
  });

  it('a user other than root has no effective capabilities; no-new-privileges sets the flag', () => {
    expect(status('CapEff', ['-u', '1000'])).toBe('0000000000000000');
    expect(status('CapBnd', ['-u', '1000'])).toBe('00000000a80425fb');
    expect(status('NoNewPrivs', ['--security-opt', 'no-new-privileges'])).toBe('1');
    expect(status('NoNewPrivs')).toBe('0');
  });

  it('--device adds one host node under the name given', () => {
    expect(inside('echo hi > /dev/mynull && echo ok', ['--device', '/dev/null:/dev/mynull:rw']).stdout).toBe('ok\n');
  });

  it('refuses a bad capability, security option or device with one line, and makes nothing', () => {
    for (const [flags, message] of [
      [['--cap-add', 'NOPE'], /^tbox: unknown capability: "NOPE"\n$/],
      [['--security-opt', 'apparmor=x'], /^tbox: invalid --security-opt "apparmor=x"/],
      [['--security-opt', 'seccomp=/no/such.json'], /^tbox: opening seccomp profile \(\/no\/such.json\) failed: ENOENT\n$/],
      [['--device', '/etc/passwd'], /^tbox: --device \/etc\/passwd: not a device node\n$/],
    ] as [string[], RegExp][]) {
      const r = box.tbox(['run', '--rm', ...flags, 'busybox', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(message);
    }
    expect(box.tbox(['ps', '-a', '-q']).stdout).toBe('');
  });
});

describe('seccomp', () => {
  it("filters a default container with Docker's denials: no unshare, no mount, no keyring, no new user namespace", () => {
    expect(status('Seccomp')).toBe('2');
    const r = inside('unshare -U true; echo "unshare=$?"; unshare -n true; echo "net=$?"');
    expect(r.stdout).toMatch(/^unshare=[1-9]\d*\nnet=[1-9]\d*\n$/);
    expect(r.stderr).toMatch(/Operation not permitted/);
  });

  it('seccomp=unconfined and --privileged turn it off; CAP_SYS_ADMIN lifts the mount and unshare denials', () => {
    expect(status('Seccomp', ['--security-opt', 'seccomp=unconfined'])).toBe('0');
    expect(status('Seccomp', ['--privileged'])).toBe('0');
    expect(inside('unshare -n true && echo ok', ['--cap-add', 'SYS_ADMIN']).stdout).toBe('ok\n');
  });

  it('takes a profile in Docker format from a file: one that denies mkdir makes mkdir fail with EPERM, in run and exec', () => {
    const file = `${box.root}/no-mkdir.json`;
    fs.writeFileSync(
      file,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      }),
    );
    const r = inside('mkdir /tmp/x; echo "mkdir=$?"; touch /tmp/y && echo touched', ['--security-opt', `seccomp=${file}`]);
    expect(r.stdout).toBe('mkdir=1\ntouched\n');
    expect(r.stderr).toMatch(/Operation not permitted/);
    const id = box.tbox(['run', '-d', '--network', 'none', '--security-opt', `seccomp=${file}`, 'busybox', 'sleep', '60']).stdout.trim();
    const e = box.tbox(['exec', id, 'mkdir', '/tmp/z']);
    expect(e.code).toBe(1);
    expect(box.tbox(['exec', id, 'grep', 'Seccomp:', '/proc/self/status']).stdout).toBe('Seccomp:\t2\n');
    box.tbox(['rm', '-f', id]);
  });

  it('refuses a malformed profile file with one line', () => {
    const file = `${box.root}/bad.json`;
    fs.writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_EXPLODE' }));
    const r = box.tbox(['run', '--rm', '--security-opt', `seccomp=${file}`, 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe('tbox: invalid seccomp profile: defaultAction: unknown action "SCMP_ACT_EXPLODE"\n');
  });
});
