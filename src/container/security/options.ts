/** --security-opt as Docker reads it: no-new-privileges[:true|false], seccomp=unconfined|default|PROFILE.json. */
import fs from 'node:fs';
import { InvalidArgumentError } from '../../errors.js';

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** 'default', 'unconfined', or a Docker-format profile's JSON text (read at create, as Docker does) */
  seccomp: string;
}

export function parseSecurityOpts(opts: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: 'default' };
  for (const opt of opts) {
    const m = /^([a-z-]+)(?:[=:](.*))?$/s.exec(opt);
    const [key, value] = [m?.[1], m?.[2]];
    if (key === 'no-new-privileges' && (value === undefined || value === 'true' || value === 'false')) {
      out.noNewPrivileges = value !== 'false';
    } else if (key === 'seccomp' && value) {
      out.seccomp = value === 'unconfined' || value === 'default' ? value : readProfile(value);
    } else {
      throw new InvalidArgumentError(`invalid --security-opt "${opt}": no-new-privileges, seccomp=unconfined or seccomp=PROFILE.json`);
    }
  }
  return out;
}

function readProfile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(
      `opening seccomp profile (${file}) failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`decoding seccomp profile (${file}) failed: not JSON`);
  }
  return text;
}
