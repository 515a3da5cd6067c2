// A mistake in how the `rill` command was called: printed as one line, and the command exits with status 2.
export class UsageError extends Error {
  override readonly name = "UsageError";
}
