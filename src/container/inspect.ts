import path from 'node:path';
import { containerDir } from '../paths.js';
import { statusWord, type ContainerRecord } from '../state/containers.js';
import { containerEndpoint } from '../network/attach.js';
import { parseRestartPolicy } from './restart-policy.js';
import { formatIp, parseCidr } from '../network/ipv4.js';
import { bindingsOf, hostIpOf } from '../state/ports.js';
import { leasesOfContainer, networkByName, type LeaseRecord, type NetworkRecord } from '../state/networks.js';

const EMPTY_ENDPOINT = { NetworkID: '', IPAddress: '', IPPrefixLen: 0, Gateway: '', MacAddress: '', HostVeth: '', Bridge: '' };

function endpointOf(network: NetworkRecord, lease: LeaseRecord) {
  return {
    NetworkID: network.id,
    IPAddress: formatIp(lease.address),
    IPPrefixLen: parseCidr(network.subnet).prefix,
    Gateway: network.gateway,
    MacAddress: lease.mac,
    HostVeth: lease.hostVeth,
    Bridge: network.bridge,
  };
}

/** The networks joined by connect: each with its lease while running, empty values while stopped. */
function connectedNetworks(c: ContainerRecord) {
  const leases = leasesOfContainer(c.id);
  return Object.fromEntries(
    (c.spec.connections ?? []).map((conn) => {
      const network = networkByName(conn.network);
      const lease = network && leases.find((l) => l.networkId === network.id);
      return [
        conn.network,
        network && lease ? { ...endpointOf(network, lease), Aliases: conn.aliases } : { ...EMPTY_ENDPOINT, Aliases: conn.aliases },
      ];
    }),
  );
}

function networkSettings(c: ContainerRecord) {
  const ep = containerEndpoint(c.id);
  const endpoint = ep && endpointOf(ep.network, ep.lease);
  return {
    Bridge: ep?.network.bridge ?? '',
    SandboxKey: c.state === 'running' && c.pid ? `/proc/${c.pid}/ns/net` : '',
    IPAddress: endpoint?.IPAddress ?? '',
    IPPrefixLen: endpoint?.IPPrefixLen ?? 0,
    Gateway: endpoint?.Gateway ?? '',
    MacAddress: endpoint?.MacAddress ?? '',
    // A stopped container keeps its network entry, with empty values, as in Docker: templates over it still work.
    Networks: { [c.spec.network]: endpoint ?? EMPTY_ENDPOINT, ...connectedNetworks(c) },
    Ports: portsSettings(c),
  };
}

/** Docker's NetworkSettings.Ports: every exposed port, with its host bindings while running (null when not published). */
function portsSettings(c: ContainerRecord): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const bindings = c.state === 'running' ? bindingsOf(c.id) : [];
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const key of c.spec.exposed ?? []) out[key] = null;
  for (const b of bindings) (out[`${b.containerPort}/${b.proto}`] ??= []).push({ HostIp: hostIpOf(b), HostPort: String(b.hostPort) });
  return out;
}

/** HostConfig.PortBindings: what was asked for ("" for a host port chosen at start). */
function portBindings(c: ContainerRecord): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const m of c.spec.ports ?? []) {
    (out[`${m.containerPort}/${m.proto}`] ??= []).push({ HostIp: m.hostIp, HostPort: m.hostPort ? String(m.hostPort) : '' });
  }
  return out;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

function securityOpt(c: ContainerRecord): string[] | null {
  const sec = c.spec.security;
  const opts = [
    ...(sec?.noNewPrivileges ? ['no-new-privileges'] : []),
    ...(sec?.seccomp === 'unconfined' && !sec.privileged ? ['seccomp=unconfined'] : []),
  ];
  return opts.length ? opts : null;
}

/** The `docker inspect` shape, for the fields tbox has. */
export function inspectContainer(c: ContainerRecord) {
  const dir = containerDir(c.id);
  const restart = parseRestartPolicy(c.spec.restart ?? 'no');
  const running = c.state === 'running';
  const res = c.spec.resources ?? {};
  return {
    Id: c.id,
    Created: c.createdAt,
    Path: c.spec.args[0],
    Args: c.spec.args.slice(1),
    State: {
      Status: statusWord(c),
      Running: running,
      Paused: running && c.paused,
      Pid: running ? (c.pid ?? 0) : 0,
      ExitCode: c.exitCode ?? 0,
      StartedAt: c.startedAt ?? ZERO_TIME,
      FinishedAt: c.finishedAt ?? ZERO_TIME,
      OOMKilled: c.oomKilled,
      Dead: false,
    },
    Image: c.imageId,
    Name: `/${c.name}`,
    ResolvConfPath: path.join(dir, 'resolv.conf'),
    HostnamePath: path.join(dir, 'hostname'),
    HostsPath: path.join(dir, 'hosts'),
    LogPath: path.join(dir, 'container.log'),
    MonitorPid: running ? c.shimPid : 0,
    Config: {
      Hostname: c.spec.hostname,
      Env: c.spec.env,
      Cmd: c.spec.args,
      Image: c.imageRef,
      WorkingDir: c.spec.cwd,
      Tty: c.spec.tty,
      OpenStdin: c.spec.interactive,
      ExposedPorts: Object.fromEntries((c.spec.exposed ?? []).map((k) => [k, {}])),
      Labels: c.spec.labels ?? {},
      StopSignal: c.spec.stopSignal ?? 'SIGTERM',
      ...(c.spec.stopTimeout !== undefined ? { StopTimeout: c.spec.stopTimeout } : {}),
    },
    RestartCount: c.restartCount,
    HostConfig: {
      NetworkMode: c.spec.network,
      AutoRemove: c.autoRemove,
      RestartPolicy: { Name: restart.name, MaximumRetryCount: restart.max },
      Privileged: c.spec.security?.privileged ?? false,
      Memory: res.memory?.limit ?? 0,
      MemorySwap: res.memory?.swap ?? 0,
      NanoCpus: res.cpu?.quota !== undefined ? Math.round((res.cpu.quota / (res.cpu.period ?? 100_000)) * 1e9) : 0,
      CpuShares: res.cpu?.shares ?? 0,
      CpusetCpus: res.cpu?.cpus ?? '',
      PidsLimit: res.pids?.limit ?? null,
      SecurityOpt: securityOpt(c),
      PortBindings: portBindings(c),
      ReadonlyRootfs: c.spec.readOnly ?? false,
      Dns: c.spec.dns?.servers ?? [],
      DnsSearch: c.spec.dns?.search ?? [],
      DnsOptions: c.spec.dns?.options ?? [],
      ExtraHosts: c.spec.extraHosts?.length ? c.spec.extraHosts : null,
    },
    NetworkSettings: networkSettings(c),
    GraphDriver: {
      Name: 'overlay2',
      Data: { UpperDir: path.join(dir, 'upper'), WorkDir: path.join(dir, 'work'), MergedDir: path.join(dir, 'rootfs') },
    },
  };
}
