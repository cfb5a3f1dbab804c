import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/setup/temp-root.ts'],
    projects: ['packages/*', 'connectors/*', 'examples/*', 'test/e2e'],
  },
});
