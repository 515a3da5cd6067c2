// Analysis of join(other, on, how) with a static side: Spark's support matrix, the output columns (USING keys first,
// then the left's, then the right's), and the condition split into hashable equalities and the rest.
import { ROW_KEY } from "../actors/sink-actor.ts";
import { AnalysisError } from "../core/errors.ts";
import { findField, isNumeric, type Field, type Row, type Schema } from "../core/types.ts";
import type { Expr } from "../expr/ast.ts";
import { compileExpression, expressionName } from "../expr/compile.ts";
import { compilePairCondition, type FieldOrigin } from "./join-condition.ts";
import { keyOfColumns, StaticTable, type KeyOf } from "../operators/join-static-table.ts";
import { StaticJoinOperator, type StaticJoinSpec } from "../operators/join-static.ts";
import { staticJoinPositional } from "./join-static-positional.ts";
import type { JoinNode, JoinType } from "./logical.ts";
import type { Analysis } from "./steps.ts";

/** What the analyzer knows about each side besides the probe side's analysis. */
export interface JoinSides {
  /** The stream (or, both sides static, the left) side: its rows go through the operator. */
  readonly probe: Analysis;
  /** The probe side reads a stream. */
  readonly probeStreaming: boolean;
  /** Refuse the join types Spark refuses for a stream-static join (default; false when only the schema is wanted). */
  readonly checkSupport?: boolean;
  readonly leftAlias: string | undefined;
  readonly rightAlias: string | undefined;
}

/** Spark's UnsupportedOperationChecker for a stream on one side and a static DataFrame on the other. */
function checkSupported(joinType: JoinType, staticSide: "left" | "right"): void {
  const streamSide = staticSide === "left" ? "right" : "left";
  const refused: Partial<Record<JoinType, string>> = staticSide === "right"
    ? {
        right_outer: "Right outer join with a streaming DataFrame/Dataset on the left and a static DataFrame/Dataset on the right is not supported",
        full_outer: "Full outer joins with a streaming DataFrame/Dataset on the left and a static DataFrame/Dataset on the right are not supported",
      }
    : {
        left_outer: "Left outer join with a streaming DataFrame/Dataset on the right and a static DataFrame/Dataset on the left is not supported",
        full_outer: "Full outer joins with a streaming DataFrame/Dataset on the right and a static DataFrame/Dataset on the left are not supported",
        left_semi: "Left semi joins with a streaming DataFrame/Dataset on the right and a static DataFrame/Dataset on the left are not supported",
        left_anti: "Left anti joins with a streaming DataFrame/Dataset on the right and a static DataFrame/Dataset on the left are not supported",
      };
  const message = refused[joinType];
  if (message === undefined) return;
  throw new AnalysisError(`${message} (join type ${joinType}): the static side's unmatched rows would have to be emitted, but a row of the stream that matches one can come at any time, so no unmatched static row is ever final. Put the stream on the ${streamSide === "left" ? "left" : "right"} of a ${staticSide === "right" ? "left outer, inner, left semi or left anti" : "right outer or inner"} join instead.`);
}

/** A right-side column named like a left one is renamed `<name>_right` (Rill's rows cannot hold two columns of one name). */
export function rightNames(left: readonly Field[], right: readonly Field[], skip: ReadonlySet<string>): Map<string, string> {
  const taken = new Set(left.map((field) => field.name.toLowerCase()));
  const names = new Map<string, string>();
  for (const field of right) {
    if (skip.has(field.name)) continue;
    let name = field.name;
    for (let attempt = 1; taken.has(name.toLowerCase()); attempt++) name = `${field.name}_right${attempt === 1 ? "" : attempt}`;
    taken.add(name.toLowerCase());
    names.set(field.name, name);
  }
  return names;
}

/** What resolveJoin finds: output columns, the condition beyond USING keys, and the equalities (key columns per side). */
export interface ResolvedJoin {
  readonly columns: OutputColumn[];
  readonly condition: ((left: Row, right: Row) => boolean) | undefined;
  readonly leftKey: KeyOf | undefined;
  readonly rightKey: KeyOf | undefined;
  readonly leftKeyColumns: readonly string[];
  readonly rightKeyColumns: readonly string[];
  /** `join([...], "type")` or `join(condition, "type")`, for messages. */
  readonly operation: string;
  /** The condition's expression, the merged schema it was checked against and where each field comes from (the positional form compiles it again). */
  readonly conditionSource?: ConditionSource;
}

export interface ConditionSource {
  readonly expr: Expr;
  readonly merged: Schema;
  readonly origins: ReadonlyMap<Field, FieldOrigin>;
}

export interface OutputColumn {
  readonly field: Field;
  /** A plain column of one side (read by name), or a key column (read by `read`). */
  readonly side: "left" | "right" | "key";
  readonly input: string;
  readonly read: (left: Row | null, right: Row | null) => unknown;
}

