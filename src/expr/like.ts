// SQL LIKE as a linear-time wildcard matcher (no regular expression, so no backtracking blow-up); RLIKE lives in regex.ts.

/** A LIKE pattern as code units, with these two markers for `%` (any run, collapsed) and `_` (one character). */
const ANY_RUN = -1;
const ONE_CHAR = -2;
/** Past the end of the pattern. */
const END = -3;

/** Parses a LIKE pattern (`%` any run, `_` one character, `\` escapes the next; a trailing `\` is itself). */
function likeTokens(pattern: string): Int32Array {
  const tokens: number[] = [];
  for (let index = 0; index < pattern.length; index++) {
    const code = pattern.charCodeAt(index);
    if (code === 0x5c /* \ */ && index + 1 < pattern.length) {
      index++;
      tokens.push(pattern.charCodeAt(index));
    } else if (code === 0x25 /* % */) {
      if (tokens[tokens.length - 1] !== ANY_RUN) tokens.push(ANY_RUN);
    } else if (code === 0x5f /* _ */) {
      tokens.push(ONE_CHAR);
    } else {
      tokens.push(code);
    }
  }
  return Int32Array.from(tokens);
}

/** Code units of the character at `index`: 2 for a surrogate pair, so `_` is one character as in Spark. */
function charWidth(value: string, index: number): number {
  const code = value.charCodeAt(index);
  if (code >= 0xd800 && code <= 0xdbff && index + 1 < value.length) {
    const next = value.charCodeAt(index + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return 2;
  }
  return 1;
}

/**
 * Greedy wildcard matching: on a mismatch, go back to the last `%` and let it take one more character. Only the last
 * `%` is ever revisited, so the worst case is O(value × pattern), never exponential.
 */
function matchTokens(tokens: Int32Array, value: string): boolean {
  const end = tokens.length;
  let t = 0;
  let v = 0;
  let starToken = -1;
  let starValue = 0;
  while (v < value.length) {
    const token = t < end ? (tokens[t] as number) : END;
    if (token === ONE_CHAR) {
      v += charWidth(value, v);
      t++;
    } else if (token >= 0 && token === value.charCodeAt(v)) {
      v++;
      t++;
    } else if (token === ANY_RUN) {
      starToken = t++;
      starValue = v;
    } else if (starToken >= 0) {
      t = starToken + 1;
      starValue += charWidth(value, starValue);
      v = starValue;
    } else {
      return false;
    }
  }
  while (t < end && tokens[t] === ANY_RUN) t++;
  return t === end;
}

/** A linear-time matcher for any LIKE pattern. */
export function likeToMatcher(pattern: string): (value: string) => boolean {
  const tokens = likeTokens(pattern);
  return (value) => matchTokens(tokens, value);
}

/**
 * The matcher for a literal LIKE pattern. Patterns without `_` or escapes that are a plain text, `text%`, `%text` or
 * `%text%` (most filters) become string methods; the rest use the wildcard matcher.
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
  return likeToMatcher(pattern);
}

const CACHE_LIMIT = 64;

/** For LIKE patterns that come from a column: a bounded LRU so a repeated pattern is parsed once. */
export function likeCache(): (pattern: string) => (value: string) => boolean {
  const cache = new Map<string, (value: string) => boolean>();
  return (pattern) => {
    const hit = cache.get(pattern);
    if (hit !== undefined) {
      cache.delete(pattern);
      cache.set(pattern, hit);
      return hit;
    }
    const built = likeToMatcher(pattern);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(pattern, built);
    return built;
  };
}
