// DataFrame and GroupedData: Spark's transformations, recorded as a logical plan and analysed at start().
import { AnalysisError } from "../core/errors.ts";
import type { Row, Schema } from "../core/types.ts";
import { schemaFromZod, type ZodRowSchema } from "../core/zod-schema.ts";
import type { Expr } from "../expr/ast.ts";
import { parseExpression } from "../expr/parser.ts";
import { analyze } from "../plan/analyzer.ts";
import type { GroupState, GroupStateTimeout } from "../operators/group-state.ts";
import { isStreamingPlan, type BoundedInput, type GroupingKind, type JoinType, type LogicalPlan, type SortOrder, type StaticInput } from "../plan/logical.ts";
import { executeStatic, staticSchema } from "../static/execute.ts";
import { StaticDeadLetters } from "../static/dead-letters.ts";
import { showString, treeString } from "./static-actions.ts";
import { splitResultOrder } from "../plan/result-order-analysis.ts";
import { Column, SORT_DIRECTIONS } from "./column.ts";
import { DataStreamWriter } from "./writer.ts";
import type { Session } from "./session.ts";

export type ColumnLike = Column | string;

export class DataFrame {
  /** @internal */
  constructor(readonly session: Session, readonly plan: LogicalPlan) {}

  /** The result's columns and types (analyses the plan: a wrong column throws AnalysisError here). */
  get schema(): Schema {
    if (!this.isStreaming) return staticSchema(this.plan);
    return analyze(splitResultOrder(this.plan).plan).schema;
  }

  get columns(): string[] {
    return this.schema.fields.map((field) => field.name);
  }

  /** True when the DataFrame reads a stream (readStream), false for a static one (session.read, createDataFrame). */
  get isStreaming(): boolean {
    return isStreamingPlan(this.plan);
  }

  /** Prints the schema as a tree (Spark's printSchema). */
  printSchema(): void {
    process.stdout.write(treeString(this.schema));
  }

  /** Every row of a static DataFrame (runs its plan whole; Rill's actions return promises). */
  async collect(): Promise<Row[]> {
    return (await this.run()).rows;
  }

  /** The number of rows of a static DataFrame. */
  async count(): Promise<number> {
    return (await this.run()).rows.length;
  }

  /** The first `n` rows as Spark's show() prints them; with `truncate`, cells are cut to 20 characters (or to a number given). */
  async showString(n = 20, truncate: boolean | number = true): Promise<string> {
    const result = await this.run();
    return showString(result.schema, result.rows, n, truncate, result.rows.length > n);
  }

  async show(n = 20, truncate: boolean | number = true): Promise<void> {
    process.stdout.write(await this.showString(n, truncate));
  }

  /** The first `n` rows of a static DataFrame. */
  async take(n: number): Promise<Row[]> {
    return (await this.run()).rows.slice(0, n);
  }

  /** Distinct rows (Spark's distinct(): dropDuplicates over every column). */
  distinct(): DataFrame {
    return this.dropDuplicates();
  }

  /** Names this DataFrame, so that a join condition can say `name.column`. */
  alias(name: string): DataFrame {
    return this.derive({ kind: "alias", child: this.plan, name });
  }

  /**
   * Joins with another DataFrame, as Spark's join(other, on, how). `on`: a column name or a list of names (USING: one
   * key column each in the result, then the left's columns, then the right's), or a Column condition. One side may be a
   * stream: inner, left outer, left semi and left anti joins with the stream on the left, inner and right outer with it
   * on the right. A right-side column named like a left one is renamed `<name>_right`.
   * @example stream.cube("gt", "model").avg().join(static.groupBy("gt", "model").avg(), ["gt", "model"])
   */
  join(other: DataFrame, on?: string | readonly string[] | Column, how = "inner"): DataFrame {
    const joinType = joinTypeOf(how);
    const condition = on === undefined ? ({ kind: "none" } as const) : on instanceof Column ? ({ kind: "expression", condition: on.expr } as const) : ({ kind: "using", columns: typeof on === "string" ? [on] : [...on] } as const);
    if (joinType === "cross" && condition.kind !== "none") throw new AnalysisError("A cross join takes no condition: use crossJoin(other), or join(other, on, \"inner\").");
    const leftStreaming = this.isStreaming;
    const rightStreaming = other.isStreaming;
    const staticSide = !rightStreaming ? { side: "right" as const, input: other.staticInput() } : !leftStreaming ? { side: "left" as const, input: this.staticInput() } : undefined;
    return this.derive({ kind: "join", child: this.plan, other: other.plan, joinType: joinType === "cross" ? "inner" : joinType, on: condition, static: staticSide });
  }

