import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'connectors/*', 'examples/*', 'test/e2e'],
  },
});
