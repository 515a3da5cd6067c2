// Analysis: resolves every column and type of a logical plan and turns it into a line of steps (operator factories).
import { ROW_KEY } from "../actors/sink-actor.ts";
import type { SourceProvider } from "../connectors/sources/source.ts";
import { AnalysisError } from "../core/errors.ts";
import { findField, nestedOf, type Field, type PositionalRow, type Row, type Schema } from "../core/types.ts";
import type { Expr } from "../expr/ast.ts";
import { compileExpression, compilePositional, expressionName, resolveColumn, type CompiledExpr } from "../expr/compile.ts";
import { positionalRead } from "../core/column-read.ts";
import { FilterOperator } from "../operators/filter.ts";
import { PositionalFilterOperator } from "../operators/filter-positional.ts";
import { isRetractionKey, PositionalRetractingFilterOperator, RetractingFilterOperator, retractionRow } from "../operators/filter-retracting.ts";
import { PositionalProjectOperator, type PositionalProjection } from "../operators/project-positional.ts";
import { FlatMapOperator, MapOperator } from "../operators/map.ts";
import { ProjectOperator, type Projection } from "../operators/project.ts";
import { analyzeAggregate, groupingKey } from "./aggregate-analysis.ts";
import { analyzeDeduplicate, analyzeGroupState, analyzeWatermark } from "./event-time-analysis.ts";
import { analyzeGenerate, generatorsOf } from "./generate-analysis.ts";
import { optimize } from "./optimizer.ts";
import { analyzeResultOrder, splitResultOrder } from "./result-order-analysis.ts";
import type { ResultOrder } from "../connectors/sinks/sink.ts";
import { isStreamingPlan, type JoinNode, type LogicalPlan, type MapNode, type ProjectNode } from "./logical.ts";
import { analyzeStaticJoin } from "./join-analysis.ts";
import { analyzeStreamJoin } from "./join-stream-analysis.ts";
import type { StaticTable } from "../operators/join-static-table.ts";
import { checkDuplicates, extend, hasWatermark, isNestedReference, passThrough, type Analysis, type AnalysisOptions, type Branch, type PositionalStep, type Step } from "./steps.ts";
import { analyzeUnion } from "./union-analysis.ts";
import { containsWindow, hasWindowFunction, splitWindowProject, STREAMING_WINDOWS_REFUSED } from "../window-functions/project.ts";

export type { Step } from "./steps.ts";

export interface AnalyzedPlan {
  /** The source; after a union, the first branch's. */
  readonly source: SourceProvider;
  /** A union's inputs, each with its source and the steps before the union; `steps` then follow the union. */
  readonly branches: readonly Branch[] | undefined;
  readonly steps: readonly Step[];
  readonly schema: Schema;
  readonly hasAggregate: boolean;
  /** Append mode is possible: the aggregation's groups close with the watermark. */
  readonly appendable: boolean;
  readonly hasEventTime: boolean;
  /** orderBy / limit, applied at the sink. */
  readonly resultOrder: ResultOrder | undefined;
  /** The static sides of stream-static joins: load() each before the actors start, stop() them when the query ends. */
  readonly staticTables: readonly StaticTable[];
}

const DEFAULT_OPTIONS: AnalysisOptions = { outputMode: "update", maxFutureMs: Number.POSITIVE_INFINITY };

export function analyze(plan: LogicalPlan, options: AnalysisOptions = DEFAULT_OPTIONS): AnalyzedPlan {
  const split = splitResultOrder(plan);
  const optimized = optimize(split.plan);
  const analysis = analyzeNode(optimized, { ...options, queryHasAggregate: hasAggregateNode(optimized) }, 0);
  const hasEventTime = hasWatermark(analysis);
  const resultOrder = analyzeResultOrder(split, analysis.schema, analysis.hasAggregate, options.outputMode);
  return { source: analysis.source, branches: analysis.branches, steps: analysis.steps, schema: analysis.schema, hasAggregate: analysis.hasAggregate, appendable: analysis.appendable, hasEventTime, resultOrder, staticTables: analysis.staticTables ?? [] };
}

