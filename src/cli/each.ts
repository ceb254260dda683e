/**
 * Commands that take several names act on every one, as Docker's do: each
 * success prints its line, each failure one `tbox:` line on stderr, and the
 * command exits 1 if any failed (Docker's code for a failed name).
 */
export async function forEachName(
  names: string[],
  setExit: (code: number) => void,
  act: (name: string) => Promise<string | undefined>,
): Promise<void> {
  let failed = false;
  for (const name of names) {
    try {
      const out = await act(name);
      if (out !== undefined) process.stdout.write(`${out}\n`);
    } catch (err) {
      failed = true;
      process.stderr.write(`tbox: ${(err as Error).message}\n`);
    }
  }
  if (failed) setExit(1);
}