  /** The Cartesian product with another DataFrame (Spark's crossJoin). */
  crossJoin(other: DataFrame): DataFrame {
    return this.join(other, undefined, "cross");
  }

  /** @internal This static DataFrame as the static side of a join: run whole when the query starts, and on its refresh interval. */
  staticInput(): StaticInput {
    const plan = this.plan;
    return {
      schema: () => staticSchema(plan),
      load: async () => (await this.runStatic(plan)).rows,
      refreshIntervalMs: refreshIntervalOf(plan),
      describe: describeSources(plan),
    };
  }

  private async run() {
    if (this.isStreaming) throw new AnalysisError("Queries with streaming sources must be executed with writeStream.start(): collect(), count(), take() and show() run static DataFrames only.");
    return await this.runStatic(this.plan);
  }

  /** Runs a static plan; its bad records then go to the session's static dead-letter subject, counted, and are logged in one line. */
  private async runStatic(plan: LogicalPlan) {
    const session = this.session;
    const deadLetters = new StaticDeadLetters(session.staticBadRecordTotals);
    try {
      return await executeStatic(plan, deadLetters);
    } finally {
      const line = await deadLetters.deliver(() => session.connect(), session.staticDeadLetterSettings(), describeSources(plan), (line) => session.log(line));
      if (line !== undefined) session.log(line);
    }
  }

  /** Columns by name (`"*"` for all) or Column expressions. */
  select(...columns: ColumnLike[]): DataFrame {
    const exprs = columns.map((column): Expr => (typeof column === "string" ? (column === "*" ? { kind: "star" } : { kind: "column", name: column }) : column.expr));
    return this.derive({ kind: "project", child: this.plan, columns: exprs, operation: `select(${exprs.map(describe).join(", ")})` });
  }

  /** SQL expression strings: `selectExpr("gt", "cast(x as double) as x")`. */
  selectExpr(...expressions: string[]): DataFrame {
    const exprs = expressions.map((text) => (text.trim() === "*" ? ({ kind: "star" } as const) : parseExpression(text)));
    return this.derive({ kind: "project", child: this.plan, columns: exprs, operation: `selectExpr(${expressions.map((text) => `"${text}"`).join(", ")})` });
  }

  /** Keeps rows where the condition (a Column or a SQL string) is true. */
  where(condition: ColumnLike): DataFrame {
    const expr = typeof condition === "string" ? parseExpression(condition) : condition.expr;
    return this.derive({ kind: "filter", child: this.plan, condition: expr });
  }

  filter(condition: ColumnLike): DataFrame {
    return this.where(condition);
  }

  withColumn(name: string, value: Column): DataFrame {
    return this.derive({ kind: "project", child: this.plan, columns: [value.expr], withColumn: name, operation: `withColumn('${name}')` });
  }

  /** Renames a column in place, as in Spark; a column that does not exist leaves the DataFrame as it is. */
  withColumnRenamed(existing: string, renamed: string): DataFrame {
    return this.derive({ kind: "project", child: this.plan, columns: [], rename: { existing, renamed }, operation: `withColumnRenamed('${existing}', '${renamed}')` });
  }

  /** Drops columns by name (case-insensitive); names that do not exist are ignored, as in Spark. */
  drop(...columns: ColumnLike[]): DataFrame {
    const names = columns.map((column) => (typeof column === "string" ? column : column.toString()));
    return this.derive({ kind: "project", child: this.plan, columns: [], drop: names, operation: `drop(${names.join(", ")})` });
  }

