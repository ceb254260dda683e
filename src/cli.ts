#!/usr/bin/env node
import { main } from './cli/program.js';
import { releaseAll } from './host/held.js';

// `tbox ps | head -1`: the reader went away. End quietly, as docker does, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') {
      releaseAll();
      process.exit(0);
    }
    throw err;
  });
}

// scripts/tbox hands tbox's own --env-file over under another name, out of Node's reach (see there).
const argv = process.argv.map((a) =>
  a === '--tbox-env-file' ? '--env-file' : a.startsWith('--tbox-env-file=') ? `--${a.slice('--tbox-'.length)}` : a,
);

main(argv).then((code) => {
  process.exitCode = code;
});