export function analyzeStaticJoin(node: JoinNode, sides: JoinSides): Analysis {
  const staticInput = node.static;
  if (staticInput === undefined) {
    throw new AnalysisError(`Stream-stream joins (join type ${node.joinType}) are not supported by Rill yet: one side of join() must be a static DataFrame (session.read...). Join a stream with a static DataFrame, or union the streams and aggregate.`);
  }
  if (sides.probeStreaming && sides.checkSupport !== false) checkSupported(node.joinType, staticInput.side);
  const { probe } = sides;
  const staticSchema = staticInput.input.schema();
  const staticIsRight = staticInput.side === "right";
  const left: Schema = staticIsRight ? probe.schema : staticSchema;
  const right: Schema = staticIsRight ? staticSchema : probe.schema;
  const joinType = node.joinType;
  const padLeft = joinType === "right_outer" || joinType === "full_outer";
  const padRight = joinType === "left_outer" || joinType === "full_outer";
  const resolved = resolveJoin(node, left, right, sides);
  const { columns, condition, leftKey, rightKey } = resolved;
  const output = rowBuilder(columns);
  const table = new StaticTable(staticInput.input.describe, staticInput.input.load, staticIsRight ? rightKey : leftKey, staticInput.input.refreshIntervalMs);
  const probeIsLeft = staticIsRight;
  const preserveProbe = probeIsLeft ? padRight : padLeft;
  const spec: StaticJoinSpec = {
    table,
    probeKey: probeIsLeft ? leftKey : rightKey,
    condition: condition && (probeIsLeft ? condition : (probeRow, other) => (condition as (l: Row, r: Row) => boolean)(other, probeRow)),
    mode: joinType === "left_semi" ? "semi" : joinType === "left_anti" ? "anti" : preserveProbe ? "outer" : "inner",
    output: probeIsLeft ? output : (probeRow, other) => output(other, probeRow),
    unmatchedStatic: probeIsLeft ? padLeft : padRight,
    keyColumn: probe.keyed ? ROW_KEY : undefined,
  };
  // By position (src/plan/join-static-positional.ts): not after an aggregation (its rows carry ROW_KEY, which each match
  // extends) nor with static rows to emit at the end of a bounded input.
  const positional = probe.keyed || spec.unmatchedStatic ? undefined : staticJoinPositional({ resolved, joinType, left, right, probeIsLeft, mode: spec.mode, table });
  const fields = columns.map((column) => column.field);
  const eventTime = probe.eventTime && fields.some((field) => field.name === probe.eventTime?.column && field.type === "timestamp") ? probe.eventTime : undefined;
  const detail = `${joinType} with ${staticInput.input.describe} (static ${staticInput.side}${staticInput.input.refreshIntervalMs === undefined ? "" : `, reloaded every ${staticInput.input.refreshIntervalMs} ms`})`;
  return {
    ...probe,
    steps: [...probe.steps, { kind: "stateless", name: "join", detail, create: (id) => new StaticJoinOperator(id, spec), ...(positional ? { positional } : {}) }],
    schema: { fields },
    eventTime,
    staticTables: [...(probe.staticTables ?? []), table],
  };
}

