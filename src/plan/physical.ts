// Physical planning: cuts the analysed steps into stages (source, shuffle, sink) and partitions them over actors.
import type { ExecutionGraph, StageSpec } from "../actors/runtime.ts";
import type { OutputMode, SinkProvider } from "../connectors/sinks/sink.ts";
import type { SourceProvider } from "../connectors/sources/source.ts";
import { AnalysisError } from "../core/errors.ts";
import type { Operator } from "../operators/operator.ts";
import type { StatefulOperatorInfo } from "../state/types.ts";
import type { AnalyzedPlan, Step } from "./analyzer.ts";
import { createPositionalChain, isPositionalPlan, positionalPlanOf, positionalSourcePlanOf, type PositionalChainPlan, type PositionalMode } from "./positional-rows.ts";

export interface PhysicalOptions {
  readonly queryName: string;
  readonly queryId: string;
  readonly sink: SinkProvider;
  readonly outputMode: OutputMode;
  readonly microBatch: boolean;
  /** Partitions (actors) of a keyed stage: `rill.shuffle.partitions`. */
  readonly shufflePartitions: number;
  /** Chain stateless operators into the actor before them (true), or give each its own actor. */
  readonly chaining: boolean;
  readonly deadLetterSubject: string;
  /** How an actor combines the watermarks of a union's inputs (spark.sql.streaming.multipleWatermarkPolicy). */
  readonly multipleWatermarkPolicy?: "min" | "max";
  /** `rill.rows.positional`: operator stages whose whole chain has positional forms, and source stages whose source also builds arrays, run rows by position (auto). */
  readonly rowsPositional?: PositionalMode;
}

interface StageDraft {
  role: StageSpec["role"];
  kind: string;
  parallelism: number;
  steps: Step[];
  exchangeColumns: readonly string[] | undefined;
  /** The drafts this one reads from (a union's stage reads from each input's). */
  inputs: number[];
  source: SourceProvider | undefined;
  /** A withWatermark runs here or upstream: this stage's actors send watermarks. */
  carriesWatermark: boolean;
}

export function checkOutputMode(plan: AnalyzedPlan, mode: OutputMode): void {
  if (plan.hasAggregate && mode === "append" && !plan.appendable) {
    throw new AnalysisError("Append output mode not supported when there are streaming aggregations on streaming DataFrames without watermark: a group's row can change with every new record, so it never becomes final. Use outputMode(\"update\") or outputMode(\"complete\"), or add withWatermark(eventTime, delay) and group by window(eventTime, ...) so that each window's row leaves once, when the watermark passes its end.");
  }
  if (!plan.hasAggregate && mode === "complete") {
    throw new AnalysisError("Complete output mode not supported when there are no streaming aggregations on streaming DataFrames: the whole result would be every row ever seen. Use outputMode(\"append\") or outputMode(\"update\").");
  }
}

export function buildExecutionGraph(plan: AnalyzedPlan, options: PhysicalOptions): ExecutionGraph {
  const drafts: StageDraft[] = [];
  // One source stage per input (a union has several); the steps before a union always chain into its source's actors.
  for (const branch of plan.branches ?? [{ source: plan.source, steps: [] }]) {
    drafts.push({ role: "source", kind: `source-${branch.source.format}`, parallelism: branch.source.numPartitions, steps: [...branch.steps], exchangeColumns: undefined, inputs: [], source: branch.source, carriesWatermark: branch.steps.some(isWatermark) });
  }
  let tails = drafts.map((_, index) => index);
  const draftsOf = (indices: readonly number[]) => indices.map((index) => drafts[index] as StageDraft);
  for (const step of plan.steps) {
    const carries = draftsOf(tails).some((draft) => draft.carriesWatermark) || isWatermark(step);
    if (step.exchangeColumns !== undefined) {
      for (const tail of draftsOf(tails)) tail.exchangeColumns = step.exchangeColumns;
      drafts.push({ role: "operator", kind: step.name, parallelism: options.shufflePartitions, steps: [step], exchangeColumns: undefined, inputs: tails, source: undefined, carriesWatermark: carries });
      tails = [drafts.length - 1];
    } else if (options.chaining) {
      for (const tail of draftsOf(tails)) {
        tail.steps.push(step);
        tail.carriesWatermark ||= isWatermark(step);
      }
    } else {
      const parallelism = Math.max(...draftsOf(tails).map((draft) => draft.parallelism));
      drafts.push({ role: "operator", kind: step.name, parallelism, steps: [step], exchangeColumns: undefined, inputs: tails, source: undefined, carriesWatermark: carries });
      tails = [drafts.length - 1];
    }
  }
  drafts.push({ role: "sink", kind: `sink-${options.sink.format}`, parallelism: 1, steps: [], exchangeColumns: undefined, inputs: tails, source: undefined, carriesWatermark: draftsOf(tails).some((draft) => draft.carriesWatermark) });
  const stages = drafts.map((draft, index): StageSpec => {
    const id = `s${index}-${draft.kind}`;
    const idOf = (step: Step, position: number, partition: number) => `${id}.${position}-${step.name}.p${partition}`;
    const positionalSteps = draft.steps.map((step) => step.positional);
    const mode = options.rowsPositional ?? "auto";
    const positional = draft.source
      ? positionalSourcePlanOf({ sourceColumns: draft.source.createPositionalReader ? draft.source.schema.fields.map((field) => field.name) : undefined, steps: positionalSteps, exchangeColumns: draft.exchangeColumns }, mode)
      : positionalPlanOf({ role: draft.role, steps: positionalSteps, inputs: draft.steps.map((step) => step.positionalInput), exchangeColumns: draft.exchangeColumns }, mode);
    return {
      id,
      role: draft.role,
      parallelism: draft.parallelism,
      exchange: draft.exchangeColumns ? { kind: "hash", columns: draft.exchangeColumns } : { kind: "forward" },
      createOperators: (partition): Operator[] => draft.steps.map((step, position) => step.create(idOf(step, position, partition), partition)),
      ...(isPositionalPlan(positional) ? {
        createPositional: (partition: number) => createPositionalChain(positional, draft.steps.map((step, position) => idOf(step, position, partition))),
        positionalDetail: positionalDetailOf(positional, draft.steps),
      } : {}),
      inputs: draft.inputs,
      carriesWatermark: draft.carriesWatermark,
      stepDetails: draft.steps.map((step) => `${step.name}: ${step.detail}`),
      ...(draft.source ? { source: draft.source } : {}),
      ...(draft.role === "sink" ? { sink: options.sink } : {}),
    };
  });
  return { queryName: options.queryName, queryId: options.queryId, stages, outputMode: options.outputMode, microBatch: options.microBatch, deadLetterSubject: options.deadLetterSubject, multipleWatermarkPolicy: options.multipleWatermarkPolicy ?? "min", resultOrder: plan.resultOrder };
}

