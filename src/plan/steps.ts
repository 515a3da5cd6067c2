// What analysis produces: a line of steps (operator factories) and what is known about the rows between them.
import { columnRead } from "../core/column-read.ts";
import type { OutputMode } from "../connectors/sinks/sink.ts";
import type { SourceProvider } from "../connectors/sources/source.ts";
import { AnalysisError } from "../core/errors.ts";
import { findField, type Field, type Row, type Schema } from "../core/types.ts";
import type { StaticTable } from "../operators/join-static-table.ts";
import type { Operator } from "../operators/operator.ts";
import type { PositionalInput, PositionalOperator } from "../operators/positional-operator.ts";

export interface Step {
  /** `keyed` and `aggregate` steps run after a hash exchange on `exchangeColumns`. */
  readonly kind: "stateless" | "aggregate" | "keyed";
  /** Operator kind for ids and explain(): `filter`, `project`, `aggregate`... */
  readonly name: string;
  readonly detail: string;
  readonly exchangeColumns?: readonly string[];
  /** Stateful steps: the state's id and what must not change across restarts from a checkpoint. */
  readonly stateId?: string;
  readonly signature?: string;
  /** Stateful steps: the types of the state's keys and values; a restart that changes one is refused as Spark does. */
  readonly stateSchema?: string;
  /** Stateful steps: what the state's keys and values are computed from (expressions' text); must not change either. */
  readonly definition?: string;
  create(id: string, partition: number): Operator;
  /**
   * The same step over rows by position (src/plan/positional-rows.ts decides where it runs): rows come in as arrays in
   * the order of `inputColumns` and leave in the order of `outputColumns`. Absent: the step has no positional form.
   */
  readonly positional?: PositionalStep;
  /**
   * Positional input, named output (a stateful step with no positional form, such as the aggregation): its rows may
   * come in by position, in the order of `inputColumns`, and it emits named rows.
   */
  readonly positionalInput?: PositionalInput;
}

/** A step's positional form: the column orders it reads and writes, and its operator (same id as the named one). */
export interface PositionalStep {
  readonly inputColumns: readonly string[];
  readonly outputColumns: readonly string[];
  create(id: string): PositionalOperator;
}

/** The event-time column a withWatermark named, while it is still in the rows, and its delay. */
export interface EventTime {
  readonly column: string;
  readonly delayMs: number;
}

export interface AnalysisOptions {
  readonly outputMode: OutputMode;
  /** Event times this far ahead of the wall clock do not move a watermark. */
  readonly maxFutureMs: number;
  /** How a withWatermark combines with one before it (spark.sql.streaming.multipleWatermarkPolicy); min by default. */
  readonly multipleWatermarkPolicy?: "min" | "max";
  /** Set by analyze(): the query has an aggregation somewhere (Spark's rules for *GroupsWithState depend on it). */
  readonly queryHasAggregate?: boolean;
  /** Only the schema is wanted (session.sql planning): the stream-static join support rules wait for start(). */
  readonly schemaOnly?: boolean;
}

/** One input of a union: its source and the (stateless) steps between the source and the union. */
export interface Branch {
  readonly source: SourceProvider;
  readonly steps: readonly Step[];
}

export interface Analysis {
  /** The source; after a union, the first branch's (every branch is in `branches`). */
  readonly source: SourceProvider;
  /** After a union: its inputs, each with its own source and steps; `steps` are then the steps after the union. */
  readonly branches?: readonly Branch[];
  readonly steps: Step[];
  readonly schema: Schema;
  /** After an update/complete aggregation every row carries ROW_KEY, which each later step must keep. */
  readonly keyed: boolean;
  readonly hasAggregate: boolean;
  /** The aggregation's groups close with the watermark, so append mode can emit them once. */
  readonly appendable: boolean;
  readonly eventTime: EventTime | undefined;
  /** Stateful steps so far, for stable state ids (`aggregate-0`, `deduplicate-1`). */
  readonly statefulCount: number;
  /** The static sides of stream-static joins so far: loaded before the query's actors start. */
  readonly staticTables?: readonly StaticTable[];
  /**
   * A stream-stream time-interval join so far (named here): it emits rows older than the watermark, which a stateful
   * operator after it would take as late (Spark's global watermark correctness check).
   */
  readonly emitsDelayedRows?: string;
}

export function extend(child: Analysis, step: Step, schema: Schema, changes: Partial<Analysis> = {}): Analysis {
  return { ...child, ...changes, steps: [...child.steps, step], schema };
}

export function passThrough(field: Field): { field: Field; name: string; evaluate: (row: Row) => unknown } {
  const name = field.name;
  return { field, name, evaluate: columnRead(name, false) };
}

export function checkDuplicates(names: readonly string[], operation: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    if (seen.has(lower)) throw new AnalysisError(`${operation} produces the column '${name}' twice; give one of them another name with alias().`);
    seen.add(lower);
  }
}

/** Some withWatermark comes before this point (in a union's inputs too). */
export function hasWatermark(analysis: Analysis): boolean {
  const isWatermark = (step: Step) => step.name === "watermark";
  return analysis.steps.some(isWatermark) || (analysis.branches ?? []).some((branch) => branch.steps.some(isWatermark));
}

/** `s.a` naming a struct field rather than a column whose name has a dot: compile it, do not pass it through. */
export function isNestedReference(schema: Schema, name: string): boolean {
  return name.includes(".") && findField(schema, name) === undefined;
}
