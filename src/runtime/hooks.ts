/**
 * The bundle's hooks, in the runtime-spec's order and with its failure rules:
 * prestart and createRuntime fail create; poststart and poststop only warn.
 */
import { runHook } from '../host/command.js';
import { TboxError } from '../errors.js';
import type { BundleSpec, HookKind } from './bundle.js';
import type { RuntimeState } from './state.js';

export function runHooks(spec: BundleSpec, kinds: HookKind[], state: RuntimeState, opts: { mayFail: boolean }): void {
  for (const kind of kinds) {
    for (const hook of spec.hooks?.[kind] ?? []) {
      const r = runHook(hook, JSON.stringify(state));
      if (r.code === 0) continue;
      const why = `${kind} hook ${hook.path} exited ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n')[0]}` : ''}`;
      if (!opts.mayFail) throw new TboxError(why, 1);
      process.stderr.write(`tbox-runtime: warning: ${why}\n`);
    }
  }
}
