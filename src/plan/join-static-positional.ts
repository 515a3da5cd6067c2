// The positional form of a stream-static join step: where each output field, key part and condition column sits in the
// probe row and in the static row by position, from what resolveJoin found for the named join.
import { AnalysisError } from "../core/errors.ts";
import { findField, type Field, type PositionalRow, type Schema } from "../core/types.ts";
import type { Expr } from "../expr/ast.ts";
import { compilePositional } from "../expr/compile.ts";
import { PositionalStaticJoinOperator, type PositionalJoinField, type PositionalStaticJoinSpec } from "../operators/join-static-positional.ts";
import { positionalKeyOfColumns, type StaticTable } from "../operators/join-static-table.ts";
import type { ConditionSource, ResolvedJoin } from "./join-analysis.ts";
import { getField, rewrite, type FieldOrigin } from "./join-condition.ts";
import type { JoinType } from "./logical.ts";
import type { PositionalStep } from "./steps.ts";

export interface StaticJoinShape {
  readonly resolved: ResolvedJoin;
  readonly joinType: JoinType;
  readonly left: Schema;
  readonly right: Schema;
  readonly probeIsLeft: boolean;
  readonly mode: PositionalStaticJoinSpec["mode"];
  readonly table: StaticTable;
}

/**
 * The join step over rows by position, or undefined where it keeps only its named form: a condition that reads a
 * merged row (compilePairCondition could not map a reference to one side), or one the positional compiler refuses.
 */
export function staticJoinPositional(shape: StaticJoinShape): PositionalStep | undefined {
  const { resolved, joinType, left, right, probeIsLeft, mode, table } = shape;
  const probe = probeIsLeft ? left : right;
  const other = probeIsLeft ? right : left;
  const probeColumns = probe.fields.map((field) => field.name);
  const staticColumns = other.fields.map((field) => field.name);
  const place = (columns: readonly string[], name: string): number => {
    const index = columns.indexOf(name);
    if (index < 0) throw new Error(`internal: the join reads ${name}, which [${columns.join(", ")}] does not have`);
    return index;
  };
  const probeKeyColumns = probeIsLeft ? resolved.leftKeyColumns : resolved.rightKeyColumns;
  let condition: PositionalStaticJoinSpec["condition"];
  if (resolved.condition !== undefined) {
    if (resolved.conditionSource === undefined) return undefined;
    const pair = compilePositionalPair(resolved.conditionSource, left, right, resolved.operation);
    if (pair === undefined) return undefined;
    condition = probeIsLeft ? pair : (probeRow, otherRow) => pair(otherRow, probeRow);
  }
  let keyIndex = 0;
  const output = resolved.columns.map((column): PositionalJoinField => {
    if (column.side === "key") {
      const leftName = resolved.leftKeyColumns[keyIndex] as string;
      const rightName = resolved.rightKeyColumns[keyIndex++] as string;
      // The named row builder reads the left's key unless the join is right outer (or the left row is absent).
      return {
        from: "key",
        probeIndex: place(probeColumns, probeIsLeft ? leftName : rightName),
        staticIndex: place(staticColumns, probeIsLeft ? rightName : leftName),
        staticFirst: !probeIsLeft && joinType !== "right_outer",
      };
    }
    const fromProbe = (column.side === "left") === probeIsLeft;
    return { from: fromProbe ? "probe" : "static", index: place(fromProbe ? probeColumns : staticColumns, column.input) };
  });
  const spec: PositionalStaticJoinSpec = {
    table,
    staticColumns,
    probeKey: probeKeyColumns.length === 0 ? undefined : positionalKeyOfColumns(probeKeyColumns.map((name) => place(probeColumns, name))),
    condition,
    mode,
    output,
  };
  return {
    inputColumns: probeColumns,
    outputColumns: resolved.columns.map((column) => column.field.name),
    create: (id) => new PositionalStaticJoinOperator(id, spec),
  };
}

/**
 * The condition over (left, right) by position: each column reference becomes a slot holding one side's field, and
 * the expression is compiled by position over the slots; a pair fills its slots and is evaluated (a few indexed
 * copies, not a merged row). References resolve as compilePairCondition resolves them; undefined where one cannot.
 */
function compilePositionalPair(source: ConditionSource, left: Schema, right: Schema, context: string): ((l: PositionalRow, r: PositionalRow) => boolean) | undefined {
  const slots: Array<{ readonly left: boolean; readonly index: number; readonly field: Field }> = [];
  const slotOf = (side: "left" | "right", column: string): Expr | undefined => {
    const schema = side === "left" ? left : right;
    const index = schema.fields.findIndex((field) => field.name === column);
    if (index < 0) return undefined;
    let slot = slots.findIndex((candidate) => candidate.left === (side === "left") && candidate.index === index);
    if (slot < 0) slot = slots.push({ left: side === "left", index, field: schema.fields[index] as Field }) - 1;
    return { kind: "column", name: slotName(slot) };
  };
  const read = (origin: FieldOrigin | undefined, rest: readonly string[]): Expr | undefined => {
    if (origin === undefined) return undefined;
    let column = origin.column;
    let parts = rest;
    if (column === undefined) {
      // An alias: its first part names a column of that side; the alias alone (a whole row as a struct) keeps the named form.
      const field = parts[0] === undefined ? undefined : findField(origin.side === "left" ? left : right, parts[0]);
      if (field === undefined) return undefined;
      column = field.name;
      parts = parts.slice(1);
    }
    let current = slotOf(origin.side, column);
    for (const part of parts) current = current && getField(current, part);
    return current;
  };
  const reference = (name: string): Expr | undefined => {
    const whole = findField(source.merged, name);
    if (whole) return read(source.origins.get(whole), []);
    const parts = name.split(".");
    for (let split = parts.length - 1; split >= 1; split--) {
      const field = findField(source.merged, parts.slice(0, split).join("."));
      if (field) return read(source.origins.get(field), parts.slice(split));
    }
    return undefined;
  };
  const rewritten = rewrite(source.expr, reference);
  if (rewritten === undefined) return undefined;
  let evaluate: (row: PositionalRow) => unknown;
  try {
    evaluate = compilePositional(rewritten, { fields: slots.map((slot, index) => ({ ...slot.field, name: slotName(index) })) }, context).evaluate;
  } catch (error) {
    // The condition compiled named already; a rewrite the compiler reads differently keeps the named form.
    if (error instanceof AnalysisError) return undefined;
    throw error;
  }
  const count = slots.length;
  const sides = slots.map((slot) => slot.left);
  const indexes = slots.map((slot) => slot.index);
  // One row of slots for the condition's life: filled and read within one synchronous call.
  const row: PositionalRow = slots.map(() => null);
  return (l, r) => {
    for (let slot = 0; slot < count; slot++) {
      const value = (sides[slot] ? l : r)[indexes[slot] as number];
      row[slot] = value === undefined ? null : value;
    }
    return evaluate(row) === true;
  };
}

function slotName(slot: number): string {
  return `__rill_slot_${slot}`;
}
