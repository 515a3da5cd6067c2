// Compiles an expression tree once, against a schema, into a plain closure over rows (Spark's analyzer + codegen).
import { columnRead, positionalRead } from "../core/column-read.ts";
import { AnalysisError, closestName } from "../core/errors.ts";
import { addLong, longToDouble, multiplyLong, negateLong, remainderLong, subtractLong, type LongValue } from "../core/long.ts";
import { fieldNames, findField, isIntegral, isNumeric, nestedOf, WINDOW_FIELDS, type Field, type PositionalRow, type Schema } from "../core/types.ts";
import { AGGREGATE_FUNCTIONS, GENERATORS, GET_FIELD, INTERVAL, type BinaryOperator, type DecimalType, type Expr } from "./ast.ts";
import { castConverter } from "./cast.ts";
import { arithmeticType, asBoolean, asNumber, asString, coerceTo, commonType } from "./coerce.ts";
import { compileBetween, compileComparison, compileIn, negate, type ComparisonOperator } from "./compare.ts";
import {
  alwaysNull, constantValue, isMissing, type Compiled, type CompiledExpr, type CompiledValue, type Evaluator,
  type ScalarFunction,
} from "./compiled.ts";
import { roundHalfUp, SCALAR_FUNCTIONS } from "./functions.ts";
import { likeCache, likeMatcher } from "./like.ts";
import { compileRegex, regexCache } from "./regex.ts";
import type { RE2JS } from "re2js";
import { expressionName } from "./names.ts";
import { sqlTypeName } from "./typenames.ts";

export type { CompiledExpr } from "./compiled.ts";
export { expressionName } from "./names.ts";

interface Scope {
  readonly schema: Schema;
  readonly context: string | undefined;
  /** Rows are arrays in the order of the schema's fields: a column reads by index, not by name. */
  readonly positional: boolean;
}

/** A compiled expression over rows by position (arrays in the order of the schema's fields). */
export interface PositionalExpr extends Omit<CompiledExpr, "evaluate"> {
  readonly evaluate: (row: PositionalRow) => unknown;
}

/**
 * Resolves every column, checks every type and builds every regex now, so the returned closure only does per-row work.
 * @example compileExpression(parseExpression("gt like '%stairs%'"), schema, "filter").evaluate(row) // true | false | null
 * @throws AnalysisError for an unknown column or function, a type mismatch, or an aggregate outside groupBy().agg().
 */
export function compileExpression(expr: Expr, schema: Schema, context?: string): CompiledExpr {
  return compileNode(expr, { schema, context, positional: false });
}

/**
 * The same expression over rows by position: a column reference reads `row[i]`, i its field's index in `schema`, so
 * no name is looked up per row. Nested struct fields are still read by name (a struct value stays an object).
 * @example compilePositional(parseExpression("gt like '%stairs%'"), schema, "filter").evaluate(["a", 1, ...])
 */
export function compilePositional(expr: Expr, schema: Schema, context?: string): PositionalExpr {
  const compiled = compileNode(expr, { schema, context, positional: true });
  // Only the column reads (positionalRead) look into the row; every other closure passes it through untouched.
  return { ...compiled, evaluate: compiled.evaluate as unknown as (row: PositionalRow) => unknown };
}

/** Finds a column as Spark does by default (case-insensitively); an unknown name is an AnalysisError with a hint. */
export function resolveColumn(schema: Schema, name: string, context?: string): Field {
  const field = findField(schema, name);
  if (field !== undefined) return field;
  const names = fieldNames(schema);
  const where = context === undefined ? "" : ` in ${context}`;
  const sameIgnoringCase = names.filter((candidate) => candidate.toLowerCase() === name.toLowerCase());
  if (sameIgnoringCase.length > 1) {
    throw new AnalysisError(`Column '${name}' is ambiguous${where}: it matches ${sameIgnoringCase.join(", ")}. Use the exact name.`);
  }
  const suggestion = closestName(name, names);
  const hint = suggestion === undefined ? "" : ` Did you mean '${suggestion}'?`;
  const listed = names.length > 30 ? `${names.slice(0, 30).join(", ")}, ...` : names.join(", ");
  throw new AnalysisError(`Column '${name}' does not exist${where}.${hint} Columns: ${listed}`);
}

