/**
 * ADD's answer in the format of the config's cniVersion: 1.0.0, or 0.3.x/0.4.0,
 * whose ips also carry "version": "4". Interfaces are indexed as the spec
 * wants: the bridge, the host end, then the container's own (with sandbox).
 */

interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: { version?: '4'; address: string; gateway: string; interface: number }[];
  routes: { dst: string; gw: string }[];
  dns: Record<string, never>;
}

export function cniResult(
  cniVersion: string,
  r: { bridge: CniInterface; hostVeth: CniInterface; container: CniInterface & { sandbox: string }; address: string; gateway: string },
): CniResult {
  const legacy = cniVersion !== '1.0.0';
  return {
    cniVersion,
    interfaces: [r.bridge, r.hostVeth, r.container],
    ips: [{ ...(legacy ? { version: '4' as const } : {}), address: r.address, gateway: r.gateway, interface: 2 }],
    routes: [{ dst: '0.0.0.0/0', gw: r.gateway }],
    dns: {},
  };
}
