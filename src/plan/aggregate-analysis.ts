// Analysis of groupBy / cube / rollup: grouping keys (event-time windows included), aggregate functions, and how
// the groups close with the watermark.
import { ROW_KEY } from "../actors/sink-actor.ts";
import { parseDuration, type DurationRules } from "../core/duration.ts";
import { AnalysisError, ConfigError } from "../core/errors.ts";
import { positionalRead } from "../core/column-read.ts";
import { findField, isNumeric, nestedOf, WINDOW_FIELDS, type DataType, type Field, type PositionalRow, type Row, type Schema } from "../core/types.ts";
import { countedArguments, isAggregateCall, type Expr } from "../expr/ast.ts";
import { compileExpression, compilePositional, expressionName, resolveColumn, type CompiledExpr } from "../expr/compile.ts";
import { AggregateOperator, type AggregateColumn, type AggregateEventTime } from "../operators/aggregate.ts";
import { aggregatePositionalInput } from "../operators/aggregate-positional.ts";
import { AGGREGATE_NAMES, type AggregateName } from "../operators/aggregate-functions.ts";
import { ExpandOperator, GROUPING_ID } from "../operators/expand.ts";
import { PositionalProjectOperator, type PositionalProjection } from "../operators/project-positional.ts";
import { PositionalWindowOperator } from "../operators/window-positional.ts";
import { ProjectOperator, type Projection } from "../operators/project.ts";
import { SessionWindowOperator } from "../operators/session-window.ts";
import { sessionWindowPositionalInput } from "../operators/session-window-positional.ts";
import { WindowOperator } from "../operators/window.ts";
import type { AggregateNode } from "./logical.ts";
import { checkDuplicates, type Analysis, type AnalysisOptions, type PositionalStep, type Step } from "./steps.ts";

interface ResolvedAggregate {
  readonly name: string;
  readonly function: AggregateName;
  readonly argument: CompiledExpr | undefined;
  /** The argument's expression as compiled (a cast added), for its form over rows by position. */
  readonly argumentExpr?: Expr;
  readonly type: DataType;
}

interface GroupingKey {
  readonly field: Field;
  readonly evaluate: (row: Row) => unknown;
  /** For window(): the column its time comes from, when it is a plain column. */
  readonly windowOf?: string;
  /** What the key computes (a column, an expression's text, a window's time and durations): a checkpoint keeps it. */
  readonly definition: string;
}

