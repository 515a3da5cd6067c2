// Analysis of a join of two streams: Spark's rules (UnsupportedOperationChecker, StreamingJoinHelper), the join key both
// inputs hash on, and how long each side's buffered rows live (join-stream-eviction.ts). Each input keeps its own
// sources and steps and tags its rows with its side and join key; they meet in the join's stage, as a union's do.
import { AnalysisError } from "../core/errors.ts";
import { escapeKeyPart } from "../core/keys.ts";
import { jsonWithLongs } from "../core/long.ts";
import { findField, type Field, type PositionalRow, type Row, type Schema } from "../core/types.ts";
import { expressionName } from "../expr/names.ts";
import { rangeExpiry, type Expiry, type TimeRange } from "../operators/join-stream-eviction.ts";
import { JOIN_KEY, JOIN_SIDE, StreamJoinOperator, type StreamJoinSideSpec, type StreamJoinSpec } from "../operators/join-stream.ts";
import { PositionalJoinTagOperator } from "../operators/join-stream-tag-positional.ts";
import { MapOperator } from "../operators/map.ts";
import { conjuncts, resolveJoin, rowBuilder, sideOf } from "./join-analysis.ts";
import { timeRangeOf } from "./join-time-range.ts";
import type { JoinNode, JoinType } from "./logical.ts";
import { hasWatermark, type Analysis, type AnalysisOptions, type Branch, type PositionalStep, type Step } from "./steps.ts";

/** Spark's names of the join types, as its messages print them. */
const SPARK_NAMES: Record<JoinType, string> = { inner: "Inner", left_outer: "LeftOuter", right_outer: "RightOuter", full_outer: "FullOuter", left_semi: "LeftSemi", left_anti: "LeftAnti", cross: "Cross" };

export interface StreamJoinSides {
  readonly leftAlias: string | undefined;
  readonly rightAlias: string | undefined;
}

export function analyzeStreamJoin(node: JoinNode, left: Analysis, right: Analysis, sides: StreamJoinSides, options: AnalysisOptions): Analysis {
  const joinType = node.joinType;
  const resolved = resolveJoin(node, left.schema, right.schema, sides);
  const what = `the stream-stream ${resolved.operation}`;
  refuseStatefulInput(left, "left", what);
  refuseStatefulInput(right, "right", what);
  // Planning a SQL statement wants only the schema: the rules wait for start(), as a stream-static join's do.
  const check = options.schemaOnly !== true;
  if (check && joinType === "left_anti") throw new AnalysisError(`Left anti joins with a streaming DataFrame/Dataset on the right are not supported (${what}): a left row is unmatched only once no right row can come, which Spark does not decide for anti joins. Use a left outer join with a watermark and a time range, then keep the rows whose right columns are null.`);
  if (check && options.outputMode !== "append") {
    throw new AnalysisError(`Join between two streaming DataFrames/Datasets is not supported in ${capitalized(options.outputMode)} output mode, only in Append output mode (${what}): a joined row is final when it is emitted. Use outputMode("append").`);
  }
  if (check && resolved.leftKeyColumns.length === 0) {
    throw new AnalysisError(`Stream-stream join without equality predicate is not supported (${what}): the rows of both streams are matched by a key. Add an equality between a column of each side, e.g. expr("l.id = r.id AND ...").`);
  }
  const leftTime = watermarkedColumn(left);
  const rightTime = watermarkedColumn(right);
  const range = node.on.kind === "expression" ? timeRangeOf(conjuncts(node.on.condition).filter((part) => part.kind !== "binary" || part.op !== "="), (name) => timeColumn(name, left.schema, right.schema, sides, resolved.operation)) : undefined;
  const keyExpiry = keyWatermark(resolved.leftKeyColumns, resolved.rightKeyColumns, left, right, leftTime, rightTime);
  const leftExpiry: Expiry = keyExpiry?.left ?? (range ? rangeExpiry("left", range, rightTime) : { kind: "never" });
  const rightExpiry: Expiry = keyExpiry?.right ?? (range ? rangeExpiry("right", range, leftTime) : { kind: "never" });
  if (check) checkOuterRequirements(joinType, keyExpiry !== undefined, leftExpiry, rightExpiry, what);

  const output = rowBuilder(resolved.columns);
  const condition = resolved.condition ?? (() => true);
  const semi = joinType === "left_semi";
  const sideSpec = (expiry: Expiry, time: string | undefined, windowKey: string | undefined, preserved: boolean): StreamJoinSideSpec => ({
    expiry,
    late: time !== undefined ? { column: time, window: false } : windowKey !== undefined ? { column: windowKey, window: true } : undefined,
    preserved,
  });
  const windowKeyOf = (analysis: Analysis, keys: readonly string[]) => (hasWatermark(analysis) ? keys.find((key) => findField(analysis.schema, key)?.type === "window") : undefined);
  const stateId = `join-${right.statefulCount}`;
  const spec: StreamJoinSpec = {
    stateId,
    left: sideSpec(leftExpiry, leftTime, windowKeyOf(left, resolved.leftKeyColumns), joinType === "left_outer" || joinType === "full_outer"),
    right: sideSpec(rightExpiry, rightTime, windowKeyOf(right, resolved.rightKeyColumns), joinType === "right_outer" || joinType === "full_outer"),
    semi,
    condition,
    output: semi ? (l) => output(l, null) : output,
  };
  const fields = resolved.columns.map((column) => column.field);
  const intervalJoin = range !== undefined && keyExpiry === undefined && (leftExpiry.kind === "range" || rightExpiry.kind === "range");
  const branches = [...branchesOf(left, tagStep(0, resolved.leftKeyColumns, left.schema)), ...branchesOf(right, tagStep(1, resolved.rightKeyColumns, right.schema))];
  const joinStep: Step = {
    kind: "keyed",
    name: "join",
    detail: `${joinType} of two streams on [${resolved.leftKeyColumns.join(", ")}] = [${resolved.rightKeyColumns.join(", ")}]; left state ${describeExpiry(leftExpiry)}, right state ${describeExpiry(rightExpiry)}`,
    exchangeColumns: [JOIN_KEY],
    stateId,
    signature: `${joinType} stream-stream join on [${resolved.leftKeyColumns.join(", ")}] = [${resolved.rightKeyColumns.join(", ")}]`,
    // The whole condition (time range, other predicates): a restart on rows buffered under another one is refused.
    definition: `on ${node.on.kind === "expression" ? expressionName(node.on.condition) : node.on.kind === "using" ? `using [${node.on.columns.join(", ")}]` : "nothing"}`,
    create: (id) => new StreamJoinOperator(id, spec),
  };
  // The event time goes on in a watermarked time column, or else in the window the join matched on (Spark's window
  // column carries the watermark too), so that an aggregation by it closes with the watermark.
  const timed = [left.eventTime, right.eventTime].find((candidate) => candidate && fields.some((field) => field.name === candidate.column && field.type === "timestamp"));
  const windowKey = keyExpiry?.left.kind === "key" && keyExpiry.left.window ? keyExpiry.left.column : undefined;
  const eventTime = timed ?? (windowKey !== undefined && fields.some((field) => field.name === windowKey) ? { column: windowKey, delayMs: 0 } : undefined);
  return {
    source: left.source,
    branches,
    steps: [joinStep],
    schema: { fields },
    keyed: false,
    hasAggregate: false,
    appendable: false,
    eventTime,
    statefulCount: right.statefulCount + 1,
    staticTables: [...(left.staticTables ?? []), ...(right.staticTables ?? [])],
    ...(intervalJoin ? { emitsDelayedRows: what } : {}),
  };
}

