// Lint: typescript-eslint's recommended rules, plus the layering rule that
// keeps the tree readable: cli -> compose/diagnose -> container/image/network/volume -> state -> host.
// A module may import its own layer or a lower one, never a higher one.
import tseslint from 'typescript-eslint';

const layer = (files, forbidden) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: forbidden.map((dir) => ({
          group: [`**/${dir}/*`, `../${dir}/*`, `./${dir}/*`],
          message: `${files[0].replace('/**/*.ts', '')} may not import from ${dir}: it is a higher layer (cli -> container/image/network -> state -> host)`,
        })),
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'images/**', 'state/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // dist is CommonJS: better-sqlite3 is required lazily so --help does not load it.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  layer(['src/host/**/*.ts'], ['cli', 'compose', 'container', 'image', 'network', 'volume', 'diagnose', 'state']),
  layer(['src/state/**/*.ts'], ['cli', 'compose', 'container', 'image', 'network', 'volume', 'diagnose']),
  layer(['src/container/**/*.ts', 'src/image/**/*.ts', 'src/network/**/*.ts', 'src/volume/**/*.ts'], ['cli', 'compose', 'diagnose']),
  // compose drives containers, networks and volumes as the CLI would
  layer(['src/compose/**/*.ts'], ['cli', 'diagnose']),
  // diagnose reads every concern below it (doctor, trace, leftovers)
  layer(['src/diagnose/**/*.ts'], ['cli']),
  layer(['src/errors.ts', 'src/paths.ts'], ['cli', 'compose', 'container', 'image', 'network', 'volume', 'diagnose', 'state', 'host']),
);