function hasAggregateNode(node: LogicalPlan): boolean {
  if (node.kind === "aggregate") return true;
  if (node.kind === "source") return false;
  if (node.kind === "union") return hasAggregateNode(node.child) || hasAggregateNode(node.other);
  if (node.kind === "join") return node.static === undefined ? hasAggregateNode(node.child) || hasAggregateNode(node.other) : hasAggregateNode(probeOf(node));
  return hasAggregateNode(node.child);
}

/** The side of a join whose rows run through the plan; the other, static, side is run whole by the static engine. */
function probeOf(node: JoinNode): LogicalPlan {
  return node.static?.side === "left" ? node.other : node.child;
}

function aliasOf(node: LogicalPlan): string | undefined {
  return node.kind === "alias" ? node.name : undefined;
}

/** `firstState` numbers the stateful steps of this subtree (a union's second input goes on from its first's). */
function analyzeNode(node: LogicalPlan, options: AnalysisOptions, firstState: number): Analysis {
  const analysis = analyzeNodeAlone(node, options, firstState);
  refuseProtoColumn(analysis.schema);
  return analysis;
}

/**
 * Rows are plain objects, where `row["__proto__"] = value` sets the object's prototype instead of a column: such a
 * column would be lost without a word, in every operator, codec and sink. Refused when the query is analysed instead.
 */
function refuseProtoColumn(schema: Schema): void {
  for (const field of schema.fields) {
    if (field.name === "__proto__") throw new AnalysisError("A column named `__proto__` is not supported: rows are JavaScript objects, where that name is not a property. Give it another name (an alias in the query, or another field name in the source's schema).");
    refuseProtoField(field);
  }
}

/** The same for a struct's fields, at any depth (a source's DDL schema): structs are plain objects too. */
function refuseProtoField(field: Field): void {
  for (const inner of field.fields ?? []) {
    if (inner.name === "__proto__") throw new AnalysisError(`A struct field named \`__proto__\` (in column '${field.name}') is not supported: structs are JavaScript objects, where that name is not a property. Give the field another name.`);
    refuseProtoField(inner);
  }
  if (field.element !== undefined) refuseProtoField(field.element);
}

