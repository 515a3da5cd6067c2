// The plan as the dashboard draws it: stages, their actors and subjects, parsed from query.explain() (or from progress alone).
import type { StageProgress } from "../api/progress.ts";

export interface PlanActor {
  readonly id: string;
  readonly subject: string | null;
}

export interface PlanStage {
  readonly id: string;
  readonly parallelism: number;
  /** How rows leave the stage: `forward` or `hash(columns)`. */
  readonly exchange: string;
  /** The source, the chained operators and the sink, one line each. */
  readonly steps: readonly string[];
  readonly actors: readonly PlanActor[];
}

export interface PlanView {
  /** As explain() gives it, e.g. `continuous 1000 ms`. */
  readonly trigger: string | null;
  readonly transport: string | null;
  readonly guarantee: string | null;
  readonly stages: readonly PlanStage[];
}

const STAGE_LINE = /^(\S+)\s+x(\d+)\s+->\s+(.+?)\s+subjects\s+(\S+)\s*$/;
const TRANSPORT_LINE = /^== Physical plan \(transport (.+)\) ==$/;
const QUERY_LINE = /^== Query .* \(trigger (.+)\) ==$/;

/** Reads the physical plan section of `query.explain()`; returns undefined if it has no stage lines. */
export function planFromExplain(text: string): PlanView | undefined {
  const lines = text.split("\n");
  const stages: Array<{ id: string; parallelism: number; exchange: string; subjects: string; steps: string[] }> = [];
  let trigger: string | null = null;
  let transport: string | null = null;
  let guarantee: string | null = null;
  let section = "";
  for (const line of lines) {
    if (line.startsWith("== ")) {
      section = line;
      transport = TRANSPORT_LINE.exec(line)?.[1] ?? transport;
      trigger = QUERY_LINE.exec(line)?.[1] ?? trigger;
      continue;
    }
    if (section.startsWith("== Guarantee")) {
      guarantee = line.trim() || guarantee;
      continue;
    }
    if (!section.startsWith("== Physical plan")) continue;
    const match = STAGE_LINE.exec(line);
    if (match) {
      stages.push({ id: match[1] ?? "", parallelism: Number(match[2]), exchange: match[3] ?? "", subjects: match[4] ?? "", steps: [] });
    } else if (line.startsWith("    ")) {
      stages[stages.length - 1]?.steps.push(line.trim());
    }
  }
  if (stages.length === 0) return undefined;
  return {
    trigger, transport, guarantee,
    stages: stages.map((stage) => ({
      id: stage.id, parallelism: stage.parallelism, exchange: stage.exchange, steps: stage.steps,
      actors: actorsOf(stage.id, stage.parallelism, (partition) => stage.subjects.replace(/p\*$/, `p${partition}`)),
    })),
  };
}

/** A plan from the stages of a progress report, when explain() is not at hand (the query ended before we looked). */
export function planFromStages(stages: readonly StageProgress[]): PlanView {
  return {
    trigger: null, transport: null, guarantee: null,
    stages: stages.map((stage) => ({ id: stage.stage, parallelism: stage.partitions, exchange: "", steps: [], actors: actorsOf(stage.stage, stage.partitions, () => null) })),
  };
}

function actorsOf(stage: string, parallelism: number, subjectOf: (partition: number) => string | null): PlanActor[] {
  return Array.from({ length: parallelism }, (_, partition) => ({ id: `${stage}.p${partition}`, subject: subjectOf(partition) }));
}
