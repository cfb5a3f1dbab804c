/**
 * A strict nock transport (Airbyte's HttpMocker semantics): a request no fixture matches fails the test,
 * and so does a fixture no request used, checked when the test finishes. A connector that swallows the
 * error nock gives an unmatched request, or stops paging one page early, cannot pass quietly.
 */
import { readFileSync } from 'node:fs';
import nock from 'nock';

type Scope = nock.Scope;
type Options = nock.Options;

import { onTestFinished } from 'vitest';

export interface StrictTransport {
  scopes: Scope[];
  /** What is wrong so far: unmatched requests and unused fixtures (paths without query strings). */
  problems(): string[];
  /** Stop listening, drop the interceptors, restore network access; throws when problems() is not empty. */
  done(): void;
}

const withoutQuery = (path: string) => path.split('?')[0];

function strictTransport(scopes: Scope[]): StrictTransport {
  const unmatched: string[] = [];
  // nock emits the request (or its options) for anything no interceptor matched. Queries are dropped
  // from the message: they can hold the emails a connector searched for.
  const onNoMatch = (req: { method?: string; path?: string }) => {
    unmatched.push(`${req.method ?? 'GET'} ${withoutQuery(req.path ?? '/')}`);
  };
  nock.emitter.on('no match', onNoMatch);
  nock.disableNetConnect();
  const problems = () => [
    ...unmatched.map((u) => `unmatched request ${u}`),
    ...scopes.flatMap((s) => s.pendingMocks()).map((m) => `unused fixture ${withoutQuery(m)}`),
  ];
  let finished = false;
  return {
    scopes,
    problems,
    done() {
      if (finished) return;
      finished = true;
      const found = problems();
      nock.emitter.removeListener('no match', onNoMatch);
      for (const s of scopes) s.persist(false);
      nock.cleanAll();
      nock.enableNetConnect();
      if (found.length > 0) throw new Error(`strict nock: ${found.length} problem(s): ${found.join('; ')}`);
    },
  };
}

/** A strict transport for one base URL; define replies on `scopes[0]`. Call `done()` yourself. */
export function createStrictNock(basePath: string | RegExp, options?: Options): StrictTransport {
  return strictTransport([nock(basePath, options)]);
}

/** A strict transport from a recorded fixture file (see `recordHttp`). Call `done()` yourself. */
export function createStrictNockFromFile(file: string): StrictTransport {
  return strictTransport(nock.define(JSON.parse(readFileSync(file, 'utf8')) as nock.Definition[]));
}

/** Inside a test: a strict nock scope whose problems fail the test when it finishes. */
export function strictNock(basePath: string | RegExp, options?: Options): Scope {
  const transport = createStrictNock(basePath, options);
  onTestFinished(() => transport.done());
  return transport.scopes[0]!;
}

/** Inside a test: replay a recorded fixture file strictly; its problems fail the test when it finishes. */
export function strictNockFromFile(file: string): StrictTransport {
  const transport = createStrictNockFromFile(file);
  onTestFinished(() => transport.done());
  return transport;
}
