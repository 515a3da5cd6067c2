// The static engine: a static DataFrame's plan runs through the same analysis and operators as a stream's, over
// inputs that end. One partition, in this process: rows go through the operator chain, the end of the input flushes it.
import { ROW_KEY } from "../actors/sink-actor.ts";
import type { SourceContext, SourceProvider } from "../connectors/sources/source.ts";
import { AnalysisError } from "../core/errors.ts";
import { RETRACTED_KEY_PREFIX, type Row, type Schema } from "../core/types.ts";
import { chain, type Operator } from "../operators/operator.ts";
import { analyze, type AnalyzedPlan } from "../plan/analyzer.ts";
import { isStreamingPlan, type LogicalPlan } from "../plan/logical.ts";
import { rowComparator } from "../plan/result-order-analysis.ts";
import { RowsSourceProvider } from "./rows-source.ts";
import { evaluateWindows } from "../window-functions/evaluate.ts";
import { hasWindowFunction, splitWindowProject } from "../window-functions/project.ts";

export interface StaticResult {
  readonly schema: Schema;
  readonly rows: Row[];
}

/** Where a static run's bad input goes: to the dead-letter output (counted), or dropped as mode DROPMALFORMED asks (counted). */
export interface DeadLetters {
  add(raw: unknown, reason: string): void;
  drop(reason: string): void;
}

const POLL_ROWS = 4096;

/** Runs a static plan whole and returns its rows. */
export async function executeStatic(plan: LogicalPlan, deadLetters: DeadLetters): Promise<StaticResult> {
  if (isStreamingPlan(plan)) throw new AnalysisError("Queries with streaming sources must be executed with writeStream.start(): collect(), count() and show() need a static DataFrame.");
  if (plan.kind === "sort") {
    const input = await executeStatic(plan.child, deadLetters);
    const compare = rowComparator(plan.orders, input.schema);
    return { schema: input.schema, rows: input.rows.sort(compare) };
  }
  if (plan.kind === "limit") {
    const input = await executeStatic(plan.child, deadLetters);
    return { schema: input.schema, rows: input.rows.slice(0, plan.count) };
  }
  return await runLine(analyze(await materialize(plan, deadLetters)), deadLetters);
}

/** The schema of a static plan (analysis only; a sort or limit keeps its input's). */
export function staticSchema(plan: LogicalPlan): Schema {
  if (plan.kind === "sort" || plan.kind === "limit") return staticSchema(plan.child);
  return analyze(schemaOnly(plan)).schema;
}

/** Sorts and limits inside the plan keep their child's schema: for analysis they can be left out. */
function schemaOnly(plan: LogicalPlan): LogicalPlan {
  switch (plan.kind) {
    case "source": return plan;
    case "sort":
    case "limit": return schemaOnly(plan.child);
    case "union": return { ...plan, child: schemaOnly(plan.child), other: schemaOnly(plan.other) };
    case "join": return plan.static?.side === "left" ? { ...plan, other: schemaOnly(plan.other) } : { ...plan, child: schemaOnly(plan.child) };
    default: return { ...plan, child: schemaOnly(plan.child) };
  }
}

/** Replaces what the streaming analysis cannot place (a sort or limit inside the plan, a union of aggregated inputs) by its rows. */
async function materialize(plan: LogicalPlan, deadLetters: DeadLetters): Promise<LogicalPlan> {
  switch (plan.kind) {
    case "source": return plan;
    case "sort":
    case "limit": return rowsNode(await executeStatic(plan, deadLetters), plan.kind);
    case "union": return { ...plan, child: rowsNode(await executeStatic(plan.child, deadLetters), "union input"), other: rowsNode(await executeStatic(plan.other, deadLetters), "union input") };
    case "join": return plan.static?.side === "left" ? { ...plan, other: await materialize(plan.other, deadLetters) } : { ...plan, child: await materialize(plan.child, deadLetters) };
    case "project": {
      if (!hasWindowFunction(plan)) return { ...plan, child: await materialize(plan.child, deadLetters) };
      // Window functions need their whole input: run it, compute the windows, and go on from those rows.
      const input = await executeStatic(plan.child, deadLetters);
      const split = splitWindowProject(plan, input.schema);
      return split.wrap(rowsNode({ schema: split.schema, rows: evaluateWindows(input.rows, split.windows) }, "window function input"));
    }
    default: return { ...plan, child: await materialize(plan.child, deadLetters) };
  }
}

function rowsNode(result: StaticResult, what: string): LogicalPlan {
  const provider = new RowsSourceProvider(result.schema, result.rows, `rows of a ${what}`);
  return { kind: "source", describe: provider.description, create: () => provider, bounded: { refreshIntervalMs: undefined } };
}

/** Runs an analysed line: every source's rows through its branch's operators and the common ones, then the end of input. */
async function runLine(plan: AnalyzedPlan, deadLetters: DeadLetters): Promise<StaticResult> {
  await Promise.all(plan.staticTables.map((table) => table.load()));
  const keyed = new Map<string, Row>();
  const plain: Row[] = [];
  const collect = (row: Row): void => {
    const key = row[ROW_KEY];
    if (key === undefined) {
      plain.push(row);
      return;
    }
    const { [ROW_KEY]: _key, ...rest } = row;
    if (String(key).startsWith(RETRACTED_KEY_PREFIX)) keyed.delete(String(key).slice(RETRACTED_KEY_PREFIX.length));
    else keyed.set(String(key), rest);
  };
  const common = plan.steps.map((step, index) => step.create(`static.${index}-${step.name}.p0`, 0));
  const commonInput = chain(common, collect);
  const branches = (plan.branches ?? [{ source: plan.source, steps: [] }]).map((branch, input) => {
    const operators = branch.steps.map((step, index) => step.create(`static.i${input}.${index}-${step.name}.p0`, 0));
    return { source: branch.source, operators, input: chain(operators, commonInput) };
  });
  for (const branch of branches) await readAll(branch.source, branch.input, deadLetters);
  const ordered: Operator[] = [...branches.flatMap((branch) => branch.operators), ...common];
  for (const operator of ordered) {
    operator.flush?.();
    operator.endOfInput?.();
    operator.flush?.();
  }
  return { schema: plan.schema, rows: keyed.size > 0 ? [...keyed.values(), ...plain] : plain };
}

async function readAll(source: SourceProvider, input: (row: Row) => void, deadLetters: DeadLetters): Promise<void> {
  for (let partition = 0; partition < source.numPartitions; partition++) {
    const reader = source.createReader(partition);
    const context: SourceContext = { partition, numPartitions: source.numPartitions, notify: () => undefined, deadLetter: (raw, reason) => deadLetters.add(raw, reason), dropMalformed: (reason) => deadLetters.drop(reason) };
    await reader.open(context);
    try {
      await reader.prepare("all");
      for (let batch = reader.poll(POLL_ROWS); batch; batch = reader.poll(POLL_ROWS)) for (const row of batch.rows) input(row);
    } finally {
      await reader.close();
    }
  }
}
