// Physical planning: cuts the analysed steps into stages (source, shuffle, sink) and partitions them over actors.
import type { ExecutionGraph, StageSpec } from "../actors/runtime.ts";
import type { OutputMode, SinkProvider } from "../connectors/sinks/sink.ts";
import { AnalysisError } from "../core/errors.ts";
import type { Operator } from "../operators/operator.ts";
import type { StatefulOperatorInfo } from "../state/types.ts";
import type { AnalyzedPlan, Step } from "./analyzer.ts";

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
}

interface StageDraft {
  role: StageSpec["role"];
  kind: string;
  parallelism: number;
  steps: Step[];
  exchangeColumns: readonly string[] | undefined;
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
  const drafts: StageDraft[] = [{ role: "source", kind: `source-${plan.source.format}`, parallelism: plan.source.numPartitions, steps: [], exchangeColumns: undefined }];
  for (const step of plan.steps) {
    const last = drafts[drafts.length - 1] as StageDraft;
    if (step.exchangeColumns !== undefined) {
      last.exchangeColumns = step.exchangeColumns;
      drafts.push({ role: "operator", kind: step.name, parallelism: options.shufflePartitions, steps: [step], exchangeColumns: undefined });
    } else if (options.chaining) {
      last.steps.push(step);
    } else {
      drafts.push({ role: "operator", kind: step.name, parallelism: last.parallelism, steps: [step], exchangeColumns: undefined });
    }
  }
  drafts.push({ role: "sink", kind: `sink-${options.sink.format}`, parallelism: 1, steps: [], exchangeColumns: undefined });
  const stages = drafts.map((draft, index): StageSpec => {
    const id = `s${index}-${draft.kind}`;
    return {
      id,
      role: draft.role,
      parallelism: draft.parallelism,
      exchange: draft.exchangeColumns ? { kind: "hash", columns: draft.exchangeColumns } : { kind: "forward" },
      createOperators: (partition): Operator[] => draft.steps.map((step, position) => step.create(`${id}.${position}-${step.name}.p${partition}`, partition)),
      ...(draft.role === "source" ? { source: plan.source } : {}),
      ...(draft.role === "sink" ? { sink: options.sink } : {}),
    };
  });
  return { queryName: options.queryName, queryId: options.queryId, stages, outputMode: options.outputMode, microBatch: options.microBatch, deadLetterSubject: options.deadLetterSubject, resultOrder: plan.resultOrder };
}

/** The physical plan as text: stages, partitions, operators, exchanges. */
export function describeGraph(plan: AnalyzedPlan, graph: ExecutionGraph, subjectOf: (actor: string) => string): string {
  const lines: string[] = [];
  let stepIndex = 0;
  for (const stage of graph.stages) {
    const exchange = stage.exchange.kind === "hash" ? `hash(${stage.exchange.columns.filter((column) => !column.startsWith("__")).join(", ")})` : "forward";
    lines.push(`${stage.id}  x${stage.parallelism}  -> ${exchange}   subjects ${subjectOf(`${stage.id}.p*`)}`);
    if (stage.source) lines.push(`    source ${stage.source.description} (${stage.source.guarantee})`);
    const count = stage.createOperators(0).length;
    for (let index = 0; index < count; index++) {
      const step = plan.steps[stepIndex++] as Step;
      lines.push(`    ${step.name}: ${step.detail}`);
    }
    if (stage.sink) lines.push(`    sink ${stage.sink.description} (${stage.sink.guarantee}), output mode ${graph.outputMode}${describeOrder(graph)}`);
  }
  return lines.join("\n");
}

/** The stateful operators a checkpoint records and a restart must find unchanged (the sink's result table included). */
export function statefulOperators(plan: AnalyzedPlan, outputMode: OutputMode): StatefulOperatorInfo[] {
  const operators: StatefulOperatorInfo[] = plan.steps.filter((step) => step.stateId).map((step) => ({ stateId: step.stateId as string, kind: step.name, signature: step.signature ?? "" }));
  operators.push({ stateId: "sink", kind: "sink", signature: outputMode === "complete" ? "complete result table" : "row counts" });
  return operators;
}

function describeOrder(graph: ExecutionGraph): string {
  const order = graph.resultOrder;
  if (order === undefined) return "";
  return `${order.compare === undefined ? "" : ", sorted"}${order.limit === undefined ? "" : `, limit ${order.limit}`}`;
}
