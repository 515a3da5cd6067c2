// The shape of a compiled expression: a per-row closure plus what the analyzer knows about its result.
import { RillError } from "../core/errors.ts";
import type { DataType, NestedType, Row } from "../core/types.ts";
import type { Expr } from "./ast.ts";

/** Reads one row and returns the expression's value; SQL NULL is `null`. */
export type Evaluator = (row: Row) => unknown;

export interface CompiledExpr extends NestedType {
  readonly evaluate: Evaluator;
  readonly type: DataType;
  readonly nullable: boolean;
  /** Spark's name for the result column (the alias when there is one). */
  readonly name: string;
}

/** Internal view: a literal is marked constant so conversions of it can happen once, at compile time. */
export interface Compiled extends CompiledExpr {
  readonly constant?: boolean;
}

/** What a function or operator compiler returns; the caller adds the name. */
export interface CompiledValue extends NestedType {
  readonly evaluate: Evaluator;
  readonly type: DataType;
  readonly nullable: boolean;
}

const EMPTY_ROW: Row = Object.freeze({});

/** The value of a constant expression, computed once at compile time. */
export function constantValue(compiled: Compiled): unknown {
  return compiled.evaluate(EMPTY_ROW);
}

export function alwaysNull(): null {
  return null;
}

/** SQL NULL: `null`, or `undefined` for a field missing from a row. */
export function isMissing(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

/** The argument at `index`, which the arity check has already guaranteed. */
export function argumentAt(args: readonly Compiled[], index: number): Compiled {
  const arg = args[index];
  if (arg === undefined) throw new RillError("INTERNAL", "internal", `Argument ${index} missing after the arity check`);
  return arg;
}

/** Where a function is called: its name, Spark's text for the call (for errors) and the argument expressions. */
export interface CallSite {
  readonly name: string;
  readonly text: string;
  /** The argument trees, for functions that need a literal argument (round's scale). */
  readonly args: readonly Expr[];
}

/** One entry of the scalar function table: arity, then a compiler that type-checks and builds the row closure. */
export interface ScalarFunction {
  readonly minArgs: number;
  readonly maxArgs: number;
  readonly compile: (args: readonly Compiled[], site: CallSite) => CompiledValue;
}
