// Date and time functions: to_timestamp, to_date, date_format, current_date, year..second; Spark's null rules, UTC.
import { AnalysisError } from "../core/errors.ts";
import { castConverter } from "./cast.ts";
import { argumentAt, constantValue, isMissing, type Compiled, type Evaluator, type ScalarFunction } from "./compiled.ts";
import { compilePattern, formatWithPattern, parseWithPattern, startOfDay } from "./datetime.ts";

/** A time argument as milliseconds: timestamps and dates as they are, strings parsed as cast(x as timestamp). */
function timeArgument(arg: Compiled, text: string): Evaluator {
  if (arg.type === "null") return () => null;
  const converter = arg.type === "date" ? (value: unknown) => value : castConverter(arg.type, "timestamp");
  if (converter === undefined || arg.type === "long" || arg.type === "double" || arg.type === "boolean") {
    throw new AnalysisError(`'${text}' needs a timestamp, date or string, but ${arg.name} is ${arg.type}`);
  }
  const evaluate = arg.evaluate;
  return (row) => {
    const value = evaluate(row);
    return isMissing(value) ? null : converter(value);
  };
}

/** The pattern argument: a string literal is compiled once; a pattern from a column is compiled per distinct value. */
function patternArgument(arg: Compiled, text: string): (row: Parameters<Evaluator>[0]) => ReturnType<typeof compilePattern> | null {
  if (arg.type !== "string" && arg.type !== "null" && arg.type !== "any") throw new AnalysisError(`The format of '${text}' must be a string, but ${arg.name} is ${arg.type}`);
  if (arg.constant === true) {
    const value = constantValue(arg);
    const pieces = isMissing(value) ? null : compilePattern(value as string);
    return () => pieces;
  }
  const cache = new Map<string, ReturnType<typeof compilePattern>>();
  const evaluate = arg.evaluate;
  return (row) => {
    const value = evaluate(row);
    if (isMissing(value)) return null;
    let pieces = cache.get(value as string);
    if (pieces === undefined) {
      pieces = compilePattern(value as string);
      cache.set(value as string, pieces);
    }
    return pieces;
  };
}

/** Parses with a pattern when one is given (null when the text does not match it), else as cast(x as timestamp). */
function parsedTime(args: readonly Compiled[], text: string): Evaluator {
  const first = argumentAt(args, 0);
  if (args.length === 1 || first.type !== "string") {
    // Spark accepts a number of seconds in to_timestamp(x) as cast(x as timestamp) does.
    if (args.length === 1 && (first.type === "long" || first.type === "double")) {
      const converter = castConverter(first.type, "timestamp");
      const evaluate = first.evaluate;
      return (row) => {
        const value = evaluate(row);
        return isMissing(value) || converter === undefined ? null : converter(value);
      };
    }
    return timeArgument(first, text);
  }
  const value = first.evaluate;
  const pattern = patternArgument(argumentAt(args, 1), text);
  return (row) => {
    const input = value(row);
    const pieces = pattern(row);
    return isMissing(input) || pieces === null ? null : parseWithPattern(input as string, pieces);
  };
}

/** to_timestamp(s[, format]): null when the text does not match the format (Spark without ANSI). */
const toTimestamp: ScalarFunction = {
  minArgs: 1,
  maxArgs: 2,
  compile: (args, site) => ({ evaluate: parsedTime(args, site.text), type: "timestamp", nullable: true }),
};

/** to_date(s[, format]): the day of the parsed time. */
const toDate: ScalarFunction = {
  minArgs: 1,
  maxArgs: 2,
  compile: (args, site) => {
    const time = parsedTime(args, site.text);
    return {
      evaluate: (row) => {
        const value = time(row);
        return isMissing(value) ? null : startOfDay(value as number);
      },
      type: "date",
      nullable: true,
    };
  },
};

/** date_format(ts, format): the time formatted with Spark's pattern letters, in UTC. */
const dateFormat: ScalarFunction = {
  minArgs: 2,
  maxArgs: 2,
  compile: (args, site) => {
    const time = timeArgument(argumentAt(args, 0), site.text);
    const pattern = patternArgument(argumentAt(args, 1), site.text);
    return {
      evaluate: (row) => {
        const value = time(row);
        const pieces = pattern(row);
        return isMissing(value) || pieces === null ? null : formatWithPattern(value as number, pieces);
      },
      type: "string",
      nullable: true,
    };
  },
};

const currentDate: ScalarFunction = {
  minArgs: 0,
  maxArgs: 0,
  compile: () => ({ evaluate: () => startOfDay(Date.now()), type: "date", nullable: false }),
};

/** year(x), month(x), ...: one UTC field of a timestamp or date as a number. */
function timeField(read: (date: Date) => number): ScalarFunction {
  return {
    minArgs: 1,
    maxArgs: 1,
    compile: (args, site) => {
      const time = timeArgument(argumentAt(args, 0), site.text);
      return {
        evaluate: (row) => {
          const value = time(row);
          return isMissing(value) ? null : read(new Date(value as number));
        },
        type: "int",
        nullable: true,
      };
    },
  };
}

export const DATETIME_FUNCTIONS: ReadonlyArray<readonly [string, ScalarFunction]> = [
  ["to_timestamp", toTimestamp],
  ["to_date", toDate],
  ["date_format", dateFormat],
  ["current_date", currentDate],
  ["curdate", currentDate],
  ["year", timeField((date) => date.getUTCFullYear())],
  ["month", timeField((date) => date.getUTCMonth() + 1)],
  ["dayofmonth", timeField((date) => date.getUTCDate())],
  ["day", timeField((date) => date.getUTCDate())],
  ["hour", timeField((date) => date.getUTCHours())],
  ["minute", timeField((date) => date.getUTCMinutes())],
  ["second", timeField((date) => date.getUTCSeconds())],
];