/** The output columns of join(other, on, how) over two schemas, the condition, and the equalities to hash on. */
export function resolveJoin(node: JoinNode, left: Schema, right: Schema, sides: Pick<JoinSides, "leftAlias" | "rightAlias">): ResolvedJoin {
  const joinType = node.joinType;
  const padLeft = joinType === "right_outer" || joinType === "full_outer";
  const padRight = joinType === "left_outer" || joinType === "full_outer";
  const existence = joinType === "left_semi" || joinType === "left_anti";
  const pad = (field: Field, padded: boolean): Field => (padded ? { ...field, nullable: true } : field);
  const columns: OutputColumn[] = [];
  let leftKey: KeyOf | undefined;
  let rightKey: KeyOf | undefined;
  let leftKeyColumns: string[] = [];
  let rightKeyColumns: string[] = [];
  let condition: ((left: Row, right: Row) => boolean) | undefined;
  let conditionSource: ConditionSource | undefined;
  const operation = `join(${node.on.kind === "using" ? `[${node.on.columns.join(", ")}]` : node.on.kind === "expression" ? expressionName(node.on.condition) : ""}, "${joinType}")`;
  if (node.on.kind === "using") {
    const keys = node.on.columns.map((name) => usingKey(name, left, right, operation));
    const leftNames = new Set(keys.map((key) => key.left.name));
    const rightKeyNames = new Set(keys.map((key) => key.right.name));
    for (const key of keys) {
      const from = joinType === "right_outer" ? key.right : key.left;
      const type = key.left.type === key.right.type ? key.left.type : "double";
      const leftName = key.left.name;
      const rightName = key.right.name;
      columns.push({ field: { ...from, type, nullable: joinType === "full_outer" ? true : from.nullable }, side: "key", input: leftName, read: (l, r) => (l !== null && joinType !== "right_outer" ? l[leftName] : (r as Row)[rightName]) });
    }
    for (const field of left.fields) if (!leftNames.has(field.name)) columns.push(leftColumn(pad(field, padLeft)));
    if (!existence) {
      const renamed = rightNames(columns.map((column) => column.field), right.fields, rightKeyNames);
      for (const field of right.fields) if (!rightKeyNames.has(field.name)) columns.push(rightColumn(pad(field, padRight), renamed.get(field.name) as string));
    }
    leftKeyColumns = keys.map((key) => key.left.name);
    rightKeyColumns = keys.map((key) => key.right.name);
    leftKey = keyOfColumns(leftKeyColumns);
    rightKey = keyOfColumns(rightKeyColumns);
  } else {
    for (const field of left.fields) columns.push(leftColumn(pad(field, padLeft)));
    const renamed = rightNames(left.fields, right.fields, new Set());
    if (!existence) for (const field of right.fields) columns.push(rightColumn(pad(field, padRight), renamed.get(field.name) as string));
    if (node.on.kind === "expression") {
      const compiled = compileCondition(node.on.condition, left, right, renamed, sides, operation);
      condition = compiled.condition;
      leftKey = compiled.leftKey;
      rightKey = compiled.rightKey;
      leftKeyColumns = compiled.leftKeys;
      rightKeyColumns = compiled.rightKeys;
      conditionSource = compiled.source;
    }
  }
  return { columns, condition, leftKey, rightKey, leftKeyColumns, rightKeyColumns, operation, ...(conditionSource ? { conditionSource } : {}) };
}

/** Builds output rows from plain arrays (names, side, input name): one loop, no closure per column. */
export function rowBuilder(columns: readonly OutputColumn[]): (l: Row | null, r: Row | null) => Row {
  const names = columns.map((column) => column.field.name);
  const sides = columns.map((column) => column.side);
  const inputs = columns.map((column) => column.input);
  const reads = columns.map((column) => column.read);
  const count = columns.length;
  return (l, r) => {
    const row: Row = {};
    for (let index = 0; index < count; index++) {
      const side = sides[index];
      const input = inputs[index] as string;
      if (side === "left") row[names[index] as string] = l === null ? null : (l[input] ?? null);
      else if (side === "right") row[names[index] as string] = r === null ? null : (r[input] ?? null);
      else row[names[index] as string] = (reads[index] as OutputColumn["read"])(l, r);
    }
    return row;
  };
}

function leftColumn(field: Field): OutputColumn {
  const name = field.name;
  return { field, side: "left", input: name, read: (l) => (l === null ? null : (l[name] ?? null)) };
}

function rightColumn(field: Field, renamed: string): OutputColumn {
  const name = field.name;
  return { field: { ...field, name: renamed }, side: "right", input: name, read: (_l, r) => (r === null ? null : (r[name] ?? null)) };
}

function usingKey(name: string, left: Schema, right: Schema, operation: string): { left: Field; right: Field } {
  const l = findField(left, name);
  if (!l) throw new AnalysisError(`USING column '${name}' cannot be resolved on the left side of the ${operation}. The left side's columns: ${left.fields.map((field) => field.name).join(", ")}.`);
  const r = findField(right, name);
  if (!r) throw new AnalysisError(`USING column '${name}' cannot be resolved on the right side of the ${operation}. The right side's columns: ${right.fields.map((field) => field.name).join(", ")}.`);
  if (l.type !== r.type && !(isNumeric(l.type) && isNumeric(r.type)) && l.type !== "any" && r.type !== "any") {
    throw new AnalysisError(`The join key '${name}' of ${operation} is ${l.type} on the left and ${r.type} on the right; cast one side so that both have the same type.`);
  }
  return { left: l, right: r };
}

type Side = "left" | "right";

/** Which side a column reference of the condition names: `alias.column`, or a column only one side has. */
export function sideOf(name: string, left: Schema, right: Schema, sides: Pick<JoinSides, "leftAlias" | "rightAlias">, operation: string): { side: Side; column: string } | undefined {
  const dot = name.indexOf(".");
  if (dot > 0) {
    const qualifier = name.slice(0, dot).toLowerCase();
    const column = name.slice(dot + 1);
    if (qualifier === sides.leftAlias?.toLowerCase() && findField(left, column)) return { side: "left", column: (findField(left, column) as Field).name };
    if (qualifier === sides.rightAlias?.toLowerCase() && findField(right, column)) return { side: "right", column: (findField(right, column) as Field).name };
  }
  const inLeft = findField(left, name);
  const inRight = findField(right, name);
  if (inLeft && inRight) {
    throw new AnalysisError(`Reference '${name}' is ambiguous in the condition of ${operation}: both sides have it. Name the DataFrames with alias() and qualify the column, e.g. stream.alias("s").join(static.alias("t"), expr("s.${name} = t.${name}")), or join on a list of names.`);
  }
  if (inLeft) return { side: "left", column: inLeft.name };
  if (inRight) return { side: "right", column: inRight.name };
  return undefined;
}

