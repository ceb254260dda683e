import { InvalidArgumentError } from '../errors.js';
import type { ContainerConfig } from './store.js';

function jsonArgv(change: string, value: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
    throw new InvalidArgumentError(`invalid --change "${change}": the JSON form must be a list of strings`);
  }
  return parsed;
}

/** `import --change`: the Dockerfile instructions that set image config. */
export function parseChanges(changes: string[]): ContainerConfig {
  const config: ContainerConfig = {};
  for (const change of changes) {
    const m = /^\s*(\w+)\s+(.*)$/s.exec(change);
    if (!m) throw new InvalidArgumentError(`invalid --change "${change}": expected INSTRUCTION VALUE`);
    const [, instruction, value] = m as unknown as [string, string, string];
    // JSON form ["a","b"] as in a Dockerfile; the shell form runs under sh -c.
    const argv = () => (value.trim().startsWith('[') ? jsonArgv(change, value) : ['/bin/sh', '-c', value]);
    switch (instruction.toUpperCase()) {
      case 'CMD':
        config.Cmd = argv();
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = argv();
        break;
      case 'ENV':
        config.Env = [...(config.Env ?? []), value.includes('=') ? value : value.replace(/\s+/, '=')];
        break;
      case 'WORKDIR':
        config.WorkingDir = value.trim();
        break;
      case 'USER':
        config.User = value.trim();
        break;
      case 'EXPOSE':
        config.ExposedPorts = {
          ...config.ExposedPorts,
          ...Object.fromEntries(
            value
              .trim()
              .split(/\s+/)
              .map((p) => [p.includes('/') ? p : `${p}/tcp`, {}]),
          ),
        };
        break;
      default:
        throw new InvalidArgumentError(`--change ${instruction} is not supported (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE are)`);
    }
  }
  return config;
}
