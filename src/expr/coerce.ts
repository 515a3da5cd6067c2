// Implicit coercions Spark's analyzer inserts (string to double in arithmetic, widest common type), decided at compile time.
import { AnalysisError } from "../core/errors.ts";
import { isIntegral, isNumeric, type DataType } from "../core/types.ts";
import { castConverter } from "./cast.ts";
import { alwaysNull, constantValue, type Compiled, type Evaluator } from "./compiled.ts";

/**
 * An evaluator producing `arg` converted to `type` (null stays null). Numbers need no conversion between long and
 * double, and a constant is converted once here rather than per row.
 */
export function coerceTo(arg: Compiled, type: DataType, expressionText: string): Evaluator {
  if (arg.type === "null") return alwaysNull;
  if (arg.type === "long" && type === "double") return longsAsDoubles(arg.evaluate);
  if (arg.type === type || type === "any" || (isNumeric(arg.type) && type === "double")) return arg.evaluate;
  const converter = castConverter(arg.type, type);
  if (converter === undefined) {
    throw new AnalysisError(`Cannot convert ${arg.name} (${arg.type}) to ${type} in '${expressionText}'`);
  }
  if (arg.constant === true) {
    const value = constantValue(arg);
    const converted = value === null || value === undefined ? null : converter(value);
    return () => converted;
  }
  const evaluate = arg.evaluate;
  return (row) => {
    const value = evaluate(row);
    return value === null || value === undefined ? null : converter(value);
  };
}

/** A long's values as doubles: a long past 2^53 is a bigint (src/core/long.ts), which double arithmetic cannot take. */
function longsAsDoubles(evaluate: Evaluator): Evaluator {
  return (row) => {
    const value = evaluate(row);
    return typeof value === "bigint" ? Number(value) : value;
  };
}

/** A numeric operand as a JS number (double arithmetic): strings cast to double as Spark does; anything else is a query error. */
export function asNumber(arg: Compiled, expressionText: string): Evaluator {
  if (arg.type === "long") return longsAsDoubles(arg.evaluate);
  if (isNumeric(arg.type)) return arg.evaluate;
  if (arg.type === "string" || arg.type === "any" || arg.type === "null") return coerceTo(arg, "double", expressionText);
  throw new AnalysisError(
    `'${expressionText}' needs a numeric value but ${arg.name} is ${arg.type}. Cast it first, e.g. cast(${arg.name} as double)`,
  );
}

/** A string operand: other types are cast to string as Spark's implicit casts do. */
export function asString(arg: Compiled, expressionText: string): Evaluator {
  return coerceTo(arg, "string", expressionText);
}

/** A boolean operand (a condition); no implicit casts. */
export function asBoolean(arg: Compiled, expressionText: string): Evaluator {
  if (arg.type === "boolean" || arg.type === "any" || arg.type === "null") return arg.evaluate;
  throw new AnalysisError(`'${expressionText}' needs a boolean condition but ${arg.name} is ${arg.type}`);
}

/** The result type of + - * %: int when both sides are int, long when both are integral, otherwise double (unknown stays unknown). */
export function arithmeticType(left: DataType, right: DataType): DataType {
  if (left === "null" && right === "null") return "null";
  if (left === "double" || right === "double" || left === "string" || right === "string") return "double";
  if (left === "any" || right === "any") return "any";
  if ((left === "int" || left === "null") && (right === "int" || right === "null")) return "int";
  return "long";
}

/**
 * The widest type of several values that end in one column (CASE branches, coalesce, greatest): numbers widen to
 * double, anything atomic widens to string. Incompatible types (boolean and long) are a query error.
 */
export function commonType(args: readonly Compiled[], expressionText: string): DataType {
  const types = [...new Set(args.map((arg) => arg.type).filter((type) => type !== "null"))];
  if (types.length === 0) return "null";
  if (types.includes("any")) return "any";
  if (types.length === 1) return types[0] ?? "null";
  if (types.every(isIntegral)) return "long";
  if (types.every(isNumeric)) return "double";
  if (types.includes("string") && !types.includes("binary")) return "string";
  throw new AnalysisError(
    `The values in '${expressionText}' have incompatible types: ${types.join(", ")}. Cast them to one type.`,
  );
}

/**
 * The type both sides of a comparison are converted to before comparing: numbers compare as numbers (as doubles when
 * their types differ), a string against another atomic type in that type, as Spark's non-ANSI coercion does (so
 * `'1.5' = 1` casts '1.5' to the int 1 and is true, and a string against a long keeps all 64 bits). Anything else must
 * match exactly.
 */
export function comparisonType(left: Compiled, right: Compiled, expressionText: string): DataType {
  const a = left.type;
  const b = right.type;
  if (a === "null") return b;
  if (b === "null") return a;
  if (a === "any" || b === "any") return "any";
  if (a === b) return a;
  if (a === "string" && (isNumeric(b) || b === "boolean")) return b;
  if (b === "string" && (isNumeric(a) || a === "boolean")) return a;
  if (isNumeric(a) && isNumeric(b)) return "double";
  if ((a === "timestamp" && b === "string") || (a === "string" && b === "timestamp")) return "timestamp";
  if ((a === "date" && b === "string") || (a === "string" && b === "date")) return "date";
  if ((a === "date" && b === "timestamp") || (a === "timestamp" && b === "date")) return "timestamp";
  throw new AnalysisError(
    `Cannot compare ${left.name} (${a}) with ${right.name} (${b}) in '${expressionText}'. Cast one side, ` +
      `e.g. cast(${left.name} as ${b === "long" ? "bigint" : b})`,
  );
}
