/**
 * The floor of every "wait until" in the tests: CI's two cores can be slow while several heavy test
 * files run at once, and waiting longer never fails a test that passes.
 */
export const PATIENCE_MS = 30_000;