export function analyzeAggregate(node: AggregateNode, child: Analysis, options: AnalysisOptions): Analysis {
  const sessionAt = node.groupBy.findIndex((expression) => {
    const call = expression.kind === "alias" ? expression.operand : expression;
    return call.kind === "call" && call.name === "session_window";
  });
  if (sessionAt >= 0) return analyzeSessionWindow(node, child, options, sessionAt);
  if (child.hasAggregate) throw new AnalysisError("Multiple streaming aggregations are not supported: this query aggregates an already aggregated stream. Aggregate once, or write the first result to a sink and read it as a new stream.");
  const input = child.schema;
  const context = `${node.grouping}(...)`;
  const steps: Step[] = [...child.steps];
  const grouping = node.groupBy.map((expression) => groupingKey(expression, input, context, steps));
  const groupingNames = grouping.map((entry) => entry.field.name);
  const aggregates = resolveAggregates(node, input, groupingNames);
  checkDuplicates([...groupingNames, ...aggregates.map((aggregate) => aggregate.name)], `${node.grouping}(...).agg(...)`);
  const eventTime = closingOf(grouping, child);

  const argumentColumns = aggregates.map((_, index) => `__rill_arg${index}`);
  const preProjections: Projection[] = [
    ...grouping.map((entry) => ({ name: entry.field.name, evaluate: entry.evaluate })),
    ...aggregates.flatMap((aggregate, index) => (aggregate.argument ? [{ name: argumentColumns[index] as string, evaluate: aggregate.argument.evaluate }] : [])),
  ];
  const prePositional = child.keyed ? undefined : positionalPreProjection(steps, child.steps.length, input, node.groupBy, grouping, aggregates, argumentColumns, context);
  steps.push({ kind: "stateless", name: "project", detail: `grouping keys and aggregate inputs`, create: (id) => new ProjectOperator(id, preProjections), ...(prePositional ? { positional: prePositional } : {}) });
  const sets = groupingSets(node.grouping, groupingNames);
  if (sets) steps.push({ kind: "stateless", name: "expand", detail: `${sets.length} grouping sets`, create: (id) => new ExpandOperator(id, groupingNames, sets) });
  const columns: AggregateColumn[] = aggregates.map((aggregate, index) => {
    const column = argumentColumns[index] as string;
    return { name: aggregate.name, function: aggregate.function, argument: aggregate.argument ? (row: Row) => row[column] : undefined };
  });
  const stateId = `aggregate-${child.statefulCount}`;
  const outputMode = options.outputMode;
  // Its input by position: the key projection's columns (then the grouping set id, which expand adds last).
  const argumentOf = (index: number) => (aggregates[index]?.argument ? argumentColumns[index] : undefined);
  const inputColumns = [...preProjections.map((projection) => projection.name), ...(sets ? [GROUPING_ID] : [])];
  // Its output by position: the grouping columns, the aggregates, and the group key of a keyed row (update, complete).
  const outputColumns = [...groupingNames, ...aggregates.map((aggregate) => aggregate.name), ...(outputMode !== "append" ? [ROW_KEY] : [])];
  const positionalInput = aggregatePositionalInput({ groupingColumns: groupingNames, hiddenKeyColumns: sets ? [GROUPING_ID] : [], argumentColumns: aggregates.map((_, index) => argumentOf(index)), eventTime }, inputColumns, outputColumns);
  steps.push({
    kind: "aggregate",
    name: "aggregate",
    detail: `keys [${groupingNames.join(", ")}], ${aggregates.map((aggregate) => aggregate.name).join(", ")}${eventTime ? `, closed by the watermark on ${child.eventTime?.column}` : ""}`,
    exchangeColumns: sets ? [...groupingNames, GROUPING_ID] : groupingNames,
    stateId,
    signature: `${node.grouping} by [${groupingNames.join(", ")}] computing [${aggregates.map((aggregate) => `${aggregate.function}:${aggregate.name}`).join(", ")}]`,
    stateSchema: `keys [${grouping.map((entry) => `${entry.field.name}: ${entry.field.type}`).join(", ")}] values [${aggregates.map((aggregate) => `${aggregate.name}: ${aggregate.type}`).join(", ")}]`,
    definition: stateDefinition(grouping, aggregates),
    create: (id) => new AggregateOperator(id, { groupingColumns: groupingNames, hiddenKeyColumns: sets ? [GROUPING_ID] : [], aggregates: columns, keyColumn: ROW_KEY, stateId, outputMode, eventTime }),
    positionalInput,
  });
  const fields: Field[] = [
    ...grouping.map((entry) => ({ ...entry.field, nullable: entry.field.nullable || sets !== undefined })),
    ...aggregates.map((aggregate) => ({ name: aggregate.name, type: aggregate.type, nullable: aggregate.function !== "count" && aggregate.function !== "count_distinct" && aggregate.function !== "approx_count_distinct" })),
  ];
  const keepsTime = eventTime !== undefined && child.eventTime !== undefined && groupingNames.includes(child.eventTime.column);
  return {
    ...child,
    steps,
    schema: { fields },
    keyed: outputMode !== "append",
    hasAggregate: true,
    appendable: eventTime !== undefined,
    eventTime: keepsTime ? child.eventTime : undefined,
    statefulCount: child.statefulCount + 1,
  };
}