function analyzeNodeAlone(node: LogicalPlan, options: AnalysisOptions, firstState: number): Analysis {
  if (node.kind === "source") {
    const source = node.create();
    return { source, steps: [], schema: source.schema, keyed: false, hasAggregate: false, appendable: false, eventTime: undefined, statefulCount: firstState };
  }
  if (node.kind === "union") {
    if (isStreamingPlan(node.child) !== isStreamingPlan(node.other)) throw new AnalysisError("Union between streaming and batch DataFrames/Datasets is not supported: both inputs of union() must be streams, or both static.");
    const left = analyzeNode(node.child, options, firstState);
    return analyzeUnion(node, left, analyzeNode(node.other, options, left.statefulCount));
  }
  if (node.kind === "join" && node.static === undefined) {
    const left = analyzeNode(node.child, options, firstState);
    return analyzeStreamJoin(node, left, analyzeNode(node.other, options, left.statefulCount), { leftAlias: aliasOf(node.child), rightAlias: aliasOf(node.other) }, options);
  }
  if (node.kind === "join") {
    const probe = probeOf(node);
    return analyzeStaticJoin(node, { probe: analyzeNode(probe, options, firstState), probeStreaming: isStreamingPlan(probe), checkSupport: options.schemaOnly !== true, leftAlias: aliasOf(node.child), rightAlias: aliasOf(node.other) });
  }
  if (node.kind === "alias") return analyzeNode(node.child, options, firstState);
  const child = analyzeNode(node.child, options, firstState);
  if ((node.kind === "aggregate" || node.kind === "deduplicate" || node.kind === "groupState") && child.emitsDelayedRows !== undefined && options.schemaOnly !== true) refuseAfterIntervalJoin(child.emitsDelayedRows, node.kind);
  switch (node.kind) {
    case "project": return hasWindowFunction(node) ? analyzeWindowProject(node, child, isStreamingPlan(node.child) && options.schemaOnly !== true) : analyzeProject(node, child);
    case "filter": {
      const condition = compileExpression(node.condition, child.schema, `where(${expressionName(node.condition)})`);
      if (condition.type !== "boolean" && condition.type !== "null" && condition.type !== "any") {
        throw new AnalysisError(`The condition of where(${condition.name}) has type ${condition.type}, but must be boolean.`);
      }
      // Keyed rows (after an update/complete aggregation) carry ROW_KEY last, after the schema's fields.
      const names = keyedNames(fieldNamesOf(child.schema), child.keyed);
      // Compiled now, as the named condition is: param() takes its declared type only while the query is analysed.
      const positionalCondition = compilePositional(node.condition, child.schema, `where(${expressionName(node.condition)})`).evaluate;
      // In complete mode a keyed row that fails the condition leaves the result table (filter-retracting.ts).
      const retracting = child.keyed && options.outputMode === "complete";
      const fields = fieldNamesOf(child.schema);
      const positional: PositionalStep = {
        inputColumns: names,
        outputColumns: names,
        create: (id) => (retracting ? new PositionalRetractingFilterOperator(id, positionalCondition) : new PositionalFilterOperator(id, positionalCondition)),
      };
      return extend(child, { kind: "stateless", name: "filter", detail: retracting ? `${condition.name}, retracting the rows that fail it` : condition.name, create: (id) => (retracting ? new RetractingFilterOperator(id, condition.evaluate, fields) : new FilterOperator(id, condition.evaluate)), positional }, child.schema);
    }
    case "map":
    case "flatMap": return analyzeMap(node, child);
    case "aggregate": return analyzeAggregate(node, child, options);
    case "watermark": return analyzeWatermark(node, child, options);
    case "deduplicate": return analyzeDeduplicate(node, child);
    case "groupState": return analyzeGroupState(node, child, options);
    case "sort":
    case "limit": throw new AnalysisError("orderBy() and limit() must be the last operations of a streaming query.");
  }
}

/** Spark's checkStreamingQueryGlobalWatermarkLimit (spark.sql.streaming.statefulOperator.checkCorrectness.enabled). */
function refuseAfterIntervalJoin(join: string, operator: string): never {
  throw new AnalysisError(`Detected pattern of possible 'correctness' issue due to global watermark. The query contains stateful operation which can emit rows older than the current watermark plus allowed late record delay, which are "late rows" in downstream stateful operations and these rows can be discarded: ${join} (a time-interval join) is followed by ${operator === "groupState" ? "a *GroupsWithState operator" : operator === "deduplicate" ? "dropDuplicates" : "an aggregation"}. Join on a window of the watermarked time instead, or write the join's rows to a sink and read them as a new stream.`);
}

/**
 * A projection with window functions: refused on a stream (Spark's rule, at start()); over a static input, the schema
 * it will have. The static engine computes the windows before the plan runs (src/static/execute.ts), so their step is
 * never created.
 */
function analyzeWindowProject(node: ProjectNode, child: Analysis, streaming: boolean): Analysis {
  if (streaming) throw new AnalysisError(`${STREAMING_WINDOWS_REFUSED}: ${node.columns.filter(containsWindow).map((column) => expressionName(column.kind === "alias" ? column.operand : column)).join(", ")}. Window functions (row_number, rank, lag, sum(...) OVER ...) run on static DataFrames; on a stream, group by window(time, ...) instead.`);
  const split = splitWindowProject(node, child.schema);
  const windowed = extend(child, {
    kind: "stateless",
    name: "window-functions",
    detail: split.windows.map((window) => window.field.name).join(", "),
    create: () => {
      throw new AnalysisError("Window functions run in the static engine, over the whole input; this plan was not prepared for it.");
    },
  }, split.schema);
  const wrapped = split.wrap({ kind: "source", describe: "window functions", create: () => windowed.source });
  if (wrapped.kind !== "project" || wrapped.child.kind !== "project") throw new AnalysisError("internal: a window projection has two projections");
  return analyzeProject(wrapped, analyzeProject(wrapped.child, windowed));
}