function compileNode(expr: Expr, scope: Scope): Compiled {
  const name = expressionName(expr);
  switch (expr.kind) {
    case "column": {
      const nested = findField(scope.schema, expr.name) === undefined ? resolveNestedColumn(scope, expr.name) : undefined;
      if (nested !== undefined) return { ...nested, name: nestedName(expr.name) };
      const field = resolveColumn(scope.schema, expr.name, scope.context);
      return { evaluate: readField(scope, field), type: field.type, nullable: field.nullable, name, ...nestedOf(field) };
    }
    case "star":
      throw new AnalysisError(`'*' cannot be used in an expression${where(scope)}; use it alone in select("*") or in count(*)`);
    case "literal": {
      const value = expr.value === undefined ? null : expr.value;
      return { evaluate: () => value, type: expr.type, nullable: value === null, name, constant: true };
    }
    case "alias":
      return { ...compileNode(expr.operand, scope), name: expr.name };
    default:
      return { ...compileComputed(expr, name, scope), name };
  }
}

/** `s.a.b`: the longest column-name prefix that exists, then struct fields; undefined when no prefix is a column. */
function resolveNestedColumn(scope: Scope, name: string): Compiled | undefined {
  const { schema, context } = scope;
  const parts = name.split(".");
  for (let split = parts.length - 1; split >= 1; split--) {
    const field = findField(schema, parts.slice(0, split).join("."));
    if (field === undefined) continue;
    let current: Compiled = { evaluate: readField(scope, field), type: field.type, nullable: field.nullable, name: field.name, ...nestedOf(field) };
    for (const part of parts.slice(split)) current = { ...extractField(current, part, context), name: part };
    return current;
  }
  return undefined;
}

/** Spark names `s.a` after the last field: `a`. */
function nestedName(name: string): string {
  return name.slice(name.lastIndexOf(".") + 1);
}

/** `struct.field` (Spark's GetStructField): null when the struct is null; the field is resolved case-insensitively. */
export function extractField(struct: Compiled, fieldName: string, context: string | undefined): CompiledValue {
  const fields = struct.type === "window" ? WINDOW_FIELDS : struct.fields;
  if ((struct.type !== "struct" && struct.type !== "window") || fields === undefined) {
    if (struct.type === "any") {
      const evaluate = struct.evaluate;
      return { evaluate: (row) => readMember(evaluate(row), fieldName), type: "any", nullable: true };
    }
    throw new AnalysisError(`Can't extract the field '${fieldName}' from ${struct.name}: it is ${struct.type}, not a struct${context === undefined ? "" : ` in ${context}`}`);
  }
  const field = findField({ fields }, fieldName);
  if (field === undefined) {
    throw new AnalysisError(`No such struct field '${fieldName}' in ${struct.name}; its fields are ${fields.map((candidate) => candidate.name).join(", ")}`);
  }
  const evaluate = struct.evaluate;
  const key = field.name;
  return { evaluate: (row) => readMember(evaluate(row), key), type: field.type, nullable: struct.nullable || field.nullable, ...nestedOf(field) };
}

function readMember(value: unknown, key: string): unknown {
  if (value === null || typeof value !== "object") return null;
  const member = (value as Record<string, unknown>)[key];
  return member === undefined ? null : member;
}

function readField(scope: Scope, field: Field): Evaluator {
  return scope.positional ? positionalRead(scope.schema.fields.indexOf(field)) : columnRead(field.name, true);
}