/** A grouping key: a column, an expression, or window(time, size[, slide[, start]]) (which adds a WindowOperator). */
export function groupingKey(expression: Expr, input: Schema, context: string, steps: Step[]): GroupingKey {
  if (expression.kind === "column") {
    const field = resolveColumn(input, expression.name, context);
    return { field, evaluate: (row: Row) => row[field.name], definition: field.name };
  }
  const call = expression.kind === "alias" ? expression.operand : expression;
  if (call.kind === "call" && call.name === "window") {
    const name = expression.kind === "alias" ? expression.name : "window";
    const [time, ...durations] = call.args;
    if (!time || durations.length < 1 || durations.length > 3) throw new AnalysisError(`window() takes a time column and a window duration, then optionally a slide duration and a start time, e.g. window(col("event_time"), "10 minutes", "5 minutes").`);
    const timeColumn = compileExpression(time, input, "window()");
    if (timeColumn.type !== "timestamp" && timeColumn.type !== "any") throw new AnalysisError(`window() needs a timestamp column, but ${timeColumn.name} is ${timeColumn.type}. Convert it first, e.g. cast(cast(Creation_Time as double)/1000000000 as timestamp).`);
    const [size, slide, start] = durations.map((duration, index) => literalDuration(duration, ["windowDuration", "slideDuration", "startTime"][index] as string, { negative: "allow" }));
    const sizeMs = size as number;
    const slideMs = slide ?? sizeMs;
    checkWindow(sizeMs, slideMs, start ?? 0);
    const detail = `window(${timeColumn.name}, ${sizeMs} ms${slideMs !== sizeMs ? `, slide ${slideMs} ms` : ""})`;
    const positional = positionalWindowStep(steps, input, time, name, { sizeMs, slideMs, startMs: start ?? 0 });
    steps.push({ kind: "stateless", name: "window", detail, create: (id) => new WindowOperator(id, { eventTime: timeColumn.evaluate, sizeMs, slideMs, startMs: start ?? 0, column: name }), ...(positional ? { positional } : {}) });
    const windowOf = time.kind === "column" ? findField(input, time.name)?.name : undefined;
    const definition = `window(${expressionName(time)}, ${sizeMs} ms, slide ${slideMs} ms, start ${start ?? 0} ms)`;
    return { field: { name, type: "window", nullable: false, fields: WINDOW_FIELDS }, evaluate: (row: Row) => row[name], ...(windowOf ? { windowOf } : {}), definition };
  }
  const compiled = compileExpression(expression, input, context);
  const definition = expressionName(expression.kind === "alias" ? expression.operand : expression);
  return { field: { name: compiled.name, type: compiled.type, nullable: compiled.nullable, ...nestedOf(compiled) }, evaluate: compiled.evaluate, definition };
}

/**
 * What an aggregation's state is made of, beyond names and types: each key's and each aggregate argument's expression.
 * A restart that computes another thing under the same names (a window of another length, sum over another column) is
 * refused on it (src/state/protocol.ts), where its stored groups would otherwise be mixed with the new ones.
 */
function stateDefinition(grouping: readonly GroupingKey[], aggregates: readonly ResolvedAggregate[]): string {
  const keys = grouping.map((entry) => `${entry.field.name} = ${entry.definition}`);
  const values = aggregates.map((aggregate) => `${aggregate.name} = ${aggregate.function}(${aggregate.argumentExpr ? expressionName(aggregate.argumentExpr) : "*"})`);
  return `keys [${keys.join(", ")}] values [${values.join(", ")}]`;
}

/** A window's or session's duration: no months or years, as in Spark. */
function literalDuration(expression: Expr, what: string, rules: DurationRules = {}): number {
  if (expression.kind !== "literal" || typeof expression.value !== "string") throw new AnalysisError(`window(): ${what} must be a string like "10 minutes", got ${expressionName(expression)}.`);
  return parseDuration(expression.value, `window() ${what}`, rules);
}

/** Spark's TimeWindow checks, with its messages. */
function checkWindow(sizeMs: number, slideMs: number, startMs: number): void {
  if (sizeMs <= 0) throw new AnalysisError(`window(): the window duration (${sizeMs} ms) must be greater than 0.`);
  if (slideMs <= 0) throw new AnalysisError(`window(): the slide duration (${slideMs} ms) must be greater than 0.`);
  if (slideMs > sizeMs) throw new AnalysisError(`window(): the slide duration (${slideMs} ms) must be less than or equal to the window duration (${sizeMs} ms).`);
  if (Math.abs(startMs) >= slideMs) throw new AnalysisError(`window(): the absolute value of the start time (${startMs} ms) must be less than the slide duration (${slideMs} ms).`);
}

