/**
 * What a CNI runtime hands tbox-cni: the CNI_* environment and the network
 * configuration on stdin (CNI spec 1.0.0, "Parameters" and "Network
 * configuration"). Both are checked here, once, into one typed request;
 * anything wrong is a CniError with the spec's code.
 */
import { isIPv4 } from 'node:net';
import { parseCidr } from '../network/ipv4.js';

/** The versions whose result format tbox-cni can write. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;

/** The spec's well-known error codes (1-99 are the spec's, 100+ the plugin's). */
export const CNI_CODES = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodingFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  /** tbox-cni's own: CHECK found the container's network not as ADD left it */
  checkFailed: 100,
  /** tbox-cni's own: the kernel or the database refused */
  internal: 999,
} as const;

export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
  ) {
    super(message);
    this.name = 'CniError';
  }
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface CniConfig {
  cniVersion: string;
  name: string;
  bridge: string;
  subnet: string;
  gateway?: string;
  ipMasq: boolean;
  isolation: boolean;
  dataDir: string;
}

export interface CniRequest {
  command: CniCommand;
  containerId: string;
  /** unset on a DEL whose netns is already gone */
  netns?: string;
  ifname: string;
  config: CniConfig;
}

/** Where the IPAM database lives when the config names no dataDir. */
export const DEFAULT_DATA_DIR = '/var/lib/tbox-cni';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const IFNAME = /^[a-zA-Z0-9_.-]{1,15}$/;
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,255}$/;
const NETNS_PATH = /^\/[A-Za-z0-9._/-]+$/;

const invalid = (msg: string) => new CniError(CNI_CODES.invalidConfig, msg);

function field<T>(conf: Record<string, unknown>, key: string, type: 'string' | 'boolean', fallback?: T): T {
  const value = conf[key];
  if (value === undefined) {
    if (fallback === undefined) throw invalid(`network config: "${key}" is required`);
    return fallback;
  }
  if (typeof value !== type) throw invalid(`network config: "${key}" must be a ${type}`);
  return value as T;
}

/** The network configuration on stdin. Only cniVersion matters to VERSION. */
export function parseConfig(stdin: string, command: CniCommand): CniConfig {
  let conf: unknown;
  try {
    conf = JSON.parse(stdin);
  } catch {
    throw new CniError(CNI_CODES.decodingFailure, 'network config on stdin is not JSON');
  }
  if (!conf || typeof conf !== 'object' || Array.isArray(conf))
    throw new CniError(CNI_CODES.decodingFailure, 'network config must be a JSON object');
  const c = conf as Record<string, unknown>;
  // VERSION may be asked with no config worth the name; the spec's oldest version answers then
  const cniVersion = field<string>(c, 'cniVersion', 'string', command === 'VERSION' ? '0.1.0' : undefined);
  if (command !== 'VERSION' && !(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(
      CNI_CODES.incompatibleVersion,
      `tbox-cni does not support cniVersion ${cniVersion}`,
      `supported: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  if (command === 'VERSION') return { cniVersion } as CniConfig;
  const name = field<string>(c, 'name', 'string');
  if (!NAME.test(name)) throw invalid(`network config: invalid name "${name}": use [a-zA-Z0-9][a-zA-Z0-9_.-], at most 64 characters`);
  const bridge = field<string>(c, 'bridge', 'string', 'cni0');
  if (!IFNAME.test(bridge)) throw invalid(`network config: invalid bridge "${bridge}": at most 15 characters of [a-zA-Z0-9_.-]`);
  const subnet = field<string>(c, 'subnet', 'string');
  try {
    parseCidr(subnet);
  } catch {
    throw invalid(`network config: subnet "${subnet}" is not an IPv4 CIDR like 10.88.0.0/16`);
  }
  const gateway = c.gateway === undefined ? undefined : field<string>(c, 'gateway', 'string');
  if (gateway !== undefined && !isIPv4(gateway)) throw invalid(`network config: gateway "${gateway}" is not an IPv4 address`);
  const dataDir = field<string>(c, 'dataDir', 'string', DEFAULT_DATA_DIR);
  if (!dataDir.startsWith('/')) throw invalid(`network config: dataDir "${dataDir}" must be an absolute path`);
  return {
    cniVersion,
    name,
    bridge,
    subnet,
    gateway,
    ipMasq: field<boolean>(c, 'ipMasq', 'boolean', false),
    isolation: field<boolean>(c, 'isolation', 'boolean', true),
    dataDir,
  };
}

const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'VERSION'];

/** The CNI_* variables, checked for the command that needs them. */
export function parseRequest(env: NodeJS.ProcessEnv, stdin: string): CniRequest {
  const command = env.CNI_COMMAND as CniCommand;
  const badEnv = (msg: string) => new CniError(CNI_CODES.invalidEnvironment, msg);
  if (!COMMANDS.includes(command)) throw badEnv(`CNI_COMMAND must be one of ${COMMANDS.join(', ')}, not "${env.CNI_COMMAND ?? ''}"`);
  const config = parseConfig(stdin, command);
  if (command === 'VERSION') return { command, containerId: '', ifname: '', config };
  const containerId = env.CNI_CONTAINERID ?? '';
  if (!CONTAINER_ID.test(containerId)) throw badEnv(`CNI_CONTAINERID "${containerId}" is missing or not of [a-zA-Z0-9_.-]`);
  const ifname = env.CNI_IFNAME ?? '';
  if (!IFNAME.test(ifname) || ifname === '.' || ifname === '..') throw badEnv(`CNI_IFNAME "${ifname}" is missing or not an interface name`);
  const netns = env.CNI_NETNS || undefined;
  if (netns === undefined && command !== 'DEL') throw badEnv('CNI_NETNS is required');
  if (netns !== undefined && !NETNS_PATH.test(netns)) throw badEnv(`CNI_NETNS "${netns}" is not a path to a network namespace`);
  return { command, containerId, netns, ifname, config };
}