/** The source actors' names (`s<input>-source-<format>.p<partition>`): a checkpoint keeps each one's offsets. */
export function sourceActorNames(plan: AnalyzedPlan): string[] {
  const sources = (plan.branches ?? [{ source: plan.source }]).map((branch) => branch.source);
  return sources.flatMap((source, index) => Array.from({ length: source.numPartitions }, (_, partition) => `s${index}-source-${source.format}.p${partition}`));
}

/** What each source actor reads, for the sources that say (SourceProvider.partitionIdentity): a checkpoint keeps it. */
export function sourceIdentities(plan: AnalyzedPlan): Record<string, string> {
  const sources = (plan.branches ?? [{ source: plan.source }]).map((branch) => branch.source);
  const identities: Record<string, string> = {};
  sources.forEach((source, index) => {
    if (!source.partitionIdentity) return;
    for (let partition = 0; partition < source.numPartitions; partition++) identities[`s${index}-source-${source.format}.p${partition}`] = source.partitionIdentity(partition);
  });
  return identities;
}

/** explain()'s words for how a positional stage runs: the whole chain, or into (and out of) a stateful step. */
function positionalDetailOf(plan: PositionalChainPlan, steps: readonly Step[]): string {
  if (plan.through) return ` into ${steps[plan.through.index]?.name ?? "a step"} (its input read by index) and out of it by position`;
  if (plan.namedFrom) return ` into ${steps[plan.namedFrom.index]?.name ?? "a step"} (its input read by index), named after it`;
  return "";
}

function isWatermark(step: Step): boolean {
  return step.name === "watermark";
}

/** The physical plan as text: stages, partitions, operators, exchanges. */
export function describeGraph(_plan: AnalyzedPlan | undefined, graph: ExecutionGraph, subjectOf: (actor: string) => string): string {
  const lines: string[] = [];
  for (const stage of graph.stages) {
    const exchange = stage.exchange.kind === "hash" ? `hash(${stage.exchange.columns.filter((column) => !column.startsWith("__")).join(", ")})` : "forward";
    lines.push(`${stage.id}  x${stage.parallelism}  -> ${exchange}   subjects ${subjectOf(`${stage.id}.p*`)}`);
    if (stage.source) lines.push(`    source ${stage.source.description} (${stage.source.guarantee})`);
    for (const detail of stage.stepDetails ?? []) lines.push(`    ${detail}`);
    if (stage.createPositional) lines.push(`    rows by position${stage.positionalDetail ?? ""}`);
    if (stage.sink) lines.push(`    sink ${stage.sink.description} (${stage.sink.guarantee}), output mode ${graph.outputMode}${describeOrder(graph)}`);
  }
  return lines.join("\n");
}

/** The stateful operators a checkpoint records and a restart must find unchanged (the sink's result table included). */
export function statefulOperators(plan: AnalyzedPlan, outputMode: OutputMode): StatefulOperatorInfo[] {
  const steps = [...(plan.branches ?? []).flatMap((branch) => branch.steps), ...plan.steps];
  const operators: StatefulOperatorInfo[] = steps.filter((step) => step.stateId).map((step) => ({ stateId: step.stateId as string, kind: step.name, signature: step.signature ?? "", ...(step.stateSchema === undefined ? {} : { stateSchema: step.stateSchema }), ...(step.definition === undefined ? {} : { definition: step.definition }) }));
  operators.push({ stateId: "sink", kind: "sink", signature: outputMode === "complete" ? "complete result table" : "row counts" });
  return operators;
}

function describeOrder(graph: ExecutionGraph): string {
  const order = graph.resultOrder;
  if (order === undefined) return "";
  return `${order.compare === undefined ? "" : ", sorted"}${order.limit === undefined ? "" : `, limit ${order.limit}`}`;
}
