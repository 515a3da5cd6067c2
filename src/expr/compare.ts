// Comparisons, IN and BETWEEN with SQL null semantics; the comparison strategy is chosen once per expression.
import type { DataType } from "../core/types.ts";
import { coerceTo, comparisonType } from "./coerce.ts";
import { type Compiled, type CompiledValue, type Evaluator } from "./compiled.ts";
import { parseDouble } from "./values.ts";

export type ComparisonOperator = "=" | "!=" | "<" | "<=" | ">" | ">=" | "<=>";

/** Orders two non-null values of one comparison type; null when they cannot be ordered (mixed unknown types). */
type Ordering = (left: unknown, right: unknown) => number | null;

function primitiveOrdering(left: unknown, right: unknown): number {
  const a = left as number;
  const b = right as number;
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) return 0;
  // Neither: a NaN on one side (or 5n against 5, equal). Spark orders NaN after every other double and equal to itself;
  // 0 here made NaN equal to everything (`5 IN (NaN)`, `5 <=> NaN` and `5 BETWEEN NaN AND NaN` were true).
  const leftNaN = Number.isNaN(a);
  return leftNaN === Number.isNaN(b) ? 0 : leftNaN ? 1 : -1;
}

function bytesOrdering(left: unknown, right: unknown): number {
  return Buffer.compare(left as Uint8Array, right as Uint8Array);
}