function capitalized(mode: string): string {
  return `${mode.slice(0, 1).toUpperCase()}${mode.slice(1)}`;
}

/** Rill's restriction: the inputs of a stream-stream join are stateless (no aggregation, deduplication or group state yet). */
function refuseStatefulInput(input: Analysis, side: string, what: string): void {
  const steps = [...(input.branches ?? []).flatMap((branch) => branch.steps), ...input.steps];
  const stateful = steps.find((step) => step.kind !== "stateless");
  if (stateful) throw new AnalysisError(`A stream-stream join of an aggregated, deduplicated or grouped stream is not supported by Rill yet (${what}: the ${side} input has ${stateful.name}). Join the streams first, then aggregate.`);
}

/** The side's watermarked column, while its rows still have it. */
function watermarkedColumn(input: Analysis): string | undefined {
  const column = input.eventTime?.column;
  return column !== undefined && findField(input.schema, column)?.type === "timestamp" ? column : undefined;
}

/** A timestamp column of one side named in the condition. */
function timeColumn(name: string, left: Schema, right: Schema, sides: StreamJoinSides, operation: string): { side: "left" | "right"; column: string } | undefined {
  const found = sideOf(name, left, right, sides, operation);
  if (!found) return undefined;
  const field: Field | undefined = findField(found.side === "left" ? left : right, found.column);
  return field?.type === "timestamp" ? found : undefined;
}

/**
 * Spark's isWatermarkInJoinKeys: a pair of key columns holds a watermarked time (or a window of a watermarked stream).
 * Then every key expires when the watermark passes its time (a window's end), on both sides.
 */
function keyWatermark(leftKeys: readonly string[], rightKeys: readonly string[], left: Analysis, right: Analysis, leftTime: string | undefined, rightTime: string | undefined): { left: Expiry; right: Expiry } | undefined {
  for (let index = 0; index < leftKeys.length; index++) {
    const l = leftKeys[index] as string;
    const r = rightKeys[index] as string;
    if (l === leftTime || r === rightTime) return { left: { kind: "key", column: l, window: false }, right: { kind: "key", column: r, window: false } };
    const windows = findField(left.schema, l)?.type === "window" && findField(right.schema, r)?.type === "window";
    if (windows && (hasWatermark(left) || hasWatermark(right))) return { left: { kind: "key", column: l, window: true }, right: { kind: "key", column: r, window: true } };
  }
  return undefined;
}

