/** The unit tier: pure code, no root, no kernel objects, no build. */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