/** For columns of unknown type: like types compare directly, a number and a string compare as doubles. */
function dynamicOrdering(left: unknown, right: unknown): number | null {
  const a = left instanceof Date ? left.getTime() : left;
  const b = right instanceof Date ? right.getTime() : right;
  if (typeof a === typeof b && (typeof a === "number" || typeof a === "string" || typeof a === "boolean")) {
    return primitiveOrdering(a, b);
  }
  // A long past 2^53 is a bigint; < and > order it against numbers exactly.
  if ((typeof a === "bigint" || typeof a === "number") && (typeof b === "bigint" || typeof b === "number")) return primitiveOrdering(a, b);
  if (typeof a === "number" && typeof b === "string") {
    const parsed = parseDouble(b);
    return parsed === null ? null : primitiveOrdering(a, parsed);
  }
  if (typeof a === "string" && typeof b === "number") {
    const parsed = parseDouble(a);
    return parsed === null ? null : primitiveOrdering(parsed, b);
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return bytesOrdering(a, b);
  return null;
}

function orderingFor(type: DataType): Ordering {
  if (type === "any") return dynamicOrdering;
  if (type === "binary") return bytesOrdering;
  return primitiveOrdering;
}

const ORDERING_TESTS: Readonly<Record<Exclude<ComparisonOperator, "<=>">, (order: number) => boolean>> = {
  "=": (order) => order === 0,
  "!=": (order) => order !== 0,
  "<": (order) => order < 0,
  "<=": (order) => order <= 0,
  ">": (order) => order > 0,
  ">=": (order) => order >= 0,
};

/** `left op right`: null when either side is null, except `<=>` which treats two nulls as equal. */
export function compileComparison(op: ComparisonOperator, left: Compiled, right: Compiled, text: string): CompiledValue {
  const type = comparisonType(left, right, text);
  const l = coerceTo(left, type, text);
  const r = coerceTo(right, type, text);
  const nullable = op !== "<=>" && (left.nullable || right.nullable || type === "any");
  if (op === "<=>") return { evaluate: nullSafeEquality(l, r, orderingFor(type)), type: "boolean", nullable: false };
  if (type === "any" || type === "binary") {
    const ordering = orderingFor(type);
    const test = ORDERING_TESTS[op];
    return {
      evaluate: (row) => {
        const a = l(row);
        if (a === null || a === undefined) return null;
        const b = r(row);
        if (b === null || b === undefined) return null;
        const order = ordering(a, b);
        return order === null ? null : test(order);
      },
      type: "boolean",
      nullable,
    };
  }
  return { evaluate: primitiveComparison(op, l, r, type === "double" ? DOUBLE_TESTS : PRIMITIVE_TESTS), type: "boolean", nullable };
}

/** The common case, numbers, strings, booleans or timestamps: one closure per operator, no ordering call. */
function primitiveComparison(op: Exclude<ComparisonOperator, "<=>">, l: Evaluator, r: Evaluator, tests: typeof PRIMITIVE_TESTS): Evaluator {
  const compare = tests[op];
  return (row) => {
    const a = l(row);
    if (a === null || a === undefined) return null;
    const b = r(row);
    if (b === null || b === undefined) return null;
    return compare(a as number, b as number);
  };
}

const PRIMITIVE_TESTS: Readonly<Record<Exclude<ComparisonOperator, "<=>">, (a: number, b: number) => boolean>> = {
  "=": (a, b) => a === b,
  "!=": (a, b) => a !== b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
};

/**
 * Doubles as Spark compares them: NaN equals NaN and is greater than every other double (JavaScript's comparisons are
 * all false for NaN, and !== true). The NaN check (`x !== x`) runs only where the plain comparison alone can be wrong:
 * after a false, or, for !=, after a true.
 */
const DOUBLE_TESTS: typeof PRIMITIVE_TESTS = {
  "=": (a, b) => a === b || (a !== a && b !== b),
  "!=": (a, b) => a !== b && (a === a || b === b),
  "<": (a, b) => a < b || (b !== b && a === a),
  "<=": (a, b) => a <= b || b !== b,
  ">": (a, b) => a > b || (a !== a && b === b),
  ">=": (a, b) => a >= b || a !== a,
};

function nullSafeEquality(l: Evaluator, r: Evaluator, ordering: Ordering): Evaluator {
  return (row) => {
    const a = l(row);
    const b = r(row);
    const aNull = a === null || a === undefined;
    const bNull = b === null || b === undefined;
    if (aNull || bNull) return aNull && bNull;
    return ordering(a, b) === 0;
  };
}

/** Atomic types Spark's IN promotes to string beside a string (its stringPromotion: not boolean, not binary). */
const PROMOTED_TO_STRING: ReadonlySet<DataType> = new Set(["string", "int", "long", "double", "timestamp", "date"]);

/**
 * The type an IN list is compared in. As Spark's InConversion (the widest common type of the operand and every
 * element): a string among other atomic types makes them all strings (`1 IN ('1.0')` is false, `'01' IN (1)` too);
 * otherwise the operand's comparison type against every element.
 */
function inListType(operand: Compiled, list: readonly Compiled[], text: string): DataType {
  const types = [operand, ...list].map((value) => value.type).filter((type) => type !== "null");
  if (types.includes("string") && types.every((type) => PROMOTED_TO_STRING.has(type))) return "string";
  let type: DataType = operand.type;
  for (const element of list) {
    type = comparisonType({ ...operand, type }, element, text);
  }
  return type;
}

/**
 * `x IN (a, b, ...)` as SQL: true on a match; otherwise null if x or any element is null; otherwise false.
 * A list of literals becomes a Set probed once per row.
 */
export function compileIn(operand: Compiled, list: readonly Compiled[], negated: boolean, text: string): CompiledValue {
  const type = inListType(operand, list, text);
  const value = coerceTo(operand, type, text);
  const nullable = operand.nullable || list.some((element) => element.nullable) || type === "any";
  const elements = list.map((element) => coerceTo(element, type, text));
  let matches: Evaluator;
  if (type !== "any" && type !== "binary" && list.every((element) => element.constant === true)) {
    // Constant elements ignore the row, so evaluating them on an empty one gives their converted values.
    const constants = elements.map((element) => element({}));
    const set = new Set(constants.filter((constant) => constant !== null && constant !== undefined));
    const hasNull = constants.some((constant) => constant === null || constant === undefined);
    matches = (row) => {
      const v = value(row);
      if (v === null || v === undefined) return null;
      if (set.has(v)) return true;
      return hasNull ? null : false;
    };
  } else {
    const ordering = orderingFor(type);
    matches = (row) => {
      const v = value(row);
      if (v === null || v === undefined) return null;
      let sawNull = false;
      for (const element of elements) {
        const candidate = element(row);
        if (candidate === null || candidate === undefined) sawNull = true;
        else if (ordering(v, candidate) === 0) return true;
      }
      return sawNull ? null : false;
    };
  }
  return { evaluate: negated ? negate(matches) : matches, type: "boolean", nullable };
}

/**
 * `x BETWEEN low AND high` is `x >= low AND x <= high`, with x evaluated once. As in Spark (which rewrites it so
 * before coercion), each of the two comparisons has its own comparison type.
 */
export function compileBetween(
  operand: Compiled, low: Compiled, high: Compiled, negated: boolean, text: string,
): CompiledValue {
  const lowType = comparisonType(operand, low, text);
  const highType = comparisonType(operand, high, text);
  const value = coerceTo(operand, lowType, text);
  const valueForHigh = highType === lowType ? undefined : coerceTo(operand, highType, text);
  const lower = coerceTo(low, lowType, text);
  const upper = coerceTo(high, highType, text);
  const lowOrdering = orderingFor(lowType);
  const highOrdering = orderingFor(highType);
  const within: Evaluator = (row) => {
    const v = value(row);
    if (v === null || v === undefined) return null;
    const w = valueForHigh === undefined ? v : valueForHigh(row);
    const a = lower(row);
    const b = upper(row);
    const aboveLow = a === null || a === undefined ? null : atLeastZero(lowOrdering(v, a));
    const belowHigh = b === null || b === undefined || w === null || w === undefined ? null : atLeastZero(highOrdering(b, w));
    return and3(aboveLow, belowHigh);
  };
  const nullable = operand.nullable || low.nullable || high.nullable || lowType === "any" || highType === "any";
  return { evaluate: negated ? negate(within) : within, type: "boolean", nullable };
}

function atLeastZero(order: number | null): boolean | null {
  return order === null ? null : order >= 0;
}

/** SQL three-valued AND: false wins over null. */
export function and3(a: unknown, b: unknown): boolean | null {
  if (a === false || b === false) return false;
  if (a === null || a === undefined || b === null || b === undefined) return null;
  return true;
}

/** SQL NOT: null stays null. */
export function negate(evaluate: Evaluator): Evaluator {
  return (row) => {
    const value = evaluate(row);
    return value === null || value === undefined ? null : !value;
  };
}

/** How orderBy orders two non-null values of a column type: windows by start then end, unknown types dynamically. */
export function sortOrdering(type: DataType): (left: unknown, right: unknown) => number {
  if (type === "window") {
    return (left, right) => {
      const a = left as { start: number; end: number };
      const b = right as { start: number; end: number };
      return a.start - b.start || a.end - b.end;
    };
  }
  const ordering = orderingFor(type);
  return (left, right) => ordering(left, right) ?? 0;
}