function compileComputed(expr: Expr, text: string, scope: Scope): CompiledValue {
  const child = (node: Expr): Compiled => compileNode(node, scope);
  switch (expr.kind) {
    case "unary":
      return expr.op === "-" ? compileNegation(child(expr.operand), text) : compileNot(child(expr.operand), text);
    case "binary":
      if ((expr.op === "+" || expr.op === "-") && (isInterval(expr.right) || isInterval(expr.left))) return compileIntervalArithmetic(expr.op, expr.left, expr.right, scope, text);
      return compileBinary(expr.op, child(expr.left), child(expr.right), text);
    case "isNull": {
      const evaluate = child(expr.operand).evaluate;
      const negated = expr.negated;
      return { evaluate: (row) => isMissing(evaluate(row)) !== negated, type: "boolean", nullable: false };
    }
    case "like":
      return compileLike(child(expr.operand), child(expr.pattern), expr.regex, expr.negated, text);
    case "in":
      return compileIn(child(expr.operand), expr.list.map(child), expr.negated, text);
    case "between":
      return compileBetween(child(expr.operand), child(expr.low), child(expr.high), expr.negated, text);
    case "case":
      return compileCase(expr, scope, text);
    case "cast":
      return expr.decimal === undefined ? compileCast(child(expr.operand), expr.to, text) : compileDecimalCast(child(expr.operand), expr.decimal, text);
    case "call":
      return compileCall(expr, scope, text);
    case "over":
      throw new AnalysisError(`The window function '${text}' can only be a column of select(), selectExpr() or withColumn() (a SELECT item in SQL), not part of${where(scope) || " this expression"}.`);
    default:
      throw new AnalysisError(`Cannot compile '${text}'${where(scope)}`);
  }
}

function isInterval(expr: Expr): boolean {
  return expr.kind === "call" && expr.name === INTERVAL;
}

/** `timestamp + interval`, `timestamp - interval`, `interval + timestamp`: a timestamp moved by the interval's milliseconds. */
function compileIntervalArithmetic(op: "+" | "-", left: Expr, right: Expr, scope: Scope, text: string): CompiledValue {
  const intervalOnLeft = isInterval(left);
  if (intervalOnLeft && (isInterval(right) || op === "-")) throw new AnalysisError(`'${text}' is not supported${where(scope)}: add an interval to a timestamp or subtract one from it, e.g. t + interval 1 hour`);
  const interval = (intervalOnLeft ? left : right) as Extract<Expr, { kind: "call" }>;
  const milliseconds = Number((interval.args[0] as Extract<Expr, { kind: "literal" }>).value) * (op === "-" ? -1 : 1);
  const time = compileNode(intervalOnLeft ? right : left, scope);
  if (time.type !== "timestamp" && time.type !== "any" && time.type !== "null") throw new AnalysisError(`'${text}' needs a timestamp beside the interval${where(scope)}, but ${time.name} is ${time.type}`);
  const evaluate = time.evaluate;
  return { evaluate: (row) => {
    const value = evaluate(row);
    return typeof value === "number" ? value + milliseconds : null;
  }, type: "timestamp", nullable: time.nullable };
}

function where(scope: Scope): string {
  return scope.context === undefined ? "" : ` in ${scope.context}`;
}

const ARITHMETIC: Readonly<Record<"+" | "-" | "*" | "/" | "%", (a: number, b: number) => number | null>> = {
  "+": (a, b) => a + b,
  "-": (a, b) => a - b,
  "*": (a, b) => a * b,
  // Spark without ANSI mode: division or remainder by zero is null, not an error or Infinity.
  "/": (a, b) => (b === 0 ? null : a / b),
  "%": (a, b) => (b === 0 ? null : a % b),
};

/** long op long is an exact long (a bigint past 2^53), wrapping at 64 bits as Java's long (src/core/long.ts). */
const LONG_ARITHMETIC: Readonly<Record<"+" | "-" | "*" | "/" | "%", (a: LongValue, b: LongValue) => LongValue | null>> = {
  "+": addLong,
  "-": subtractLong,
  "*": multiplyLong,
  "/": (a, b) => ARITHMETIC["/"](longToDouble(a), longToDouble(b)),
  "%": remainderLong,
};

