// Regular expressions for RLIKE and split: RE2 (re2js, linear-time matching), never a backtracking JavaScript RegExp.
import { RE2JS } from "re2js";
import { AnalysisError } from "../core/errors.ts";

/** How many distinct patterns read from records stay compiled per expression. */
const CACHE_LIMIT = 64;

let invalidFromRecords = 0;

/** How many records in this process carried an invalid regular expression (each gave null for that expression). */
export function invalidRecordPatterns(): number {
  return invalidFromRecords;
}

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
 * first key is the least recently used). An invalid pattern is that record's fault: `undefined`, counted.
 */
export function regexCache(): (pattern: string) => RE2JS | undefined {
  const cache = new Map<string, RE2JS | undefined>();
  return (pattern) => {
    if (cache.has(pattern)) {
      const hit = cache.get(pattern);
      cache.delete(pattern);
      cache.set(pattern, hit);
      if (hit === undefined) invalidFromRecords++;
      return hit;
    }
    let built: RE2JS | undefined;
    try {
      built = RE2JS.compile(pattern);
    } catch {
      invalidFromRecords++;
      built = undefined;
    }
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(pattern, built);
    return built;
  };
}
