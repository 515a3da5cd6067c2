// A join condition evaluated on the two rows as they are: each column reference reads its side's row through one reused
// pair object, instead of a merged row copied for every candidate pair (the join's hot loop).
import type { Expr } from "../expr/ast.ts";
import { GET_FIELD } from "../expr/ast.ts";
import { compileExpression } from "../expr/compile.ts";
import { AnalysisError } from "../core/errors.ts";
import { findField, type Field, type Row, type Schema } from "../core/types.ts";

/** Where a field of the merged schema comes from: a column of one side, or a side's whole row (its alias). */
export type FieldOrigin = { readonly side: "left" | "right"; readonly column: string | undefined };

const LEFT = "__rill_pair_left";
const RIGHT = "__rill_pair_right";

/**
 * The condition over (left, right), compiled against a schema of two structs, one per side, after each column reference
 * of `expr` is rewritten to read its side's struct. `merged` is the schema the condition was checked against (left
 * columns, renamed right columns, alias structs) and `origins` says where each of its fields comes from; a reference is
 * resolved against it exactly as the expression compiler would (the whole name, else the longest prefix and struct
 * fields). Undefined when a reference cannot be mapped, so the caller keeps the merged row.
 */
export function compilePairCondition(expr: Expr, merged: Schema, origins: ReadonlyMap<Field, FieldOrigin>, left: Schema, right: Schema, context: string): ((l: Row, r: Row) => boolean) | undefined {
  const reference = (name: string): Expr | undefined => {
    const whole = findField(merged, name);
    if (whole) return read(origins.get(whole));
    const parts = name.split(".");
    for (let split = parts.length - 1; split >= 1; split--) {
      const field = findField(merged, parts.slice(0, split).join("."));
      if (!field) continue;
      let current = read(origins.get(field));
      for (const part of parts.slice(split)) current = current && getField(current, part);
      return current;
    }
    return undefined;
  };
  const rewritten = rewrite(expr, reference);
  if (rewritten === undefined) return undefined;
  const pairSchema: Schema = { fields: [{ name: LEFT, type: "struct", nullable: false, fields: left.fields }, { name: RIGHT, type: "struct", nullable: false, fields: right.fields }] };
  let evaluate: (row: Row) => unknown;
  try {
    evaluate = compileExpression(rewritten, pairSchema, context).evaluate;
  } catch (error) {
    // The condition compiled against the merged row already; a rewrite the compiler reads differently keeps that row.
    if (error instanceof AnalysisError) return undefined;
    throw error;
  }
  // One pair for the condition's life: it is filled, read and emptied within one synchronous call.
  const pair: Record<string, Row | null> = { [LEFT]: null, [RIGHT]: null };
  return (l, r) => {
    pair[LEFT] = l;
    pair[RIGHT] = r;
    const result = evaluate(pair as Row) === true;
    pair[LEFT] = null;
    pair[RIGHT] = null;
    return result;
  };
}

function read(origin: FieldOrigin | undefined): Expr | undefined {
  if (!origin) return undefined;
  const side: Expr = { kind: "column", name: origin.side === "left" ? LEFT : RIGHT };
  return origin.column === undefined ? side : getField(side, origin.column);
}

export function getField(struct: Expr, name: string): Expr {
  return { kind: "call", name: GET_FIELD, args: [struct, { kind: "literal", value: name, type: "string" }], distinct: false };
}

/** A copy of the tree with each column reference replaced; undefined when one has no replacement. */
export function rewrite(node: Expr, reference: (name: string) => Expr | undefined): Expr | undefined {
  let failed = false;
  const visit = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(visit);
    if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value;
    const object = value as { kind?: unknown; name?: unknown };
    if (object.kind === "literal") return value;
    if (object.kind === "column" && typeof object.name === "string") {
      const replaced = reference(object.name);
      if (replaced === undefined) failed = true;
      return replaced ?? value;
    }
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, visit(child)]));
  };
  const result = visit(node) as Expr;
  return failed ? undefined : result;
}