/** int op int is an int, and overflows the way Java's does (Spark without ANSI mode): the low 32 bits are kept. */
const INT_ARITHMETIC: Readonly<Record<"+" | "-" | "*" | "/" | "%", (a: number, b: number) => number | null>> = {
  "+": (a, b) => (a + b) | 0,
  "-": (a, b) => (a - b) | 0,
  "*": (a, b) => Math.imul(a, b),
  "/": ARITHMETIC["/"],
  "%": (a, b) => (b === 0 ? null : (a % b) | 0),
};

function compileBinary(op: BinaryOperator, left: Compiled, right: Compiled, text: string): CompiledValue {
  switch (op) {
    case "and":
    case "or":
      return compileLogic(op, left, right, text);
    case "||":
      return concatFunction().compile([left, right], { name: "concat", text, args: [] });
    case "+": case "-": case "*": case "/": case "%":
      return compileArithmetic(op, left, right, text);
    default:
      return compileComparison(op satisfies ComparisonOperator, left, right, text);
  }
}

function concatFunction(): ScalarFunction {
  const concat = SCALAR_FUNCTIONS.get("concat");
  if (concat === undefined) throw new AnalysisError("Undefined function 'concat'");
  return concat;
}

function compileArithmetic(op: keyof typeof ARITHMETIC, left: Compiled, right: Compiled, text: string): CompiledValue {
  const type = op === "/" ? "double" : arithmeticType(left.type, right.type);
  // Long arithmetic takes the operands as they are (bigints included); double arithmetic takes them as numbers.
  const leftNumber = asNumber(left, text);
  const rightNumber = asNumber(right, text);
  const l = type === "long" && isIntegral(left.type) ? left.evaluate : leftNumber;
  const r = type === "long" && isIntegral(right.type) ? right.evaluate : rightNumber;
  const apply = type === "int" ? INT_ARITHMETIC[op] : type === "long" ? (LONG_ARITHMETIC[op] as (a: number, b: number) => number | null) : ARITHMETIC[op];
  const exact = left.type !== "string" && right.type !== "string" && left.type !== "any" && right.type !== "any";
  return {
    evaluate: (row) => {
      const a = l(row);
      if (isMissing(a)) return null;
      const b = r(row);
      if (isMissing(b)) return null;
      return apply(a as number, b as number);
    },
    type,
    nullable: left.nullable || right.nullable || op === "/" || op === "%" || !exact,
  };
}

function compileNegation(operand: Compiled, text: string): CompiledValue {
  const number = asNumber(operand, text);
  const value = operand.type === "long" ? operand.evaluate : number;
  const type = arithmeticType(operand.type, operand.type === "int" ? "int" : "long");
  // An integer has no negative zero, so integers negate as 0 - v (an int wraps at its minimum, as in Java); doubles keep Spark's -0.0.
  const evaluate: Evaluator = type === "int"
    ? (row) => {
      const v = value(row);
      return isMissing(v) ? null : (0 - (v as number)) | 0;
    }
    : type === "long"
    ? (row) => {
      const v = value(row);
      return isMissing(v) ? null : negateLong(v as LongValue);
    }
    : (row) => {
      const v = value(row);
      return isMissing(v) ? null : -(v as number);
    };
  return {
    evaluate,
    type,
    nullable: operand.nullable || !isNumeric(operand.type),
  };
}

function compileNot(operand: Compiled, text: string): CompiledValue {
  return { evaluate: negate(asBoolean(operand, text)), type: "boolean", nullable: operand.nullable };
}

/** Three-valued AND / OR: false AND null is false, true OR null is true, otherwise null taints the result. */
function compileLogic(op: "and" | "or", left: Compiled, right: Compiled, text: string): CompiledValue {
  const l = asBoolean(left, text);
  const r = asBoolean(right, text);
  const decisive = op === "or";
  const evaluate: Evaluator = (row) => {
    const a = l(row);
    if (a === decisive) return decisive;
    const b = r(row);
    if (b === decisive) return decisive;
    if (isMissing(a) || isMissing(b)) return null;
    return !decisive;
  };
  return { evaluate, type: "boolean", nullable: left.nullable || right.nullable };
}