function columnsOf(expr: unknown, out: string[]): string[] {
  if (typeof expr !== "object" || expr === null) return out;
  if (Array.isArray(expr)) {
    for (const item of expr) columnsOf(item, out);
    return out;
  }
  const node = expr as { kind?: string; name?: string };
  if (node.kind === "column" && typeof node.name === "string") out.push(node.name);
  for (const value of Object.values(expr)) columnsOf(value, out);
  return out;
}

export function conjuncts(expr: Expr): Expr[] {
  return expr.kind === "binary" && expr.op === "and" ? [...conjuncts(expr.left), ...conjuncts(expr.right)] : [expr];
}

/**
 * The condition over a row of both sides (right columns as renamed, each alias a struct of its side), and the equalities
 * `left column = right column` among its conjuncts, which become hash keys.
 */
function compileCondition(expr: Expr, left: Schema, right: Schema, renamed: ReadonlyMap<string, string>, sides: Pick<JoinSides, "leftAlias" | "rightAlias">, operation: string) {
  for (const name of columnsOf(expr, [])) {
    if (!sideOf(name, left, right, sides, operation) && !/^[^.]+\./.test(name)) {
      throw new AnalysisError(`Column '${name}' of the condition of ${operation} exists on neither side. Left: ${left.fields.map((field) => field.name).join(", ")}; right: ${right.fields.map((field) => field.name).join(", ")}.`);
    }
  }
  const leftKeys: string[] = [];
  const rightKeys: string[] = [];
  for (const part of conjuncts(expr)) {
    if (part.kind !== "binary" || part.op !== "=" || part.left.kind !== "column" || part.right.kind !== "column") continue;
    const a = sideOf(part.left.name, left, right, sides, operation);
    const b = sideOf(part.right.name, left, right, sides, operation);
    if (!a || !b || a.side === b.side) continue;
    const [l, r] = a.side === "left" ? [a, b] : [b, a];
    const lType = findField(left, l.column)?.type;
    const rType = findField(right, r.column)?.type;
    if (lType !== rType && !(lType && rType && isNumeric(lType) && isNumeric(rType))) continue;
    leftKeys.push(l.column);
    rightKeys.push(r.column);
  }
  const structs: Field[] = [];
  if (sides.leftAlias) structs.push({ name: sides.leftAlias, type: "struct", nullable: false, fields: left.fields });
  if (sides.rightAlias) structs.push({ name: sides.rightAlias, type: "struct", nullable: false, fields: right.fields });
  const combined: Schema = { fields: [...left.fields, ...right.fields.map((field) => ({ ...field, name: renamed.get(field.name) as string })), ...structs] };
  const compiled = compileExpression(expr, combined, operation);
  if (compiled.type !== "boolean" && compiled.type !== "null" && compiled.type !== "any") throw new AnalysisError(`The condition of ${operation} has type ${compiled.type}, but must be boolean.`);
  const origins = new Map<Field, FieldOrigin>();
  combined.fields.forEach((field, index) => {
    if (index < left.fields.length) origins.set(field, { side: "left", column: field.name });
    else if (index < left.fields.length + right.fields.length) origins.set(field, { side: "right", column: (right.fields[index - left.fields.length] as Field).name });
    else origins.set(field, { side: sides.leftAlias !== undefined && index === left.fields.length + right.fields.length ? "left" : "right", column: undefined });
  });
  const keyed = leftKeys.length > 0;
  const keys = { leftKey: keyed ? keyOfColumns(leftKeys) : undefined, rightKey: keyed ? keyOfColumns(rightKeys) : undefined, leftKeys, rightKeys };
  // The two rows read in place; the merged row only when a reference cannot be mapped to one side.
  const pairCondition = compilePairCondition(expr, combined, origins, left, right, operation);
  if (pairCondition) return { condition: pairCondition, ...keys, source: { expr, merged: combined, origins } };
  const leftAlias = sides.leftAlias;
  const rightAlias = sides.rightAlias;
  const pairs = [...renamed];
  const condition = (l: Row, r: Row): boolean => {
    const row: Row = { ...l };
    for (const [from, to] of pairs) row[to] = r[from];
    if (leftAlias) row[leftAlias] = l;
    if (rightAlias) row[rightAlias] = r;
    return compiled.evaluate(row) === true;
  };
  return { condition, ...keys, source: undefined };
}
