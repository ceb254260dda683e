/**
 * What `tbox-runtime spec` writes and `tbox-runtime features` reports: a
 * starting config.json (runc's shape: sh on a terminal, a read-only rootfs
 * beside it), built from the same tables `tbox run` uses, and the features
 * document of the runtime-spec (features.md) that engines read.
 */
import { CAPABILITIES } from '../container/security/capabilities.js';
import { SECCOMP_ACTIONS, SECCOMP_OPERATORS } from '../container/security/seccomp.js';
import { kernelMounts, MASKED_PATHS, READONLY_PATHS } from '../container/oci.js';
import type { BundleSpec } from './bundle.js';

export const OCI_VERSION = '1.0.2';

/** runc's default: a few capabilities only, as `runc spec` gives. */
const SPEC_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export function defaultSpec(): BundleSpec {
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: SPEC_CAPS, effective: SPEC_CAPS, permitted: SPEC_CAPS, inheritable: [], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'tbox',
    mounts: kernelMounts(true),
    linux: {
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount'].map((type) => ({ type })),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      devices: [],
      resources: {},
      cgroupsPath: '',
    },
    annotations: {},
  };
}

/** What this runtime can do, in the runtime-spec's features.md shape. */
export function features(cgroupV1: boolean): Record<string, unknown> {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: ['prestart', 'createRuntime', 'poststart', 'poststop'],
    mountOptions: ['ro', 'rw', 'bind', 'rbind', 'nosuid', 'nodev', 'noexec', 'strictatime', 'relatime', 'noatime'],
    linux: {
      namespaces: ['mount', 'network', 'uts', 'ipc', 'pid', 'cgroup'],
      capabilities: [...CAPABILITIES],
      cgroup: { v1: cgroupV1, v2: true, systemd: false, systemdUser: false },
      seccomp: {
        enabled: true,
        actions: SECCOMP_ACTIONS,
        operators: SECCOMP_OPERATORS,
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { 'io.github.tbox.runtime': 'tbox-shim' },
  };
}
