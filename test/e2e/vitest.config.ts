import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'test-e2e', include: ['*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
});
