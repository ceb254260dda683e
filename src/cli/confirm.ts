/** Docker's "Are you sure you want to continue? [y/N]": only y or yes goes on; no terminal or EOF means no. */
export async function confirm(warning: string): Promise<boolean> {
  process.stdout.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    const done = () => {
      process.stdin.off('data', onData).off('end', done).pause();
      resolve(text);
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.includes('\n')) done();
    };
    process.stdin.on('data', onData).on('end', done).resume();
  });
  return /^\s*y(es)?\s*$/i.test(answer.split('\n')[0] ?? '');
}
