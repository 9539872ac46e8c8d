import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts', 'parsers/**/*.test.ts', 'dashboards/**/*.test.ts', 'capture/**/*.test.ts'],
    // Lab tests run real tracers against real syscalls; they take seconds each.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tracing tests share the kernel's single tracefs instance; run files one at a time
    // so two captures never fight over the same events.
    fileParallelism: false,
  },
});
