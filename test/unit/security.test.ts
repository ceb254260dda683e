/** Capabilities, --security-opt and --device parsing: Docker's rules, without a kernel. */
import { describe, expect, it } from 'vitest';
import {
  CAPABILITIES,
  DOCKER_DEFAULT_CAPS,
  capMask,
  effectiveCaps,
  hostCapabilities,
  normalizeCap,
} from '../../src/container/security/capabilities.js';
import { parseSecurityOpts } from '../../src/container/security/options.js';
import { parseDevice } from '../../src/container/security/devices.js';
import { MASKED_PATHS, READONLY_PATHS } from '../../src/container/oci.js';
import { compileProfile, defaultProfileText, shimRules } from '../../src/container/security/seccomp.js';

describe('capabilities', () => {
  it("Docker's default set is CapBnd 00000000a80425fb", () => {
    expect(DOCKER_DEFAULT_CAPS).toHaveLength(14);
    expect(capMask(DOCKER_DEFAULT_CAPS)).toBe('00000000a80425fb');
    expect(CAPABILITIES[40]).toBe('CAP_CHECKPOINT_RESTORE');
  });

  it('takes names with or without CAP_, in any case, and ALL', () => {
    expect(normalizeCap('net_admin')).toBe('CAP_NET_ADMIN');
    expect(normalizeCap('CAP_SYS_ADMIN')).toBe('CAP_SYS_ADMIN');
    expect(normalizeCap('all')).toBe('ALL');
    expect(() => normalizeCap('FLY')).toThrow(/unknown capability: "FLY"/);
  });

  it('adds, then drops; ALL in either means every one; --privileged is the host set', () => {
    const none = { capAdd: [], capDrop: [], privileged: false };
    expect(effectiveCaps(none)).toEqual(expect.arrayContaining(DOCKER_DEFAULT_CAPS));
    expect(effectiveCaps({ ...none, capAdd: ['NET_ADMIN'] })).toContain('CAP_NET_ADMIN');
    expect(effectiveCaps({ ...none, capDrop: ['ALL'] })).toEqual([]);
    expect(effectiveCaps({ ...none, capDrop: ['ALL'], capAdd: ['KILL'] })).toEqual(['CAP_KILL']);
    expect(effectiveCaps({ ...none, capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] })).not.toContain('CAP_SYS_ADMIN');
    expect(effectiveCaps({ ...none, privileged: true })).toEqual(hostCapabilities());
  });
});

describe('security options', () => {
  it('reads no-new-privileges and seccomp as Docker does', () => {
    expect(parseSecurityOpts([])).toEqual({ noNewPrivileges: false, seccomp: 'default' });
    expect(parseSecurityOpts(['no-new-privileges'])).toMatchObject({ noNewPrivileges: true });
    expect(parseSecurityOpts(['no-new-privileges:false'])).toMatchObject({ noNewPrivileges: false });
    expect(parseSecurityOpts(['no-new-privileges=true'])).toMatchObject({ noNewPrivileges: true });
    expect(parseSecurityOpts(['seccomp=unconfined'])).toMatchObject({ seccomp: 'unconfined' });
    expect(() => parseSecurityOpts(['label=disable'])).toThrow(/invalid --security-opt/);
  });
});

describe('devices', () => {
  it('takes HOST[:CONTAINER][:rwm] of a real device node, under /dev', () => {
    expect(parseDevice('/dev/null')).toMatchObject({ path: '/dev/null', type: 'c', major: 1, minor: 3, hostPath: '/dev/null' });
    expect(parseDevice('/dev/zero:/dev/z:r')).toMatchObject({ path: '/dev/z', major: 1, minor: 5 });
    expect(parseDevice('/dev/zero:rw')).toMatchObject({ path: '/dev/zero' });
    expect(() => parseDevice('/dev/null:/etc/passwd')).toThrow(/must be under \/dev/);
    expect(() => parseDevice('/dev/null:/dev/../etc/x')).toThrow(/must be under \/dev/);
    expect(() => parseDevice('/dev/null:/dev/x:rwx')).toThrow(/invalid --device/);
    expect(() => parseDevice('/no/such')).toThrow(/no such device/);
  });
});

describe('default tables', () => {
  it('mask and make read-only what Docker does', () => {
    expect(MASKED_PATHS).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/sys/firmware', '/sys/devices/virtual/powercap']));
    expect(READONLY_PATHS).toEqual(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  });
});

describe('seccomp profiles', () => {
  const profile = (syscalls: unknown[], defaultAction = 'SCMP_ACT_ALLOW') => JSON.stringify({ defaultAction, syscalls });

  it('keeps a rule unless the container holds a capability in excludes.caps, or lacks all of includes.caps', () => {
    const text = profile([
      { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['reboot'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_BOOT'] } },
    ]);
    expect(compileProfile(text, []).syscalls.map((r) => r.names[0])).toEqual(['mount']);
    expect(compileProfile(text, ['CAP_SYS_ADMIN', 'CAP_SYS_BOOT']).syscalls.map((r) => r.names[0])).toEqual(['reboot']);
  });

  it('the default profile blocks what Docker documents, and lifts mount for CAP_SYS_ADMIN', () => {
    const blocked = (caps: string[]) => new Set(compileProfile(defaultProfileText(), caps).syscalls.flatMap((r) => r.names));
    const confined = blocked(DOCKER_DEFAULT_CAPS);
    for (const s of [
      'mount',
      'umount2',
      'unshare',
      'setns',
      'clone',
      'clone3',
      'bpf',
      'perf_event_open',
      'keyctl',
      'add_key',
      'request_key',
      'open_by_handle_at',
      'userfaultfd',
      'reboot',
      'init_module',
      'kexec_load',
      'swapon',
      'clock_settime',
    ]) {
      expect(confined.has(s), s).toBe(true);
    }
    expect(blocked([...DOCKER_DEFAULT_CAPS, 'CAP_SYS_ADMIN']).has('mount')).toBe(false);
  });

  it('writes the shim rules one line per syscall', () => {
    const rules = shimRules({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        { names: ['clone'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 131072, valueTwo: 131072, op: 'SCMP_CMP_MASKED_EQ' }] },
      ],
    });
    expect(rules).toBe('default ALLOW 1\nERRNO 1 mkdir 0\nERRNO 1 mkdirat 0\nERRNO 1 clone 1 0 MASKED_EQ 131072 131072\n');
  });

  it('refuses a malformed profile with one line naming the field', () => {
    for (const [text, message] of [
      ['{', /not JSON/],
      [profile([], 'SCMP_ACT_NOPE'), /defaultAction: unknown action/],
      [profile([{ names: ['mkdir; rm -rf /'], action: 'SCMP_ACT_ERRNO' }]), /syscalls\[0\].names/],
      [profile([{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 9, value: 1, op: 'SCMP_CMP_EQ' }] }]), /syscalls\[0\].args/],
      [profile([{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: -1 }]), /errnoRet/],
    ] as [string, RegExp][]) {
      expect(() => compileProfile(text, []), text).toThrow(message);
    }
  });
});
