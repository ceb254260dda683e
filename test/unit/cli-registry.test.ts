/** tbox defines only the command it runs; the table that says which module defines what must say it right. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { REGISTRARS } from '../../src/cli/program.js';

describe('the command table', () => {
  it.each(REGISTRARS.map((r) => [r.commands.join(' '), r] as const))('lists what its module defines: %s', async (_, r) => {
    const program = new Command('tbox').enablePositionalOptions();
    await r.register(program, () => {});
    expect(program.commands.map((c) => c.name()).sort()).toEqual([...r.commands].sort());
  });

  it('names each command once', () => {
    const all = REGISTRARS.flatMap((r) => r.commands);
    expect(new Set(all).size).toBe(all.length);
  });
});
