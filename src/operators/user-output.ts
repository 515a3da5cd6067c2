// What a user function hands back, checked where it enters Rill: a wrong shape is the user's error (UserCodeError), named with the operator.
import { UserCodeError } from "../core/errors.ts";
import type { Row } from "../core/types.ts";

/** Names the user function and its input for an error message: called only when there is an error, so nothing is built per row. */
export type Where<T> = (subject: T) => string;

/** The row a user function returned, or a UserCodeError when it is not a row object. */
export function userRow<T>(value: unknown, where: Where<T>, subject: T): Row {
  if (typeof value !== "object" || value === null) throw new UserCodeError(`${where(subject)} returned ${describeValue(value)} where a row (an object of column values) was expected.`);
  return value as Row;
}

/**
 * Hands each row of what a user function returned to `each`. Anything but an iterable of row objects is a
 * UserCodeError, and so is a throw while a lazy iterable (a generator) produces its rows, since that runs user code.
 */
export function forEachUserRow<T>(output: unknown, where: Where<T>, subject: T, each: (row: Row) => void): void {
  if (Array.isArray(output)) {
    for (const item of output) each(userRow(item, where, subject));
    return;
  }
  if (output === null || output === undefined || typeof (output as Partial<Iterable<unknown>>)[Symbol.iterator] !== "function") {
    throw new UserCodeError(`${where(subject)} returned ${describeValue(output)}, which is not iterable: return an array (or another iterable) of rows.`);
  }
  let iterator: Iterator<unknown>;
  try {
    iterator = (output as Iterable<unknown>)[Symbol.iterator]();
  } catch (error) {
    throw new UserCodeError(`${where(subject)} returned an iterable that failed to start: ${String(error)}`, { cause: error });
  }
  for (;;) {
    let step: IteratorResult<unknown>;
    try {
      step = iterator.next();
    } catch (error) {
      throw new UserCodeError(`${where(subject)} threw while its rows were read: ${String(error)}`, { cause: error });
    }
    if (step.done === true) return;
    each(userRow(step.value, where, subject));
  }
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === "object") return `an object of class ${value.constructor?.name ?? "Object"}`;
  return `the ${typeof value} ${String(value)}`;
}
