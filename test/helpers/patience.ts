/**
 * The floor of every "wait until" in the tests: CI's two cores can be slow while several heavy test
 * files run at once, and waiting longer never fails a test that passes.
 */
export const PATIENCE_MS = 30_000;

/** Polls `check` every `pollMs` until it holds; throws, naming `what`, after PATIENCE_MS. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, pollMs = 50): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