/**
 * Spark's checkForStreamStreamJoinWatermark: an outer or semi join needs a watermark in the join keys, or a watermark
 * on the other side and a range condition that bounds the preserved side's rows, so that their lack of a match is final.
 */
function checkOuterRequirements(joinType: JoinType, watermarkInKeys: boolean, left: Expiry, right: Expiry, what: string): void {
  if (joinType === "inner" || joinType === "cross" || watermarkInKeys) return;
  const bounded = joinType === "left_outer" || joinType === "left_semi" ? left.kind !== "never" : joinType === "right_outer" ? right.kind !== "never" : left.kind !== "never" && right.kind !== "never";
  if (bounded) return;
  const needs = joinType === "right_outer" ? "a watermark on the left input (withWatermark) and a condition bounding the right time from above by the left time" : joinType === "full_outer" ? "watermarks on both inputs and a condition bounding each side's time by the other's (e.g. l.time BETWEEN r.time - interval 1 hour AND r.time + interval 1 hour)" : "a watermark on the right input (withWatermark) and a condition bounding the left time from below by the right time";
  throw new AnalysisError(`Stream-stream ${SPARK_NAMES[joinType]} join between two streaming DataFrame/Datasets is not supported without a watermark in the join keys, or a watermark on the nullable side and an appropriate range condition (${what}): a row is unmatched for good only once the watermark proves no row of the other side can match it. Add ${needs}, or join on a window of the watermarked time.`);
}

function describeExpiry(expiry: Expiry): string {
  switch (expiry.kind) {
    case "never": return "unbounded (nothing bounds it by the watermark)";
    case "key": return `kept until the watermark passes ${expiry.column}${expiry.window ? ".end" : ""}`;
    case "range": return `kept until the watermark passes ${expiry.column} ${expiry.offset >= 0 ? "+" : "-"} ${Math.abs(expiry.offset)} ms`;
  }
}

/** The step that gives a side's rows their side and join key (a string, null when a key column is null). */
function tagStep(side: 0 | 1, keys: readonly string[], input: Schema): Step {
  const keyOf = joinKeyOf(keys);
  const inputColumns = input.fields.map((field) => field.name);
  const keyIndexes = keys.map((key) => inputColumns.indexOf(key));
  // By position (src/plan/positional-rows.ts decides where): the input's columns, then JOIN_SIDE and JOIN_KEY.
  const positional: PositionalStep = {
    inputColumns,
    outputColumns: [...inputColumns, JOIN_SIDE, JOIN_KEY],
    create: (id) => new PositionalJoinTagOperator(id, side, positionalJoinKeyOf(keyIndexes)),
  };
  return {
    kind: "stateless",
    name: "map",
    detail: `${side === 0 ? "left" : "right"} side of a stream-stream join, key [${keys.join(", ")}]`,
    create: (id) => new MapOperator(id, (row: Row) => ({ ...row, [JOIN_SIDE]: side, [JOIN_KEY]: keyOf(row) })),
    ...(keyIndexes.includes(-1) ? {} : { positional }),
  };
}

/**
 * One string for the key values of a row, equal on both sides for equal values (numbers of any type by value), and
 * different for different values (a string's U+0000 escaped after the first column: `escapeKeyPart`).
 */
export function joinKeyOf(columns: readonly string[]): (row: Row) => string | null {
  return (row) => {
    let key = "";
    for (let index = 0; index < columns.length; index++) {
      const value = row[columns[index] as string];
      if (value === null || value === undefined) return null;
      key += joinKeyPart(value, index);
    }
    return key;
  };
}

/** joinKeyOf over rows by position: the same string from the values at `indexes`. */
export function positionalJoinKeyOf(indexes: readonly number[]): (row: PositionalRow) => string | null {
  return (row) => {
    let key = "";
    for (let index = 0; index < indexes.length; index++) {
      const value = row[indexes[index] as number];
      if (value === null || value === undefined) return null;
      key += joinKeyPart(value, index);
    }
    return key;
  };
}

function joinKeyPart(value: unknown, index: number): string {
  if (typeof value === "number" || typeof value === "bigint") return `n${String(value)}\u0000`;
  if (typeof value === "string") return `s${index === 0 ? value : escapeKeyPart(value)}\u0000`;
  if (typeof value === "boolean") return value ? "t\u0000" : "f\u0000";
  return `o${jsonWithLongs(value)}\u0000`;
}

/** An input of the join as branches (an input that is a union brings its own), each ending with the side's tag. */
function branchesOf(input: Analysis, tag: Step): Branch[] {
  const tail = [...input.steps, tag];
  return (input.branches ?? [{ source: input.source, steps: [] }]).map((branch) => ({ source: branch.source, steps: [...branch.steps, ...tail] }));
}

export type { TimeRange };
