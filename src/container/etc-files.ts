/**
 * /etc/hostname, /etc/hosts and /etc/resolv.conf are written per container in
 * its state directory and bind-mounted over the image's, as Docker does, so
 * the image layers are never modified. On a user network /etc/hosts is then
 * kept up to date with the peers (network/hosts.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ContainerDns, ContainerRecord } from '../state/containers.js';
import { hostsText } from '../network/hosts.js';
import { containerDir } from '../paths.js';

export const ETC_FILES = ['hostname', 'hosts', 'resolv.conf'] as const;

/** Docker's fallback when the host has no nameserver a container can reach. */
const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/**
 * Docker's rules: the host's file; off the host's network, minus loopback
 * nameservers (systemd-resolved's 127.0.0.53 is the host's own loopback,
 * unreachable from another netns), and Google's if none is left. --dns,
 * --dns-search and --dns-option each replace the host's lines of their kind.
 */
export function resolvConf(host: string, hostNetwork: boolean, dns: ContainerDns | undefined, systemdResolved = ''): string {
  const kind = (l: string) => /^\s*(nameserver|search|domain|options)\s/.exec(l)?.[1];
  const reachable = (l: string) => !(kind(l) === 'nameserver' && /^\s*nameserver\s+(127\.|::1\s*$)/.test(l));
  const linesOf = (text: string) => (text.trim() ? text.replace(/\n+$/, '').split('\n') : []);
  // systemd-resolved (Ubuntu's default) leaves only 127.0.0.53 in /etc/resolv.conf; its real upstream servers are in its own file, as Docker knows.
  const onlyLoopback = (text: string) =>
    linesOf(text).some((l) => kind(l) === 'nameserver') && !linesOf(text).some((l) => kind(l) === 'nameserver' && reachable(l));
  const lines = linesOf(!hostNetwork && onlyLoopback(host) && systemdResolved ? systemdResolved : host);
  let kept = hostNetwork ? lines : lines.filter(reachable);
  const replace = (kinds: string[], values: string[], word: string) => {
    if (values.length === 0) return;
    kept = [...kept.filter((l) => !kinds.includes(kind(l) ?? '')), `${word} ${values.join(' ')}`];
  };
  if (dns) {
    if (dns.servers.length) kept = [...kept.filter((l) => kind(l) !== 'nameserver'), ...dns.servers.map((s) => `nameserver ${s}`)];
    replace(['search', 'domain'], dns.search, 'search');
    replace(['options'], dns.options, 'options');
  }
  if (!hostNetwork && !kept.some((l) => kind(l) === 'nameserver')) kept.push(...DEFAULT_NAMESERVERS.map((s) => `nameserver ${s}`));
  const text = kept.join('\n').replace(/\n+$/, '');
  return text ? `${text}\n` : '';
}

const SYSTEMD_RESOLVED = '/run/systemd/resolve/resolv.conf';

function hostResolvConf(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return ''; // no resolver configured on the host
  }
}

/** The three files, before the container starts; ip and gateway when it is on a bridge network. */
export function writeEtcFiles(c: ContainerRecord, ip: string | undefined, gateway: string | undefined): void {
  const hostNetwork = c.spec.network === 'host';
  const base = containerDir(c.id);
  fs.writeFileSync(path.join(base, 'hostname'), `${c.spec.hostname}\n`);
  fs.writeFileSync(path.join(base, 'hosts'), hostsText(c, ip, gateway, []));
  fs.writeFileSync(
    path.join(base, 'resolv.conf'),
    resolvConf(hostResolvConf('/etc/resolv.conf'), hostNetwork, c.spec.dns, hostResolvConf(SYSTEMD_RESOLVED)),
  );
}

/** --network container:X: X's names and resolver, as Docker gives them (the files are copies, written now). */
export function shareEtcFiles(c: ContainerRecord, owner: ContainerRecord): void {
  for (const file of ['hostname', 'hosts', 'resolv.conf']) {
    fs.copyFileSync(path.join(containerDir(owner.id), file), path.join(containerDir(c.id), file));
  }
}

export const hostHostname = () => os.hostname();