/** How the watermark closes groups: through a window over the watermarked column, or that column as a key. */
function closingOf(grouping: readonly GroupingKey[], child: Analysis): AggregateEventTime | undefined {
  const watermarked = child.eventTime?.column;
  if (watermarked === undefined) return undefined;
  const windowed = grouping.find((entry) => entry.windowOf === watermarked);
  if (windowed) return { endColumn: windowed.field.name, endIsWindow: true };
  const keyed = grouping.find((entry) => entry.field.name === watermarked);
  // A window column that carries the event time (a stream-stream join on windows): its end closes the group.
  if (keyed) return { endColumn: keyed.field.name, endIsWindow: keyed.field.type === "window" };
  return undefined;
}

function resolveAggregates(node: AggregateNode, input: Schema, groupingNames: readonly string[]): ResolvedAggregate[] {
  const context = `${node.grouping}(...).agg(...)`;
  if (!Array.isArray(node.aggregates)) {
    const spec = node.aggregates as { numericColumns: string; columns: readonly string[] };
    const fn = spec.numericColumns as AggregateName;
    const fields = spec.columns.length > 0
      ? spec.columns.map((name) => numericField(input, name, spec.numericColumns))
      : input.fields.filter((field) => isNumeric(field.type) && !groupingNames.includes(field.name));
    return fields.map((field) => aggregateOf(fn, { kind: "column", name: field.name }, `${fn}(${field.name})`, input, context));
  }
  return (node.aggregates as readonly Expr[]).map((expression) => {
    const alias = expression.kind === "alias" ? expression.name : undefined;
    const call = expression.kind === "alias" ? expression.operand : expression;
    if (!isAggregateCall(call)) throw new AnalysisError(`agg() takes aggregate functions (${AGGREGATE_NAMES.join(", ")}), not '${expressionName(expression)}'.`);
    const fn = canonicalAggregate(call.name, call.distinct, context);
    // count and count(DISTINCT ...) take several arguments, as in Spark: rows where none is null (distinct tuples).
    const tuple = (fn === "count" || fn === "count_distinct") && call.args.length > 1 && !call.args.some((arg) => arg.kind === "star");
    if (call.args.length !== 1 && !tuple) throw new AnalysisError(`Aggregate function ${call.name} takes exactly one argument, got ${call.args.length} in ${context}.`);
    return aggregateOf(fn, countedArguments(call.args), alias ?? expressionName(call), input, context);
  });
}

function canonicalAggregate(name: string, distinct: boolean, context: string): AggregateName {
  if (name === "mean") return "avg";
  if (distinct) {
    if (name === "count") return "count_distinct";
    throw new AnalysisError(`${name}(DISTINCT ...) is not supported in ${context}; count(DISTINCT x) is.`);
  }
  if (name === "countdistinct") return "count_distinct";
  return name as AggregateName;
}

function numericField(input: Schema, name: string, fn: string): Field {
  const field = resolveColumn(input, name, `${fn}()`);
  if (!isNumeric(field.type)) throw new AnalysisError(`"${field.name}" is not a numeric column (${field.type}); ${fn}() takes numeric columns only.`);
  return field;
}

function aggregateOf(fn: AggregateName, argument: Expr, name: string, input: Schema, context: string): ResolvedAggregate {
  const countsRows = fn === "count" && (argument.kind === "star" || (argument.kind === "literal" && argument.value !== null));
  if (countsRows) return { name, function: fn, argument: undefined, type: "long" };
  let argumentExpr = argument;
  let compiled = compileExpression(argument, input, context);
  // As Spark's PromoteStrings: the sum or average of strings (a CSV column read without inferSchema) is over their doubles.
  if ((fn === "sum" || fn === "avg") && compiled.type === "string") {
    argumentExpr = { kind: "cast", operand: argument, to: "double" };
    compiled = compileExpression(argumentExpr, input, context);
  }
  if ((fn === "sum" || fn === "avg") && !isNumeric(compiled.type) && compiled.type !== "null" && compiled.type !== "any") {
    throw new AnalysisError(`${fn}(${compiled.name}) needs a numeric argument, but ${compiled.name} is ${compiled.type}.`);
  }
  const counts = fn === "count" || fn === "count_distinct" || fn === "approx_count_distinct";
  const type: DataType = counts ? "long" : fn === "avg" ? "double" : fn === "collect_list" || fn === "collect_set" ? "array" : compiled.type;
  // As in Spark, the sum of ints is a long.
  return { name, function: fn, argument: compiled, argumentExpr, type: fn === "sum" && type === "int" ? "long" : type };
}