  /** A function per row. Give the output schema (zod) when the row's shape changes; without it the input schema is kept. */
  map(fn: (row: Row) => Row, schema?: ZodRowSchema): DataFrame {
    return this.derive({ kind: "map", child: this.plan, fn, schema: schema ? schemaFromZod(schema) : undefined });
  }

  flatMap(fn: (row: Row) => Iterable<Row>, schema?: ZodRowSchema): DataFrame {
    return this.derive({ kind: "flatMap", child: this.plan, fn, schema: schema ? schemaFromZod(schema) : undefined });
  }

  /**
   * Event time: the watermark is the latest `eventTime` seen minus `delay` ("10 minutes"). Stateful operators after
   * it drop records older than the watermark (counted) and free the state the watermark has closed.
   */
  withWatermark(eventTime: string, delay: string): DataFrame {
    return this.derive({ kind: "watermark", child: this.plan, column: eventTime, delay });
  }

  /** Drops rows whose columns (all, or the given ones) repeat an earlier row's; bounded by a watermark on a key column. */
  dropDuplicates(columns?: readonly string[]): DataFrame {
    return this.derive({ kind: "deduplicate", child: this.plan, columns, withinWatermark: false });
  }

  /** Drops a row that repeats the given columns of a row seen within the watermark delay (Spark 3.5). */
  dropDuplicatesWithinWatermark(columns?: readonly string[]): DataFrame {
    return this.derive({ kind: "deduplicate", child: this.plan, columns, withinWatermark: true });
  }

  /**
   * The rows of this stream and `other`, as Spark's union: columns are matched by position (the names are this
   * one's), the types must agree. Each side's withWatermark counts: the watermark is their minimum by default.
   */
  union(other: DataFrame): DataFrame {
    return this.derive({ kind: "union", child: this.plan, other: other.plan, byName: false, allowMissingColumns: false });
  }

  /** Same as union(): Spark's old name. */
  unionAll(other: DataFrame): DataFrame {
    return this.union(other);
  }

  /** union() matching columns by name; with `allowMissingColumns`, a column missing on one side is null there. */
  unionByName(other: DataFrame, allowMissingColumns = false): DataFrame {
    return this.derive({ kind: "union", child: this.plan, other: other.plan, byName: true, allowMissingColumns });
  }

  /** Groups by a key the function computes, for mapGroupsWithState / flatMapGroupsWithState (Spark's groupByKey). */
  groupByKey(keyFn: (row: Row) => unknown): KeyValueGroupedData {
    return new KeyValueGroupedData(this, keyFn);
  }

  groupBy(...columns: ColumnLike[]): GroupedData {
    return new GroupedData(this, "groupBy", columns);
  }

  cube(...columns: ColumnLike[]): GroupedData {
    return new GroupedData(this, "cube", columns);
  }

  rollup(...columns: ColumnLike[]): GroupedData {
    return new GroupedData(this, "rollup", columns);
  }

  /**
   * Sorts the result table: only after an aggregation in complete output mode, as in Spark. Ascending puts nulls first,
   * descending last; `col("x").desc()` or `desc("x")` sorts descending.
   * @example df.groupBy("gt").count().orderBy(desc("count")).limit(3)
   */
  orderBy(...columns: ColumnLike[]): DataFrame {
    if (columns.length === 0) throw new AnalysisError("orderBy() needs at least one column.");
    return this.derive({ kind: "sort", child: this.plan, orders: columns.map(sortOrderOf) });
  }

  sort(...columns: ColumnLike[]): DataFrame {
    return this.orderBy(...columns);
  }

  /** The first `count` rows: in append mode the first rows ever, in complete mode the first rows of the result table. */
  limit(count: number): DataFrame {
    if (!Number.isInteger(count) || count < 0) throw new AnalysisError(`The limit expression must be equal to or greater than 0, but got ${count}.`);
    return this.derive({ kind: "limit", child: this.plan, count });
  }

  /** Names this DataFrame for session.sql(); fails if a temporary view of that name exists (Spark's createTempView). */
  createTempView(name: string): void {
    this.session.registerTempView(name, this, false);
  }

