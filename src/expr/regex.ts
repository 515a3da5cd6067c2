// Regular expressions for RLIKE and split: RE2 (re2js, linear-time matching), never a backtracking JavaScript RegExp.
import { RE2JS } from "re2js";
import { AnalysisError, RecordError } from "../core/errors.ts";

/** How many distinct patterns read from records stay compiled per expression. */
const CACHE_LIMIT = 64;

/**
 * Compiles a literal pattern once, at start(): a pattern RE2 cannot run in linear time (backreferences, lookaround)
 * or that is malformed is a query error naming the pattern and why.
 */
export function compileRegex(pattern: string, expressionText: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    throw new AnalysisError(
      `Invalid regular expression '${pattern}' in '${expressionText}': ${whyInvalid(error)}. ` +
        "Rill uses RE2 syntax (linear-time matching): backreferences and lookaround are not supported.",
      { cause: error },
    );
  }
}

function whyInvalid(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/\\[1-9]/.test(message)) return `${message} (backreferences are not supported)`;
  if (/\(\?[=!<]/.test(message)) return `${message} (lookaround is not supported)`;
  return message;
}

/**
 * For patterns that come from a column: a bounded LRU of compiled patterns (a Map keeps insertion order, so the
 * first key is the least recently used). An invalid pattern is that record's fault: a RecordError, which the actor
 * running the expression catches per frame and turns into a dead letter naming the operator (src/actors/record-errors.ts).
 */
export function regexCache(expressionText: string): (pattern: string) => RE2JS {
  const cache = new Map<string, RE2JS | string>();
  return (pattern) => {
    let entry = cache.get(pattern);
    if (entry !== undefined) {
      cache.delete(pattern);
    } else {
      entry = compileOrWhy(pattern);
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    }
    cache.set(pattern, entry);
    if (typeof entry === "string") throw new RecordError(`Invalid regular expression '${pattern}' from the record in '${expressionText}': ${entry}. Rill uses RE2 syntax (linear-time matching).`);
    return entry;
  };
}

/** The compiled pattern, or why it does not compile. */
function compileOrWhy(pattern: string): RE2JS | string {
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    return whyInvalid(error);
  }
}
