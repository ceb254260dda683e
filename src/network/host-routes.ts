import { ipJson } from '../host/command.js';
import { cidrOf, formatCidr, overlaps, parseIp, type Cidr } from './ipv4.js';

interface Route {
  dst: string;
  dev?: string;
}

/** The host's IPv4 routes (but the default route), with their device. */
function hostRoutes(): { cidr: Cidr; dev: string }[] {
  const routes = ipJson<Route>(['-4', 'route', 'show', 'table', 'main']);
  return routes
    .filter((r) => r.dst !== 'default')
    .map((r) => {
      const [ip, prefix] = r.dst.split('/');
      return { cidr: cidrOf(parseIp(ip!), Number(prefix ?? 32)), dev: r.dev ?? '' };
    });
}

/** The host route this subnet would collide with, if any (tbox's own bridges aside). */
export function overlappingRoute(subnet: Cidr, ownBridges: ReadonlySet<string>): string | undefined {
  const hit = hostRoutes().find((r) => !ownBridges.has(r.dev) && overlaps(r.cidr, subnet));
  return hit && `${formatCidr(hit.cidr)}${hit.dev ? ` dev ${hit.dev}` : ''}`;
}