function requireString(arg: Compiled, text: string): void {
  if (arg.type === "string" || arg.type === "null" || arg.type === "any") return;
  throw new AnalysisError(
    `'${text}' needs a string but ${arg.name} is ${arg.type}. Cast it first, e.g. cast(${arg.name} as string)`,
  );
}

/** LIKE / RLIKE: a literal pattern (the usual case) becomes one matcher now; a pattern from a column is cached. */
function compileLike(operand: Compiled, pattern: Compiled, regex: boolean, negated: boolean, text: string): CompiledValue {
  requireString(operand, text);
  requireString(pattern, text);
  const value = asString(operand, text);
  let matches: Evaluator;
  if (pattern.constant === true) {
    const literal = constantValue(pattern);
    if (isMissing(literal)) return { evaluate: alwaysNull, type: "boolean", nullable: true };
    const test = regex ? regexTest(compileRegex(literal as string, text)) : likeMatcher(literal as string);
    matches = (row) => {
      const v = value(row);
      return isMissing(v) ? null : test(v as string);
    };
  } else if (regex) {
    // A pattern from the record: compiled once per distinct pattern; an invalid one is a RecordError (a dead letter).
    const patternValue = asString(pattern, text);
    const lookup = regexCache(text);
    matches = (row) => {
      const v = value(row);
      if (isMissing(v)) return null;
      const p = patternValue(row);
      return isMissing(p) ? null : lookup(p as string).test(v as string);
    };
  } else {
    const patternValue = asString(pattern, text);
    const lookup = likeCache();
    matches = (row) => {
      const v = value(row);
      if (isMissing(v)) return null;
      const p = patternValue(row);
      return isMissing(p) ? null : lookup(p as string)(v as string);
    };
  }
  return { evaluate: negated ? negate(matches) : matches, type: "boolean", nullable: operand.nullable || pattern.nullable };
}

/** A pattern without any regex syntax is plain text found anywhere: a string search, as fast as `like '%text%'`. */
function regexTest(regex: RE2JS): (value: string) => boolean {
  const source = regex.pattern();
  if (source !== "" && !/[\\^$.|?*+()[\]{}]/.test(source)) return (value) => value.includes(source);
  return (value) => regex.test(value);
}

/** CASE [x] WHEN ... THEN ... [ELSE ...] END: `CASE x WHEN v` is `CASE WHEN x = v`; no ELSE means null. */
function compileCase(expr: Extract<Expr, { kind: "case" }>, scope: Scope, text: string): CompiledValue {
  const operand = expr.operand;
  const conditions = expr.branches.map((branch) => {
    const when: Expr = operand === undefined ? branch.when : { kind: "binary", op: "=", left: operand, right: branch.when };
    return asBoolean(compileNode(when, scope), text);
  });
  const results = expr.branches.map((branch) => compileNode(branch.then, scope));
  const otherwise = compileNode(expr.otherwise ?? { kind: "literal", value: null, type: "null" }, scope);
  const type = commonType([...results, otherwise], text);
  const values = results.map((result) => coerceTo(result, type, text));
  const fallback = coerceTo(otherwise, type, text);
  const evaluate: Evaluator = (row) => {
    for (let index = 0; index < conditions.length; index++) {
      if ((conditions[index] as Evaluator)(row) === true) return (values[index] as Evaluator)(row);
    }
    return fallback(row);
  };
  return { evaluate, type, nullable: otherwise.nullable || results.some((result) => result.nullable) };
}

function compileCast(operand: Compiled, to: Compiled["type"], text: string): CompiledValue {
  if (operand.type === "null") return { evaluate: alwaysNull, type: to, nullable: true };
  if (operand.type === to) return { evaluate: operand.evaluate, type: to, nullable: operand.nullable };
  if (castConverter(operand.type, to) === undefined) {
    throw new AnalysisError(`Cannot cast ${operand.name} from ${operand.type} to ${sqlTypeName(to)} in '${text}'`);
  }
  const lossless = (isIntegral(operand.type) && to === "double") || (operand.type === "int" && to === "long") || to === "string";
  return { evaluate: coerceTo(operand, to, text), type: to, nullable: operand.nullable || !lossless };
}

