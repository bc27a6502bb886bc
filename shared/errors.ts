/**
 * The one base of errors meant for the person who asked: its message says what was wrong, as it
 * is, and its code lets a caller branch. The API answers these as the caller's error; anything
 * else is an internal failure, logged with a request id.
 */
export class MusterError extends Error {
  constructor(
    message: string,
    /** Short and stable, e.g. `bad-setting`, `timeout`, `unknown-image`. */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
