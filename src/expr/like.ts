// SQL LIKE and RLIKE patterns as RegExps: built once for literal patterns, cached for patterns read from rows.
import { AnalysisError, RecordError } from "../core/errors.ts";

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/;

/** Translates a LIKE pattern (`%` any run, `_` one character, `\` escapes the next) into an anchored RegExp. */
export function likeToRegExp(pattern: string): RegExp {
  let source = "";
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern.charAt(index);
    if (char === "\\" && index + 1 < pattern.length) {
      index++;
      source += escapeRegexChar(pattern.charAt(index));
    } else if (char === "%") {
      source += "[\\s\\S]*";
    } else if (char === "_") {
      source += "[\\s\\S]";
    } else {
      source += escapeRegexChar(char);
    }
  }
  return new RegExp(`^${source}$`, "u");
}

/**
 * The matcher for a literal LIKE pattern. Patterns without `_` or escapes that are a plain text, `text%`, `%text` or
 * `%text%` (most filters) become string methods; the rest become a RegExp.
 */
export function likeMatcher(pattern: string): (value: string) => boolean {
  if (!pattern.includes("_") && !pattern.includes("\\")) {
    const inner = pattern.replace(/^%/, "").replace(/%$/, "");
    if (!inner.includes("%")) {
      const leading = pattern.startsWith("%");
      const trailing = pattern.length > 1 && pattern.endsWith("%");
      if (inner === "" && (leading || trailing)) return () => true;
      if (leading && trailing) return (value) => value.includes(inner);
      if (leading) return (value) => value.endsWith(inner);
      if (trailing) return (value) => value.startsWith(inner);
      return (value) => value === inner;
    }
  }
  const regex = likeToRegExp(pattern);
  return (value) => regex.test(value);
}

function escapeRegexChar(char: string): string {
  return REGEX_SPECIAL.test(char) ? `\\${char}` : char;
}

/** Builds an RLIKE RegExp (Java's find(): matches anywhere); a literal pattern that is invalid is a query error. */
export function rlikeToRegExp(pattern: string, expressionText: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw new AnalysisError(`Invalid regular expression '${pattern}' in '${expressionText}': ${(error as Error).message}`, {
      cause: error,
    });
  }
}

const CACHE_LIMIT = 256;

/**
 * For patterns that come from a column: a small cache so a repeated pattern is translated once.
 * An invalid pattern in a record is that record's fault, so it becomes a RecordError.
 */
export function patternCache(regex: boolean, expressionText: string): (pattern: string) => RegExp {
  const cache = new Map<string, RegExp>();
  return (pattern) => {
    const cached = cache.get(pattern);
    if (cached !== undefined) return cached;
    const built = buildForRecord(pattern, regex, expressionText);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(pattern, built);
    return built;
  };
}

function buildForRecord(pattern: string, regex: boolean, expressionText: string): RegExp {
  if (!regex) return likeToRegExp(pattern);
  try {
    return rlikeToRegExp(pattern, expressionText);
  } catch (error) {
    throw new RecordError(`Invalid regular expression '${pattern}' in a record for '${expressionText}'`, { cause: error });
  }
}
