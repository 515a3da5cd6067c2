// The logical plan: what the user's DataFrame calls describe, before analysis resolves columns and types.
import type { Expr } from "../expr/ast.ts";
import type { Row, Schema } from "../core/types.ts";
import type { SourceProvider } from "../connectors/sources/source.ts";
import type { GroupState, GroupStateTimeout } from "../operators/group-state.ts";

/** Creates the source when the query is analysed; the provider knows its schema. */
export interface SourceNode {
  readonly kind: "source";
  readonly describe: string;
  readonly create: () => SourceProvider;
  /** A static input (session.read, createDataFrame): its readers end, and the DataFrame is not streaming. */
  readonly bounded?: BoundedInput;
}

export interface BoundedInput {
  /** option("refreshInterval", ...): a stream-static join reloads this input every so many ms. */
  readonly refreshIntervalMs: number | undefined;
}

/** The static side of a join, run whole by the static engine when the query starts (and again on its refresh interval). */
export interface StaticInput {
  readonly schema: () => Schema;
  readonly load: () => Promise<Row[]>;
  readonly refreshIntervalMs: number | undefined;
  readonly describe: string;
}

/** Spark's join types, by their canonical names. */
export type JoinType = "inner" | "left_outer" | "right_outer" | "full_outer" | "left_semi" | "left_anti" | "cross";

export type JoinCondition =
  | { readonly kind: "using"; readonly columns: readonly string[] }
  | { readonly kind: "expression"; readonly condition: Expr }
  | { readonly kind: "none" };

/**
 * join(other, on, how). `static` says which side is static (run whole when the query starts, then probed by the rows of
 * the other side); both sides static: the right one. Undefined: both sides are streams.
 */
export interface JoinNode {
  readonly kind: "join";
  readonly child: LogicalPlan;
  readonly other: LogicalPlan;
  readonly joinType: JoinType;
  readonly on: JoinCondition;
  readonly static: { readonly side: "left" | "right"; readonly input: StaticInput } | undefined;
}

/** df.alias(name): names the DataFrame so a join condition can say `name.column`. */
export interface AliasNode {
  readonly kind: "alias";
  readonly child: LogicalPlan;
  readonly name: string;
}

export interface ProjectNode {
  readonly kind: "project";
  readonly child: LogicalPlan;
  /** `star` expands to every input column. */
  readonly columns: readonly Expr[];
  /** Set by drop(): the names to remove (case-insensitive); `columns` is then ignored. */
  readonly drop?: readonly string[];
  /** Set by withColumn(): the new column's name, which replaces an existing one. */
  readonly withColumn?: string;
  /** Set by withColumnRenamed(): the column keeps its place under the new name; a missing column is a no-op. */
  readonly rename?: { readonly existing: string; readonly renamed: string };
  readonly operation: string;
}

export interface FilterNode {
  readonly kind: "filter";
  readonly child: LogicalPlan;
  readonly condition: Expr;
}

export interface MapNode {
  readonly kind: "map" | "flatMap";
  readonly child: LogicalPlan;
  readonly fn: ((row: Row) => Row) | ((row: Row) => Iterable<Row>);
  /** The output schema; undefined keeps the input schema. */
  readonly schema: Schema | undefined;
}

export type GroupingKind = "groupBy" | "cube" | "rollup";

export interface AggregateNode {
  readonly kind: "aggregate";
  readonly child: LogicalPlan;
  readonly grouping: GroupingKind;
  readonly groupBy: readonly Expr[];
  /** Aggregate calls, optionally aliased; `numericColumns` expands to every numeric input column. */
  readonly aggregates: readonly Expr[] | { readonly numericColumns: string; readonly columns: readonly string[] };
}

/** withWatermark(column, delay). */
export interface WatermarkNode {
  readonly kind: "watermark";
  readonly child: LogicalPlan;
  readonly column: string;
  readonly delay: string;
}

/** dropDuplicates(columns) and dropDuplicatesWithinWatermark(columns); undefined columns: all of them. */
export interface DeduplicateNode {
  readonly kind: "deduplicate";
  readonly child: LogicalPlan;
  readonly columns: readonly string[] | undefined;
  readonly withinWatermark: boolean;
}

/** groupByKey(fn).mapGroupsWithState / flatMapGroupsWithState: a user function per key with its own state. */
export interface GroupStateNode {
  readonly kind: "groupState";
  readonly child: LogicalPlan;
  readonly keyFn: (row: Row) => unknown;
  readonly fn: (key: string, rows: Row[], state: GroupState<unknown>) => Iterable<Row>;
  /** mapGroupsWithState: one row per call, update mode only. */
  readonly single: boolean;
  readonly outputMode: "append" | "update";
  readonly timeout: GroupStateTimeout;
  readonly schema: Schema;
}

/** union / unionByName: the rows of both streams; columns by position (by name with unionByName), named as the first's. */
export interface UnionNode {
  readonly kind: "union";
  readonly child: LogicalPlan;
  readonly other: LogicalPlan;
  readonly byName: boolean;
  /** unionByName(other, true): a column missing on one side is null there. */
  readonly allowMissingColumns: boolean;
}

/** orderBy / sort: one entry per sort key. Rill applies it to the result table at the sink (complete mode). */
export interface SortNode {
  readonly kind: "sort";
  readonly child: LogicalPlan;
  readonly orders: readonly SortOrder[];
}

export interface SortOrder {
  readonly expr: Expr;
  readonly descending: boolean;
  readonly nullsFirst: boolean;
}

/** limit(n): the first n rows (append mode) or the first n rows of the result table (complete mode). */
export interface LimitNode {
  readonly kind: "limit";
  readonly child: LogicalPlan;
  readonly count: number;
}

export type LogicalPlan = SortNode | LimitNode | SourceNode | ProjectNode | FilterNode | MapNode | AggregateNode | WatermarkNode | DeduplicateNode | GroupStateNode | UnionNode | JoinNode | AliasNode;

/** A plan reads a stream when any of its sources does (a join's static side does not count). */
export function isStreamingPlan(node: LogicalPlan): boolean {
  switch (node.kind) {
    case "source": return node.bounded === undefined;
    case "union":
    case "join": return isStreamingPlan(node.child) || isStreamingPlan(node.other);
    default: return isStreamingPlan(node.child);
  }
}

export function describeNode(node: LogicalPlan): string {
  switch (node.kind) {
    case "source": return `${node.bounded ? "StaticSource" : "StreamingSource"} ${node.describe}`;
    case "join": return `Join ${node.joinType}`;
    case "alias": return `SubqueryAlias ${node.name}`;
    case "project": return node.operation;
    case "filter": return "Filter";
    case "map": return "Map";
    case "flatMap": return "FlatMap";
    case "aggregate": return node.grouping === "groupBy" ? "Aggregate" : `Aggregate (${node.grouping})`;
    case "watermark": return `EventTimeWatermark ${node.column}, ${node.delay}`;
    case "deduplicate": return node.withinWatermark ? "DeduplicateWithinWatermark" : "Deduplicate";
    case "groupState": return node.single ? "MapGroupsWithState" : "FlatMapGroupsWithState";
    case "union": return node.byName ? "Union (by name)" : "Union";
    case "sort": return "Sort";
    case "limit": return `Limit ${node.count}`;
  }
}
