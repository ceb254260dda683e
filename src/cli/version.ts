/** `tbox version`: the client, and what it runs on (kernel, cgroups, firewall), as `docker version` shows client and server. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installDir } from '../paths.js';
import { run } from '../host/command.js';
import { detectMode } from '../container/cgroups/cgroup.js';

export function versionInfo() {
  const pkg = JSON.parse(fs.readFileSync(path.join(installDir, 'package.json'), 'utf8')) as { version: string };
  const iptables = run('iptables', ['-V'], { allowFailure: true }).stdout.trim();
  return {
    Client: { Version: pkg.version, NodeVersion: process.version, Os: os.platform(), Arch: os.arch() },
    Runtime: {
      Name: 'tbox-shim',
      KernelVersion: os.release(),
      CgroupVersion: detectMode() === 'v2' ? '2' : '1',
      Firewall: iptables || 'iptables: not found',
    },
  };
}

export function versionText(v: ReturnType<typeof versionInfo>): string {
  return [
    'Client: tbox',
    ` Version:        ${v.Client.Version}`,
    ` Node.js:        ${v.Client.NodeVersion}`,
    ` OS/Arch:        ${v.Client.Os}/${v.Client.Arch}`,
    '',
    `Runtime: ${v.Runtime.Name}`,
    ` Kernel Version: ${v.Runtime.KernelVersion}`,
    ` Cgroup Version: ${v.Runtime.CgroupVersion}`,
    ` Firewall:       ${v.Runtime.Firewall}`,
    '',
  ].join('\n');
}
