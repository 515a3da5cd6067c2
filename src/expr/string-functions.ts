// Scalar string and time functions (lower, concat, substring, to_timestamp, ...), Spark's semantics.
import { AnalysisError } from "../core/errors.ts";
import { isNumeric } from "../core/types.ts";
import { castConverter } from "./cast.ts";
import { asNumber, asString } from "./coerce.ts";
import { argumentAt, isMissing, type Compiled, type ScalarFunction } from "./compiled.ts";
import type { Evaluator } from "./compiled.ts";
import { timestampToSeconds } from "./values.ts";

type StringMap = (value: string) => unknown;

const LEADING_SPACES = /^ +/;
const TRAILING_SPACES = / +$/;

function anyNullable(args: readonly Compiled[]): boolean {
  return args.some((arg) => arg.nullable || arg.type !== "string");
}

/** A one-argument string function; non-string arguments are cast to string first, as Spark does. */
function stringMap(map: StringMap, type: "string" | "int" | "long" | "boolean"): ScalarFunction {
  return {
    minArgs: 1,
    maxArgs: 1,
    compile: (args, site) => {
      const text = asString(argumentAt(args, 0), site.text);
      return {
        evaluate: (row) => {
          const value = text(row);
          return isMissing(value) ? null : map(value as string);
        },
        type,
        nullable: anyNullable(args),
      };
    },
  };
}

/** contains, startswith, endswith: two strings in, a boolean out, null if either is null. */
function stringTest(test: (value: string, probe: string) => boolean): ScalarFunction {
  return {
    minArgs: 2,
    maxArgs: 2,
    compile: (args, site) => {
      const value = asString(argumentAt(args, 0), site.text);
      const probe = asString(argumentAt(args, 1), site.text);
      return {
        evaluate: (row) => {
          const a = value(row);
          if (isMissing(a)) return null;
          const b = probe(row);
          return isMissing(b) ? null : test(a as string, b as string);
        },
        type: "boolean",
        nullable: anyNullable(args),
      };
    },
  };
}

/** concat(a, b, ...): null if any argument is null. */
const concat: ScalarFunction = {
  minArgs: 0,
  maxArgs: Number.POSITIVE_INFINITY,
  compile: (args, site) => {
    const parts = args.map((arg) => asString(arg, site.text));
    return {
      evaluate: (row) => {
        let result = "";
        for (const part of parts) {
          const value = part(row);
          if (isMissing(value)) return null;
          result += value as string;
        }
        return result;
      },
      type: "string",
      nullable: anyNullable(args),
    };
  },
};

/** concat_ws(separator, a, b, ...): skips null arguments; null only when the separator is. */
/** An array argument of concat_ws as it is (null stays null): its elements are joined one by one. */
function arrayParts(evaluate: Evaluator): Evaluator {
  return (row) => {
    const value = evaluate(row);
    return Array.isArray(value) ? value : null;
  };
}

const concatWs: ScalarFunction = {
  minArgs: 1,
  maxArgs: Number.POSITIVE_INFINITY,
  compile: (args, site) => {
    const separator = asString(argumentAt(args, 0), site.text);
    // An array argument gives its elements, each a part (nulls skipped), as Spark's concat_ws of array<string>.
    const parts = args.slice(1).map((arg): Evaluator => (arg.type === "array" ? arrayParts(arg.evaluate) : asString(arg, site.text)));
    return {
      evaluate: (row) => {
        const glue = separator(row);
        if (isMissing(glue)) return null;
        let result = "";
        let first = true;
        for (const part of parts) {
          const value = part(row);
          if (isMissing(value)) continue;
          if (Array.isArray(value)) {
            for (const element of value) {
              if (isMissing(element)) continue;
              result += first ? String(element) : (glue as string) + String(element);
              first = false;
            }
            continue;
          }
          result += first ? (value as string) : (glue as string) + (value as string);
          first = false;
        }
        return result;
      },
      type: "string",
      nullable: argumentAt(args, 0).nullable,
    };
  },
};

/**
 * The characters of a string as Spark counts them: code points (a UTF-8 string's characters), so a character past
 * U+FFFF (an emoji), which JavaScript holds as two UTF-16 units, counts once.
 */
export function codePointLength(value: string): number {
  let length = value.length;
  for (let index = 0; index < value.length; index++) {
    const unit = value.charCodeAt(index);
    if (unit >= 0xdc00 && unit <= 0xdfff && index > 0) {
      const before = value.charCodeAt(index - 1);
      if (before >= 0xd800 && before <= 0xdbff) length--;
    }
  }
  return length;
}