/** Grouping sets of cube (every subset) and rollup (every prefix); undefined for a plain groupBy. */
function groupingSets(kind: AggregateNode["grouping"], columns: readonly string[]): string[][] | undefined {
  if (kind === "groupBy") return undefined;
  if (kind === "rollup") return columns.map((_, index) => columns.slice(0, columns.length - index)).concat([[]]);
  const sets: string[][] = [];
  for (let mask = (1 << columns.length) - 1; mask >= 0; mask--) sets.push(columns.filter((_, index) => (mask & (1 << (columns.length - 1 - index))) !== 0));
  return sets;
}

/** groupBy(session_window(time, gap), keys...): sessions per key, merged as events arrive. */
function analyzeSessionWindow(node: AggregateNode, child: Analysis, options: AnalysisOptions, sessionAt: number): Analysis {
  if (child.hasAggregate) throw new AnalysisError("Multiple streaming aggregations are not supported.");
  if (node.grouping !== "groupBy") throw new AnalysisError(`session_window() works with groupBy(), not ${node.grouping}().`);
  const outputMode = options.outputMode;
  const input = child.schema;
  const expression = node.groupBy[sessionAt] as Expr;
  const call = (expression.kind === "alias" ? expression.operand : expression) as Extract<Expr, { kind: "call" }>;
  const sessionColumn = expression.kind === "alias" ? expression.name : "session_window";
  const [time, gap] = call.args;
  if (!time || !gap || call.args.length !== 2) throw new AnalysisError(`session_window() takes a time column and a gap duration, e.g. session_window(col("event_time"), "5 minutes").`);
  const timeColumn = compileExpression(time, input, "session_window()");
  if (timeColumn.type !== "timestamp" && timeColumn.type !== "any") throw new AnalysisError(`session_window() needs a timestamp column, but ${timeColumn.name} is ${timeColumn.type}.`);
  const gapMs = gap.kind === "literal" ? literalDuration(gap, "gapDuration") : undefined;
  const gapOf = gapMs === undefined ? sessionGap(gap, input) : undefined;
  const steps: Step[] = [...child.steps];
  const others = node.groupBy.filter((_, index) => index !== sessionAt).map((key) => groupingKey(key, input, "groupBy(...)", steps));
  const keyNames = others.map((entry) => entry.field.name);
  const aggregates = resolveAggregates(node, input, keyNames);
  checkDuplicates([sessionColumn, ...keyNames, ...aggregates.map((aggregate) => aggregate.name)], "groupBy(session_window(...), ...).agg(...)");
  // Complete mode keeps every session, as Spark does: the watermark neither drops rows nor closes sessions there.
  const watermarked = outputMode !== "complete" && child.eventTime !== undefined && time.kind === "column" && findField(input, time.name)?.name === child.eventTime.column;
  if (outputMode === "append" && !watermarked) throw new AnalysisError("session_window() in append mode needs a watermark on its time column: add withWatermark(column, delay) so that a session's row leaves once, when the watermark passes its end.");
  const argumentColumns = aggregates.map((_, index) => `__rill_arg${index}`);
  const preProjections: Projection[] = [
    ...others.map((entry) => ({ name: entry.field.name, evaluate: entry.evaluate })),
    ...aggregates.flatMap((aggregate, index) => (aggregate.argument ? [{ name: argumentColumns[index] as string, evaluate: aggregate.argument.evaluate }] : [])),
    { name: SESSION_TIME, evaluate: timeColumn.evaluate },
    ...(gapOf ? [{ name: SESSION_GAP, evaluate: gapOf.evaluate }] : []),
  ];
  // By position: the same columns, the time and gap compiled by position (the gap parsed as by name).
  const sessionInputs: PositionalProjection[] = [
    { name: SESSION_TIME, evaluate: compilePositional(time, input, "session_window()").evaluate },
    ...(gapOf ? [{ name: SESSION_GAP, evaluate: gapReader(compilePositional(gap, input, "session_window() gapDuration").evaluate) }] : []),
  ];
  const prePositional = child.keyed ? undefined : positionalPreProjection(steps, child.steps.length, input, node.groupBy.filter((_, index) => index !== sessionAt), others, aggregates, argumentColumns, "groupBy(...)", sessionInputs);
  steps.push({ kind: "stateless", name: "project", detail: "session keys, time and aggregate inputs", create: (id) => new ProjectOperator(id, preProjections), ...(prePositional ? { positional: prePositional } : {}) });
  const columns: AggregateColumn[] = aggregates.map((aggregate, index) => {
    const column = argumentColumns[index] as string;
    return { name: aggregate.name, function: aggregate.function, argument: aggregate.argument ? (row: Row) => row[column] : undefined };
  });
  const stateId = `session-window-${child.statefulCount}`;
  const fields: Field[] = others.map((entry) => entry.field);
  fields.splice(sessionAt, 0, { name: sessionColumn, type: "window", nullable: false });
  for (const aggregate of aggregates) fields.push({ name: aggregate.name, type: aggregate.type, nullable: aggregate.function !== "count" });
  steps.push({
    kind: "aggregate",
    name: "session-window",
    detail: `sessions with gap ${gapMs === undefined ? gapOf?.name : `${gapMs} ms`} per [${keyNames.join(", ")}], ${aggregates.map((aggregate) => aggregate.name).join(", ")}`,
    exchangeColumns: keyNames,
    stateId,
    signature: `session_window(${gapMs === undefined ? gapOf?.name : `${gapMs} ms`}) by [${keyNames.join(", ")}] computing [${aggregates.map((aggregate) => `${aggregate.function}:${aggregate.name}`).join(", ")}]`,
    definition: `session_window(${expressionName(time)}, ${gapMs === undefined ? expressionName(gap) : `${gapMs} ms`}) and ${stateDefinition(others, aggregates)}`,
    create: (id) => new SessionWindowOperator(id, { keyColumns: keyNames, sessionColumn, sessionPosition: sessionAt, timeColumn: SESSION_TIME, gapMs: gapMs ?? 0, ...(gapOf ? { gapColumn: SESSION_GAP } : {}), aggregates: columns, outputMode, watermarked, keyColumn: ROW_KEY, stateId }),
    // Its input by position: the key projection's columns, read by index into the named operator (decision 61's shape);
    // its output by position: the schema's columns, and the row's key last in update and complete mode (decision 66's).
    positionalInput: sessionWindowPositionalInput({
      keyColumns: keyNames,
      timeColumn: SESSION_TIME,
      gapColumn: gapOf ? SESSION_GAP : undefined,
      gapMs: gapMs ?? 0,
      argumentColumns: aggregates.map((aggregate, index) => (aggregate.argument ? argumentColumns[index] : undefined)),
    }, preProjections.map((projection) => projection.name), [...fields.map((field) => field.name), ...(outputMode !== "append" ? [ROW_KEY] : [])]),
  });
  return { ...child, steps, schema: { fields }, keyed: outputMode !== "append", hasAggregate: true, appendable: watermarked, eventTime: undefined, statefulCount: child.statefulCount + 1 };
}

