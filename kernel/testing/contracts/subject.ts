/**
 * How a contract suite gets the implementation under test: `setup` runs once in the suite's
 * `before`, `teardown` (when given) in its `after`. A suite registers mocha tests, so call it
 * inside a test file, once per implementation (its wire simulator, its in-process fake).
 */
export type Setup<S> = () => Promise<S & { teardown?(): Promise<void> }>;

/** Runs `setup` in before/after hooks of the enclosing describe; the holder is filled in by then. */
export function useSubject<S>(setup: Setup<S>): { subject: S } {
  const holder = {} as { subject: S & { teardown?(): Promise<void> } };
  before(async () => {
    holder.subject = await setup();
  });
  after(async () => {
    await holder.subject?.teardown?.();
  });
  return holder;
}

/** The rejection of `call`, failing when it resolves instead. */
export async function rejection(call: Promise<unknown>): Promise<unknown> {
  const outcome = await call.then(() => ({ resolved: true as const }), (err: unknown) => ({ resolved: false as const, err }));
  if (outcome.resolved) throw new Error('expected the call to be refused, and it succeeded');
  return outcome.err;
}