  /** Names this DataFrame for session.sql(), replacing a temporary view of that name. */
  createOrReplaceTempView(name: string): void {
    this.session.registerTempView(name, this, true);
  }

  get writeStream(): DataStreamWriter {
    if (!this.isStreaming) throw new AnalysisError("'writeStream' can be called only on streaming Dataset/DataFrame: this one is static (session.read). Use collect(), count() or show(), or read it with session.readStream.");
    return new DataStreamWriter(this);
  }

  /** @internal */
  derive(plan: LogicalPlan): DataFrame {
    return new DataFrame(this.session, plan);
  }
}

const MAP_FORM_NAMES: ReadonlyMap<string, string> = new Map([["mean", "avg"], ["average", "avg"], ["size", "count"]]);

export class GroupedData {
  constructor(private readonly frame: DataFrame, private readonly grouping: GroupingKind, private readonly columns: readonly ColumnLike[]) {}

  /** Aggregate Columns (`count("*")`, `avg("x").alias("ax")`), SQL strings, or Spark's map form `{ x: "avg" }`. */
  agg(...aggregates: Array<Column | string | Record<string, string>>): DataFrame {
    const exprs = aggregates.flatMap((aggregate): Expr[] => {
      if (aggregate instanceof Column) return [aggregate.expr];
      if (typeof aggregate === "string") return [parseExpression(aggregate)];
      // As Spark's map form (RelationalGroupedDataset.strToExpr): mean and average are avg, size is count.
      return Object.entries(aggregate).map(([column, fn]) => ({ kind: "call", name: MAP_FORM_NAMES.get(fn.toLowerCase()) ?? fn.toLowerCase(), args: [column === "*" ? { kind: "star" } : { kind: "column", name: column }], distinct: false }));
    });
    if (exprs.length === 0) throw new AnalysisError(`${this.grouping}(...).agg() needs at least one aggregate, e.g. agg(count("*")).`);
    return this.aggregate(exprs);
  }

  /** The number of rows per group, in a column named `count`. */
  count(): DataFrame {
    return this.aggregate([{ kind: "alias", operand: { kind: "call", name: "count", args: [{ kind: "star" }], distinct: false }, name: "count" }]);
  }

  avg(...columns: string[]): DataFrame {
    return this.numeric("avg", columns);
  }

  mean(...columns: string[]): DataFrame {
    return this.numeric("avg", columns);
  }

  sum(...columns: string[]): DataFrame {
    return this.numeric("sum", columns);
  }

  min(...columns: string[]): DataFrame {
    return this.numeric("min", columns);
  }

  max(...columns: string[]): DataFrame {
    return this.numeric("max", columns);
  }

  private numeric(fn: string, columns: string[]): DataFrame {
    return this.frame.derive({ kind: "aggregate", child: this.frame.plan, grouping: this.grouping, groupBy: this.keys(), aggregates: { numericColumns: fn, columns } });
  }

  private aggregate(aggregates: Expr[]): DataFrame {
    return this.frame.derive({ kind: "aggregate", child: this.frame.plan, grouping: this.grouping, groupBy: this.keys(), aggregates });
  }

  private keys(): Expr[] {
    return this.columns.map((column) => (typeof column === "string" ? { kind: "column", name: column } : column.expr));
  }
}

/** A sort key: a column name, a Column, or a Column with asc()/desc() (and their nulls_first / nulls_last forms). */
function sortOrderOf(column: ColumnLike): SortOrder {
  const expr: Expr = typeof column === "string" ? { kind: "column", name: column } : column.expr;
  if (expr.kind === "call" && expr.args.length === 1 && SORT_DIRECTIONS.has(expr.name)) {
    const descending = expr.name.startsWith("desc");
    const nullsFirst = expr.name.endsWith("nulls_first") || (!descending && !expr.name.endsWith("nulls_last"));
    return { expr: expr.args[0] as Expr, descending, nullsFirst };
  }
  return { expr, descending: false, nullsFirst: true };
}

