/**
 * /etc/hostname, /etc/hosts and /etc/resolv.conf are written per container in
 * its state directory and bind-mounted over the image's, as Docker does, so
 * the image layers are never modified.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ETC_FILES = ['hostname', 'hosts', 'resolv.conf'] as const;

function resolvConf(hostNetwork: boolean): string {
  let host = '';
  try {
    host = fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    // no resolver configured on the host: the container gets none either
  }
  if (hostNetwork) return host;
  // A loopback resolver (systemd-resolved's 127.0.0.53) is the host's own
  // loopback, unreachable from another network namespace.
  return host
    .split('\n')
    .filter((l) => !/^\s*nameserver\s+(127\.|::1)/.test(l))
    .join('\n');
}

export function writeEtcFiles(dir: string, hostname: string, name: string, ip: string | undefined, hostNetwork: boolean): void {
  const hosts = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...(ip ? [`${ip}\t${hostname === name ? hostname : `${hostname} ${name}`}`] : []),
  ];
  fs.writeFileSync(path.join(dir, 'hostname'), `${hostname}\n`);
  fs.writeFileSync(path.join(dir, 'hosts'), `${hosts.join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'resolv.conf'), resolvConf(hostNetwork));
}

export const hostHostname = () => os.hostname();