function analyzeProject(node: ProjectNode, child: Analysis): Analysis {
  const windowed = windowedProjection(node, child);
  if (windowed) return analyzeProject(windowed.node, windowed.child);
  if (generatorsOf(node).length > 0) return analyzeGenerate(node, child);
  const input = child.schema;
  // Each output also says how to compute it over rows by position: the input field it copies, or the expression.
  type Output = { field: Field; evaluate: (row: Row) => unknown; byPosition: () => (row: PositionalRow) => unknown };
  const copied = (field: Field): () => (row: PositionalRow) => unknown => {
    const index = input.fields.indexOf(field);
    return () => positionalRead(index) as unknown as (row: PositionalRow) => unknown;
  };
  const pass = (field: Field): Output => ({ ...passThrough(field), byPosition: copied(field) });
  // Compiled now, as the named projections are: param() takes its declared type only while the query is analysed
  // (compiled when the actors are made, param('n') was typed any, and int arithmetic on it no longer wrapped at 32 bits).
  const computed = (expression: Expr, context: string): () => (row: PositionalRow) => unknown => {
    const evaluate = compilePositional(expression, input, context).evaluate;
    return () => evaluate;
  };
  let outputs: Output[];
  if (node.drop) {
    const dropped = new Set(node.drop.map((name) => findField(input, name)?.name).filter((name): name is string => name !== undefined));
    outputs = input.fields.filter((field) => !dropped.has(field.name)).map(pass);
  } else if (node.rename) {
    const { existing, renamed } = node.rename;
    const found = findField(input, existing);
    outputs = input.fields.map((field) => (field === found ? { ...pass(field), field: { ...field, name: renamed } } : pass(field)));
  } else if (node.withColumn !== undefined) {
    const [expression] = node.columns;
    const context = `withColumn('${node.withColumn}')`;
    const compiled = compileExpression(expression as Expr, input, context);
    const name = node.withColumn;
    const added = { field: { name, type: compiled.type, nullable: compiled.nullable, ...nestedOf(compiled) }, evaluate: compiled.evaluate, byPosition: computed(expression as Expr, context) };
    const replaced = findField(input, name);
    outputs = input.fields.map((field) => (field === replaced ? added : pass(field)));
    if (!replaced) outputs.push(added);
  } else {
    outputs = node.columns.flatMap((expression) => {
      if (expression.kind === "star") return input.fields.map(pass);
      if (expression.kind === "column" && !isNestedReference(input, expression.name)) return [pass(resolveColumn(input, expression.name, node.operation))];
      const compiled: CompiledExpr = compileExpression(expression, input, node.operation);
      return [{ field: { name: compiled.name, type: compiled.type, nullable: compiled.nullable, ...nestedOf(compiled) }, evaluate: compiled.evaluate, byPosition: computed(expression, node.operation) }];
    });
  }
  checkDuplicates(outputs.map((output) => output.field.name), node.operation);
  const projections: Projection[] = outputs.map((output) => ({ name: output.field.name, evaluate: output.evaluate }));
  if (child.keyed) projections.push(passThrough({ name: ROW_KEY, type: "string", nullable: false }));
  const detail = outputs.map((output) => output.field.name).join(", ");
  const eventTime = child.eventTime && outputs.some((output) => output.field.name === child.eventTime?.column && output.field.type === "timestamp") ? child.eventTime : undefined;
  // Keyed rows carry ROW_KEY, which no schema names, last: the projection copies it last.
  const keyCopy: PositionalProjection[] = child.keyed ? [{ name: ROW_KEY, evaluate: positionalRead(input.fields.length) as unknown as (row: PositionalRow) => unknown }] : [];
  const positional: PositionalStep = {
    inputColumns: keyedNames(fieldNamesOf(input), child.keyed),
    outputColumns: keyedNames(outputs.map((output) => output.field.name), child.keyed),
    create: (id) => new PositionalProjectOperator(id, [...outputs.map((output): PositionalProjection => ({ name: output.field.name, evaluate: output.byPosition() })), ...keyCopy]),
  };
  return extend(child, { kind: "stateless", name: "project", detail, create: (id) => new ProjectOperator(id, projections), positional }, { fields: outputs.map((output) => output.field) }, { eventTime });
}