const SESSION_TIME = "__rill_session_time";
const SESSION_GAP = "__rill_session_gap";

/**
 * A gap computed per row (Spark 3.2+: session_window(time, expr)): a duration string such as "5 seconds", or a number of
 * milliseconds. As in Spark, a row whose gap is null, not a duration, or not positive takes part in no session.
 */
function sessionGap(gap: Expr, input: Schema): { name: string; evaluate: (row: Row) => number | null } {
  const compiled = compileExpression(gap, input, "session_window() gapDuration");
  if (compiled.type !== "string" && compiled.type !== "long" && compiled.type !== "double" && compiled.type !== "any" && compiled.type !== "null") {
    throw new AnalysisError(`session_window(): the gap ${compiled.name} must be a duration string such as "5 minutes", but it is ${compiled.type}.`);
  }
  return { name: compiled.name, evaluate: gapReader(compiled.evaluate) };
}

/** A per-row gap read through `evaluate` (named or by position): a positive number of ms, a duration string, or null. */
function gapReader<R>(evaluate: (row: R) => unknown): (row: R) => number | null {
  const parsed = new Map<string, number | null>();
  return (row) => {
    const value = evaluate(row);
    if (typeof value === "number") return value > 0 ? value : null;
    if (typeof value !== "string") return null;
    let milliseconds = parsed.get(value);
    if (milliseconds === undefined) {
      milliseconds = durationOrNull(value);
      parsed.set(value, milliseconds);
    }
    return milliseconds;
  };
}