const JOIN_TYPES: ReadonlyMap<string, JoinType | "cross"> = new Map<string, JoinType | "cross">([
  ["inner", "inner"], ["cross", "cross"],
  ["outer", "full_outer"], ["full", "full_outer"], ["fullouter", "full_outer"],
  ["left", "left_outer"], ["leftouter", "left_outer"],
  ["right", "right_outer"], ["rightouter", "right_outer"],
  ["semi", "left_semi"], ["leftsemi", "left_semi"],
  ["anti", "left_anti"], ["leftanti", "left_anti"],
]);

/** Spark's JoinType.apply: case and underscores do not matter. */
function joinTypeOf(how: string): JoinType | "cross" {
  const type = JOIN_TYPES.get(how.toLowerCase().replaceAll("_", ""));
  if (type === undefined) throw new AnalysisError(`Unsupported join type '${how}'. Supported join types include: 'inner', 'outer', 'full', 'fullouter', 'full_outer', 'leftouter', 'left', 'left_outer', 'rightouter', 'right', 'right_outer', 'leftsemi', 'left_semi', 'semi', 'leftanti', 'left_anti', 'anti', 'cross'.`);
  return type;
}

function boundedInputs(plan: LogicalPlan): BoundedInput[] {
  if (plan.kind === "source") return plan.bounded ? [plan.bounded] : [];
  if (plan.kind === "union" || plan.kind === "join") return [...boundedInputs(plan.child), ...boundedInputs(plan.other)];
  return boundedInputs(plan.child);
}

/** The shortest refreshInterval of a static plan's inputs, if any has one. */
function refreshIntervalOf(plan: LogicalPlan): number | undefined {
  const intervals = boundedInputs(plan).map((input) => input.refreshIntervalMs).filter((ms): ms is number => ms !== undefined);
  return intervals.length === 0 ? undefined : Math.min(...intervals);
}

function describeSources(plan: LogicalPlan): string {
  if (plan.kind === "source") return plan.describe;
  if (plan.kind === "union" || plan.kind === "join") return `${describeSources(plan.child)} + ${describeSources(plan.other)}`;
  return describeSources(plan.child);
}

function describe(expr: Expr): string {
  return expr.kind === "column" ? expr.name : expr.kind === "star" ? "*" : "expression";
}

export interface GroupStateOptions {
  /** The zod schema of the rows the function returns. */
  readonly outputSchema: ZodRowSchema;
  /** "none" (default), "processingTime" (setTimeoutDuration) or "eventTime" (setTimeoutTimestamp; needs a watermark). */
  readonly timeout?: GroupStateTimeout;
}

/** groupByKey(fn): arbitrary stateful processing per key (seed 22.7). */
export class KeyValueGroupedData {
  constructor(private readonly frame: DataFrame, private readonly keyFn: (row: Row) => unknown) {}

  /** One row per key per call, with the key's state; update mode only, as in Spark. */
  mapGroupsWithState<S>(fn: (key: string, rows: Row[], state: GroupState<S>) => Row, options: GroupStateOptions): DataFrame {
    const flat = (key: string, rows: Row[], state: GroupState<unknown>) => [fn(key, rows, state as GroupState<S>)];
    return this.node(flat, true, "update", options);
  }

  /** Any number of rows per key per call; `outputMode` must match the query's (append or update). */
  flatMapGroupsWithState<S>(outputMode: "append" | "update", fn: (key: string, rows: Row[], state: GroupState<S>) => Iterable<Row>, options: GroupStateOptions): DataFrame {
    return this.node((key, rows, state) => fn(key, rows, state as GroupState<S>), false, outputMode, options);
  }

  private node(fn: (key: string, rows: Row[], state: GroupState<unknown>) => Iterable<Row>, single: boolean, outputMode: "append" | "update", options: GroupStateOptions): DataFrame {
    return this.frame.derive({ kind: "groupState", child: this.frame.plan, keyFn: this.keyFn, fn, single, outputMode, timeout: options.timeout ?? "none", schema: schemaFromZod(options.outputSchema) });
  }
}
