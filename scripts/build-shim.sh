#!/bin/sh
# Builds the per-container monitor. It is C so that an idle container costs
# kilobytes on the host, not a Node.js process.
set -e
cd "$(dirname "$0")/.."
mkdir -p dist
${CC:-cc} -Os -Wall -Wextra -Werror -o dist/tbox-shim.tmp src/shim/*.c -lseccomp
mv dist/tbox-shim.tmp dist/tbox-shim
