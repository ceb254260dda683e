/**
 * Seccomp profiles in Docker's JSON format (defaultAction, syscalls[] with
 * names, action, errnoRet, args, includes/excludes.caps), resolved against a
 * container's capabilities into the OCI form that config.json carries
 * (linux.seccomp), and from there into the lines the shim hands libseccomp.
 * A profile file is the user's input: every field is checked.
 */
import { InvalidArgumentError } from '../../errors.js';

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_LOG',
];
export const SECCOMP_OPERATORS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
];
const EPERM = 1;

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface OciSeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}

/** linux.seccomp in config.json. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  syscalls: OciSeccompRule[];
}

interface DockerRule extends Partial<OciSeccompRule> {
  name?: string;
  includes?: { caps?: string[] };
  excludes?: { caps?: string[] };
}

function bad(why: string): never {
  throw new InvalidArgumentError(`invalid seccomp profile: ${why}`);
}

const isCount = (n: unknown, max: number) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= max;

function checkAction(action: unknown, where: string): string {
  if (typeof action !== 'string' || !SECCOMP_ACTIONS.includes(action)) bad(`${where}: unknown action ${JSON.stringify(action)}`);
  return action;
}

/** A Docker-format profile, for a container holding `caps`: the rules that apply to it. */
export function compileProfile(text: string, caps: readonly string[]): OciSeccomp {
  let doc: { defaultAction?: unknown; defaultErrnoRet?: unknown; syscalls?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    bad('not JSON');
  }
  const defaultAction = checkAction(doc.defaultAction, 'defaultAction');
  if (doc.defaultErrnoRet !== undefined && !isCount(doc.defaultErrnoRet, 4095)) bad('defaultErrnoRet is not an errno');
  if (doc.syscalls !== undefined && !Array.isArray(doc.syscalls)) bad('syscalls is not a list');
  const has = (list: unknown) =>
    Array.isArray(list) &&
    list.some((c) =>
      caps.includes(
        String(c)
          .toUpperCase()
          .replace(/^(?!CAP_)/, 'CAP_'),
      ),
    );
  const syscalls: OciSeccompRule[] = [];
  for (const [i, raw] of ((doc.syscalls ?? []) as DockerRule[]).entries()) {
    const where = `syscalls[${i}]`;
    if (typeof raw !== 'object' || raw === null) bad(`${where} is not an object`);
    const names = raw.names ?? (raw.name !== undefined ? [raw.name] : []);
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string' && /^[a-z0-9_]{1,64}$/.test(n)))
      bad(`${where}.names is not a list of syscall names`);
    const action = checkAction(raw.action, `${where}.action`);
    if (raw.errnoRet !== undefined && !isCount(raw.errnoRet, 4095)) bad(`${where}.errnoRet is not an errno`);
    const args = raw.args ?? [];
    if (!Array.isArray(args) || args.length > 6) bad(`${where}.args is not a list of at most 6`);
    for (const a of args) {
      if (
        !isCount(a?.index, 5) ||
        !isCount(a.value, Number.MAX_SAFE_INTEGER) ||
        (a.valueTwo !== undefined && !isCount(a.valueTwo, Number.MAX_SAFE_INTEGER)) ||
        !SECCOMP_OPERATORS.includes(a.op)
      ) {
        bad(`${where}.args has an entry that is not {index 0-5, value, valueTwo, op}`);
      }
    }
    // Docker: includes.caps, the rule needs one of them; excludes.caps, the rule is void with one of them.
    if (raw.includes?.caps && !has(raw.includes.caps)) continue;
    if (raw.excludes?.caps && has(raw.excludes.caps)) continue;
    syscalls.push({ names, action, ...(raw.errnoRet !== undefined ? { errnoRet: raw.errnoRet } : {}), ...(args.length ? { args } : {}) });
  }
  return { defaultAction, ...(doc.defaultErrnoRet !== undefined ? { defaultErrnoRet: doc.defaultErrnoRet as number } : {}), syscalls };
}

/** The default profile (default-seccomp.json), read when a container uses it. */
export function defaultProfileText(): string {
  return JSON.stringify(require('./default-seccomp.json'));
}

/**
 * The shim's form, one rule per line:
 *   default ACTION ERRNO
 *   ACTION ERRNO SYSCALL NARGS [INDEX OP VALUE VALUE2]...
 * with ACTION and OP without their SCMP_ prefixes.
 */
export function shimRules(p: OciSeccomp): string {
  const action = (a: string, errno: number | undefined) => `${a.replace(/^SCMP_ACT_/, '')} ${errno ?? EPERM}`;
  const lines = [`default ${action(p.defaultAction, p.defaultErrnoRet)}`];
  for (const r of p.syscalls) {
    const args = (r.args ?? []).map((a) => `${a.index} ${a.op.replace(/^SCMP_CMP_/, '')} ${a.value} ${a.valueTwo ?? 0}`);
    for (const name of r.names) lines.push([action(r.action, r.errnoRet), name, String(args.length), ...args].join(' '));
  }
  return `${lines.join('\n')}\n`;
}