/** A positive duration, or null for text that is not one: bad data in a row, not a query error. */
function durationOrNull(text: string): number | null {
  try {
    const milliseconds = parseDuration(text, "session_window() gapDuration");
    return milliseconds > 0 ? milliseconds : null;
  } catch (error) {
    if (error instanceof ConfigError) return null;
    throw error;
  }
}

// ---- Rows by position (posw): the window steps and the key projection before the shuffle ---------------------------

/** The columns rows have after the steps so far: the last window step's output, or the aggregation's input. */
function columnsAfter(steps: readonly Step[], from: number, input: Schema): readonly string[] | undefined {
  if (steps.length === from) return input.fields.map((field) => field.name);
  const last = steps[steps.length - 1];
  return last?.name === "window" ? last.positional?.outputColumns : undefined;
}

/** window()'s step by position: the row with the window appended (or in place of a column of its name). */
function positionalWindowStep(steps: readonly Step[], input: Schema, time: Expr, name: string, window: { sizeMs: number; slideMs: number; startMs: number }): PositionalStep | undefined {
  const last = steps[steps.length - 1];
  // The step's input: the aggregation's input, or the output of a window step this aggregation added before.
  const inputColumns = last?.name === "window" && last.positional ? last.positional.outputColumns : input.fields.map((field) => field.name);
  if (last?.name === "window" && last.positional === undefined) return undefined;
  const replaced = inputColumns.indexOf(name);
  const outputColumns = replaced >= 0 ? inputColumns : [...inputColumns, name];
  const eventTime = compilePositional(time, input, "window()").evaluate;
  const windowIndex = replaced >= 0 ? replaced : inputColumns.length;
  return { inputColumns, outputColumns, create: (id) => new PositionalWindowOperator(id, { eventTime, ...window, windowIndex }) };
}

/** The key projection by position: grouping keys and aggregate inputs read by index from the rows after the windows. */
function positionalPreProjection(steps: readonly Step[], from: number, input: Schema, groupBy: readonly Expr[], grouping: readonly GroupingKey[], aggregates: readonly ResolvedAggregate[], argumentColumns: readonly string[], context: string, extra: readonly PositionalProjection[] = []): PositionalStep | undefined {
  const inputColumns = columnsAfter(steps, from, input);
  if (inputColumns === undefined) return undefined;
  const keys = grouping.map((entry, index) => {
    const expression = groupBy[index] as Expr;
    const call = expression.kind === "alias" ? expression.operand : expression;
    const read = expression.kind === "column" || (call.kind === "call" && call.name === "window");
    return { name: entry.field.name, at: read ? inputColumns.indexOf(entry.field.name) : undefined, expression };
  });
  if (keys.some((key) => key.at !== undefined && key.at < 0)) return undefined;
  const evaluators = keys.map((key) => ({ name: key.name, evaluate: key.at !== undefined ? positionalRead(key.at) as unknown as (row: PositionalRow) => unknown : compilePositional(key.expression, input, context).evaluate }));
  const inputs = aggregates.flatMap((aggregate, index) => (aggregate.argument && aggregate.argumentExpr ? [{ name: argumentColumns[index] as string, evaluate: compilePositional(aggregate.argumentExpr, input, context).evaluate }] : []));
  if (inputs.length !== aggregates.filter((aggregate) => aggregate.argument).length) return undefined;
  const projections = [...evaluators, ...inputs, ...extra];
  return { inputColumns, outputColumns: projections.map((projection) => projection.name), create: (id) => new PositionalProjectOperator(id, projections) };
}