/**
 * Spark's substringSQL: 1-based; 0 means the start; a negative start counts from the end; length < 1 gives "".
 * Positions count code points, as Spark's do (a string without surrogate pairs is sliced as it is).
 */
export function substringSql(value: string, position: number, length: number): string {
  const characters = codePointLength(value);
  const start = position > 0 ? position - 1 : position < 0 ? characters + position : 0;
  const end = start + length;
  const from = Math.max(start, 0);
  if (from >= end) return "";
  if (characters === value.length) return value.slice(from, Math.min(end, value.length));
  return Array.from(value).slice(from, Math.min(end, characters)).join("");
}

const substring: ScalarFunction = {
  minArgs: 2,
  maxArgs: 3,
  compile: (args, site) => {
    const text = asString(argumentAt(args, 0), site.text);
    const position = asNumber(argumentAt(args, 1), site.text);
    const length: Evaluator = args.length === 3 ? asNumber(argumentAt(args, 2), site.text) : () => Number.MAX_SAFE_INTEGER;
    return {
      evaluate: (row) => {
        const value = text(row);
        const start = position(row);
        const count = length(row);
        if (isMissing(value) || isMissing(start) || isMissing(count)) return null;
        return substringSql(value as string, Math.trunc(start as number), Math.trunc(count as number));
      },
      type: "string",
      nullable: true,
    };
  },
};

/** The timestamp (ms) of the first argument: strings parsed, numbers read as seconds, as cast(x as timestamp). */
function timestampArgument(arg: Compiled, text: string, allowNumbers: boolean): Evaluator {
  const converter = castConverter(arg.type, "timestamp");
  const numeric = isNumeric(arg.type);
  if (converter === undefined || (numeric && !allowNumbers)) {
    throw new AnalysisError(`'${text}' needs a string or timestamp but ${arg.name} is ${arg.type}`);
  }
  const evaluate = arg.evaluate;
  return (row) => {
    const value = evaluate(row);
    return isMissing(value) ? null : converter(value);
  };
}

const currentTimestamp: ScalarFunction = {
  minArgs: 0,
  maxArgs: 0,
  compile: () => ({ evaluate: () => Date.now(), type: "timestamp", nullable: false }),
};

/** unix_timestamp([x[, format]]): whole seconds since the epoch; now when called without arguments. */
const unixTimestamp: ScalarFunction = {
  minArgs: 0,
  maxArgs: 2,
  compile: (args, site) => {
    if (args.length === 0) return { evaluate: () => timestampToSeconds(Date.now()), type: "long", nullable: false };
    const timestamp = timestampArgument(argumentAt(args, 0), site.text, false);
    return {
      evaluate: (row) => {
        const value = timestamp(row);
        return isMissing(value) ? null : timestampToSeconds(value as number);
      },
      type: "long",
      nullable: true,
    };
  },
};

function binaryOrStringLength(): ScalarFunction {
  const ofString = stringMap(codePointLength, "int");
  return {
    minArgs: 1,
    maxArgs: 1,
    compile: (args, site) => {
      const arg = argumentAt(args, 0);
      if (arg.type !== "binary") return ofString.compile(args, site);
      const evaluate = arg.evaluate;
      return {
        evaluate: (row) => {
          const value = evaluate(row);
          return isMissing(value) ? null : (value as Uint8Array).length;
        },
        type: "int",
        nullable: arg.nullable,
      };
    },
  };
}

export const STRING_FUNCTIONS: ReadonlyArray<readonly [string, ScalarFunction]> = [
  ["lower", stringMap((value) => value.toLowerCase(), "string")],
  ["lcase", stringMap((value) => value.toLowerCase(), "string")],
  ["upper", stringMap((value) => value.toUpperCase(), "string")],
  ["ucase", stringMap((value) => value.toUpperCase(), "string")],
  ["length", binaryOrStringLength()],
  ["char_length", binaryOrStringLength()],
  // Spark's trim removes spaces only, not tabs or newlines.
  ["trim", stringMap((value) => value.replace(LEADING_SPACES, "").replace(TRAILING_SPACES, ""), "string")],
  ["ltrim", stringMap((value) => value.replace(LEADING_SPACES, ""), "string")],
  ["rtrim", stringMap((value) => value.replace(TRAILING_SPACES, ""), "string")],
  ["concat", concat],
  ["concat_ws", concatWs],
  ["substring", substring],
  ["substr", substring],
  ["contains", stringTest((value, probe) => value.includes(probe))],
  ["startswith", stringTest((value, probe) => value.startsWith(probe))],
  ["endswith", stringTest((value, probe) => value.endsWith(probe))],
  ["current_timestamp", currentTimestamp],
  ["now", currentTimestamp],
  ["unix_timestamp", unixTimestamp],
];
