/** The files `pnpm create-connector <name>` writes: a compiling connector with TODOs, and a failing test. */

export interface ScaffoldNames {
  /** Folder, connector id and package suffix: `pipedrive`, `company-db`. */
  id: string;
  /** Human title: `Pipedrive`, `Company Db`. */
  title: string;
}

export const TODO_MARK = 'TODO(create-connector)';

export const packageJson = ({ id }: ScaffoldNames) => `{
  "name": "@custodian/connector-${id}",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "exports": {
    ".": "./src/index.ts"
  },
  "scripts": {
    "typecheck": "tsc --noEmit -p ."
  },
  "dependencies": {
    "zod": "4.6.7"
  },
  "peerDependencies": {
    "@custodian/core": "workspace:*"
  },
  "devDependencies": {
    "@custodian/core": "workspace:*",
    "@custodian/testkit": "workspace:*",
    "@types/node": "^20.19.43",
    "typescript": "5.9.3",
    "vitest": "4.1.12"
  }
}
`;

export const tsconfig = () => `{ "extends": "../../tsconfig.base.json", "include": ["src", "test", "*.ts"] }
`;

export const vitestConfig = ({ id }: ScaffoldNames) => `import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'connectors-${id}', include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
});
`;

export const source = ({ id, title }: ScaffoldNames) => `/**
 * ${title} connector for Custodian.
 *
 * Setup: ${TODO_MARK} what an admin creates in ${title} (an OAuth app, an API key) and which options it gives.
 * Scopes: ${TODO_MARK} the least-privilege scopes each capability needs (read contacts, write, delete).
 * Limits: ${TODO_MARK} ${title}'s documented rate limits and daily quota, declared in \`limits\` below.
 *
 * Walkthrough: docs/connectors.md; a complete HTTP example: examples/custom-connector/my-connector.ts.
 */
import {
  type Checkpoint,
  createTokenManager,
  defineConnector,
  HttpError,
  type OperationContext,
  type Page,
} from '@custodian/core';
import { z } from 'zod';

export const Options = z
  .object({
    /** ${TODO_MARK} the API base URL (tests point it at a local server through env.route). */
    baseUrl: z.url(),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    refreshToken: z.string().min(1),
  })
  .strict();
type Options = z.output<typeof Options>;

export default defineConnector({
  id: '${id}',
  title: '${title}',
  core: '^0.1.0',
  options: Options,
  streams: [
    {
      name: 'contacts',
      kind: 'person',
      // 'timestamp' when the API can list changes since a modified time, 'opaque' for a vendor token,
      // 'none' for a full read every run.
      cursor: 'timestamp',
      // ${TODO_MARK} how deletes are seen: vendor tombstones, a full snapshot diff, or none with a reason.
      deletes: { kind: 'tombstones', source: 'endpoint' },
      // Every field the connector reads, with its category; personal ones map to canonical fields.
      fields: [
        { name: 'id', category: 'identifier.vendor' },
        { name: 'email', category: 'contact.email', canonical: 'email' },
        { name: 'lastName', category: 'name', canonical: 'lastName' },
        { name: 'updatedAt', category: 'system' },
      ],
    },
  ],
  // ${TODO_MARK} the vendor's documented limits: calls per interval, concurrency, daily allocation.
  limits: { groups: { default: { intervalMs: 1000, intervalCap: 10, concurrency: 2 } } },
  // Add 'find', 'get', 'erase', 'update', 'opt-out' as you implement them below.
  capabilities: [],
  secrets: ['clientSecret', 'refreshToken'],
  setup(options: Options) {
    const tokens = createTokenManager({
      fetchToken: async () => {
        // ${TODO_MARK} the vendor's token endpoint (put its doc link here) and the refresh-token grant.
        throw new Error(\`${TODO_MARK}: fetch an access token from ${title} for \${options.clientId}\`);
      },
    });

    /** One authenticated vendor call through the runtime (rate limits, retries, refresh, coded errors). */
    async function api<T>(ctx: OperationContext, method: string, path: string): Promise<T> {
      return ctx.call(\`\${method} \${path.split('?')[0]}\`, async (signal) => {
        // ${TODO_MARK} the vendor doc link of each endpoint goes above its call.
        const res = await fetch(\`\${options.baseUrl}\${path}\`, {
          method,
          signal,
          headers: { authorization: \`Bearer \${await tokens.token(signal)}\` },
        });
        const body: unknown = await res.json().catch(() => null);
        if (!res.ok) throw new HttpError(res.status, \`\${method} \${path.split('?')[0]}\`, res.headers, body);
        return body as T;
      });
    }

    return {
      read(stream: string, checkpoint: Checkpoint | null, ctx: OperationContext): AsyncIterable<Page> {
        // ${TODO_MARK} page through \`stream\` from \`checkpoint\` with api(); yield one Page per vendor page,
        // each with the checkpoint of what it observed (never "now"). Make this an \`async *read\` generator.
        void api;
        throw new Error(\`${TODO_MARK}: implement read(\${stream}) in connectors/${id}/src/index.ts (from \${JSON.stringify(checkpoint)}, system \${ctx.system})\`);
      },
      async onAuthExpired() {
        tokens.invalidate();
      },
    };
  },
});
`;

export const conformanceTest = ({
  id,
  title,
}: ScaffoldNames) => `/** The shared conformance suite for the ${title} connector (docs/connectors.md, "Testing"). */
import { testConnector } from '@custodian/testkit';
import connector from '../src/index.js';

testConnector({
  connector,
  async fixture(_env) {
    // ${TODO_MARK}: start a test instance of ${title} (a local server, a sandbox account) holding a few
    // people, pass its base URL through \`await _env.route(url)\` so the faults group can inject failures,
    // and return { options, secrets, faults: { quota }, bulkModify, cleanup }.
    throw new Error(
      '${TODO_MARK}: the ${id} conformance fixture is not filled in yet: edit connectors/${id}/test/conformance.test.ts',
    );
  },
});
`;

export const readme = ({ id, title }: ScaffoldNames) => `# @custodian/connector-${id}

Custodian connector for ${title}. Generated by \`pnpm create-connector ${id}\`; every \`${TODO_MARK}\`
marks something to fill in. The guide is \`docs/connectors.md\`; a complete working example is
\`examples/custom-connector\`.

## Setup

${TODO_MARK}: what an administrator creates in ${title} (an OAuth app, an API key), and the options:

\`\`\`yaml
systems:
  - name: ${id}
    connector: ${id}
    options:
      baseUrl: https://api.example.com
      clientId: \${${id.toUpperCase().replace(/-/g, '_')}_CLIENT_ID}
      clientSecret: \${${id.toUpperCase().replace(/-/g, '_')}_CLIENT_SECRET}
      refreshToken: \${${id.toUpperCase().replace(/-/g, '_')}_REFRESH_TOKEN}
\`\`\`

## Scopes

${TODO_MARK}: the least-privilege scopes, per capability (read for sync, write for rectify and opt-out,
delete for erasure).

## Limits

${TODO_MARK}: ${title}'s documented rate limits and daily quota (with links), and how \`limits\` in
\`src/index.ts\` declares them.

## Testing

\`pnpm vitest run connectors/${id}\` runs the shared conformance suite. It fails until the fixture in
\`test/conformance.test.ts\` is filled in; a group your connector cannot support is skipped only with a
written reason.
`;