function fieldNamesOf(schema: Schema): readonly string[] {
  return schema.fields.map((field) => field.name);
}

/** The columns of rows by position: a keyed row (after an update/complete aggregation) has ROW_KEY after the schema's. */
function keyedNames(names: readonly string[], keyed: boolean): readonly string[] {
  return keyed ? [...names, ROW_KEY] : names;
}

/**
 * select(window(time, ...)) outside groupBy: as Spark's TimeWindowing, a window step puts each row's window (one row per
 * window when they slide) in a column, and the projection reads that column.
 */
function windowedProjection(node: ProjectNode, child: Analysis): { node: ProjectNode; child: Analysis } | undefined {
  if (node.drop) return undefined;
  const windows = node.columns.filter((column) => {
    const call = column.kind === "alias" ? column.operand : column;
    return call.kind === "call" && call.name === "window";
  });
  if (windows.length === 0) return undefined;
  if (windows.length > 1) throw new AnalysisError("Multiple time window expressions would result in a cartesian product of rows, therefore they are currently not supported.");
  const original = windows[0] as Expr;
  const named: Expr = node.withColumn !== undefined && original.kind !== "alias" ? { kind: "alias", operand: original, name: node.withColumn } : original;
  const steps: Step[] = [];
  const key = groupingKey(named, child.schema, node.operation, steps);
  const fields = [...child.schema.fields.filter((field) => field.name !== key.field.name), key.field];
  const windowedChild = steps.reduce((analysis, step) => extend(analysis, step, { fields }), child);
  const columns = node.columns.map((column) => (column === original ? ({ kind: "column", name: key.field.name } as const) : column));
  return { node: { ...node, columns }, child: windowedChild };
}

function analyzeMap(node: MapNode, child: Analysis): Analysis {
  const keyed = child.keyed;
  const schema = node.schema ?? child.schema;
  const eventTime = child.eventTime && findField(schema, child.eventTime.column) ? child.eventTime : undefined;
  if (node.kind === "map") {
    const fn = node.fn as (row: Row) => Row;
    // A retraction (complete mode: a row that left the result table) is no row for the user's function: it passes on.
    const outputFields = fieldNamesOf(schema);
    const wrapped = keyed ? (row: Row) => (isRetractionKey(row[ROW_KEY]) ? retractionRow(outputFields, row[ROW_KEY]) : { ...fn(row), [ROW_KEY]: row[ROW_KEY] }) : fn;
    return extend(child, { kind: "stateless", name: "map", detail: "user function", create: (id) => new MapOperator(id, wrapped) }, schema, { eventTime });
  }
  const fn = node.fn as (row: Row) => Iterable<Row>;
  const wrapped = keyed
    ? function* (row: Row): Iterable<Row> {
        let index = 0;
        for (const out of fn(row)) yield { ...out, [ROW_KEY]: `${String(row[ROW_KEY])}#${index++}` };
      }
    : fn;
  return extend(child, { kind: "stateless", name: "flatMap", detail: "user function", create: (id) => new FlatMapOperator(id, wrapped) }, schema, { eventTime });
}