/**
 * `cast(x as decimal(p, s))`: Spark's value of the decimal, as a double: x rounded HALF_UP to s places (on its decimal
 * text, as Spark's Decimal of a double), null when it needs more than p - s digits before the point (non-ANSI overflow).
 */
function compileDecimalCast(operand: Compiled, decimal: DecimalType, text: string): CompiledValue {
  const asDouble = compileCast(operand, "double", text);
  const evaluate = asDouble.evaluate;
  const limit = 10 ** (decimal.precision - decimal.scale);
  const { scale } = decimal;
  return {
    evaluate: (row) => {
      const value = evaluate(row);
      if (value === null || value === undefined) return null;
      const rounded = roundHalfUp(value as number, scale);
      return Number.isFinite(rounded) && Math.abs(rounded) < limit ? rounded : null;
    },
    type: "double",
    nullable: true,
  };
}

function compileCall(expr: Extract<Expr, { kind: "call" }>, scope: Scope, text: string): CompiledValue {
  if (AGGREGATE_FUNCTIONS.has(expr.name)) {
    const place = scope.context === undefined ? "here" : `in ${scope.context}`;
    throw new AnalysisError(`Aggregate function '${text}' is not allowed ${place}; use groupBy(...).agg(...)`);
  }
  if (expr.name === GET_FIELD) return compileGetField(expr, scope, text);
  if (expr.name === INTERVAL) throw new AnalysisError(`An interval literal (${text}) can only be added to or subtracted from a timestamp${where(scope)}, e.g. t + interval 1 hour`);
  if (GENERATORS.has(expr.name)) {
    throw new AnalysisError(`Generator '${text}' is only allowed at the top of select() or withColumn(), as in Spark`);
  }
  const fn = SCALAR_FUNCTIONS.get(expr.name);
  if (fn === undefined) {
    const known = [...SCALAR_FUNCTIONS.keys(), ...AGGREGATE_FUNCTIONS].sort();
    const suggestion = closestName(expr.name, known);
    const hint = suggestion === undefined ? ` Known functions: ${known.join(", ")}` : ` Did you mean '${suggestion}'?`;
    throw new AnalysisError(`Undefined function '${expr.name}'.${hint}`);
  }
  if (expr.distinct) throw new AnalysisError(`DISTINCT is only allowed in aggregate functions, not in '${text}'`);
  const count = expr.args.length;
  if (count < fn.minArgs || count > fn.maxArgs) {
    throw new AnalysisError(
      `Function '${expr.name}' takes ${describeArity(fn.minArgs, fn.maxArgs)} but ${count} ${count === 1 ? "was" : "were"} given in '${text}'`,
    );
  }
  const args = expr.args.map((arg) => compileNode(arg, scope));
  return fn.compile(args, { name: expr.name, text, args: expr.args });
}

/** Column.getField(name): the struct field named by the string literal in the second argument. */
function compileGetField(expr: Extract<Expr, { kind: "call" }>, scope: Scope, text: string): CompiledValue {
  const [structExpr, nameExpr] = expr.args;
  if (structExpr === undefined || nameExpr?.kind !== "literal" || typeof nameExpr.value !== "string") {
    throw new AnalysisError(`'${text}' needs a struct and a field name`);
  }
  return extractField(compileNode(structExpr, scope), nameExpr.value, scope.context);
}

function describeArity(min: number, max: number): string {
  const plural = (n: number): string => `${n} argument${n === 1 ? "" : "s"}`;
  if (min === max) return plural(min);
  if (max === Number.POSITIVE_INFINITY) return `at least ${plural(min)}`;
  if (max === min + 1) return `${min} or ${plural(max)}`;
  return `${min} to ${plural(max)}`;
}
