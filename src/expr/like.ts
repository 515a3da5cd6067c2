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
