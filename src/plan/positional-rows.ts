// Which stages run their rows by position (arrays in a column order the planner knows) instead of named objects.
//
// Pure: it looks only at a stage's role, its steps' positional forms and how its rows leave. A stage runs by position
// when the switch allows it, it is an operator stage (its rows arrive as frames, decoded into arrays, and leave as
// frames, encoded from arrays: the same bytes, so a receiver of either kind reads them), and every one of its steps has
// a positional form whose columns line up with the next one's. A stage whose first step without a positional form
// takes its input by position (a PositionalInput: the streaming aggregation) runs "positional input, named output":
// the steps before it by position, it reads its input by index and emits named rows, and the steps after it run
// named; when that step also writes its output by position (a PositionalOutput: the aggregation again) and every step
// after it has a positional form lining up with that output, the stage runs by position through it ("through": the
// steps after it run by position and its frames leave encoded from arrays). Anything else stays named: sources that build their rows named (a source stage's rule is at the end of this
// file), sinks and every step a user sees (map, foreach, group state) or a stateful operator without a positional
// input. Apart from that one boundary, a mixed chain stays named as a whole, so no row is converted twice inside one
// actor.
import type { PositionalInput, PositionalOperator, PositionalOutput } from "../operators/positional-operator.ts";
import type { PositionalStep } from "./steps.ts";

/** `rill.rows.positional`: `auto` runs by position wherever the whole chain can; `off` keeps every row named. */
export type PositionalMode = "auto" | "off";

export interface PositionalStageFacts {
  readonly role: "source" | "operator" | "sink";
  /** Each step's positional form, in chain order (undefined where a step has none). */
  readonly steps: ReadonlyArray<PositionalStep | undefined>;
  /** Each step's positional input (positional input, named output), in chain order; absent: none has one. */
  readonly inputs?: ReadonlyArray<PositionalInput | undefined>;
  /** The columns a hash exchange after the stage routes by; undefined for a forward exchange. */
  readonly exchangeColumns: readonly string[] | undefined;
}

/** What a positional stage runs: its rows' column order in and out, and the exchange's key columns by index. */
export interface PositionalChainPlan {
  readonly inputColumns: readonly string[];
  readonly outputColumns: readonly string[];
  /** Indexes into outputColumns of a hash exchange's key columns; undefined for a forward exchange. */
  readonly exchangeIndexes: readonly number[] | undefined;
  /** The steps run by position (before `namedFrom`, when there is one). */
  readonly steps: readonly PositionalStep[];
  /**
   * Positional input, named output: the step at `index` (right after `steps`) takes rows by position into its named
   * operator, which emits named rows into the named chain; outputColumns are then its input columns and
   * exchangeIndexes undefined (the named chain routes).
   */
  readonly namedFrom?: NamedFrom;
  /**
   * Positional input and output: the step at `index` (right after `steps`) takes rows by position into its named
   * operator, which emits rows by position into `after`, steps run by position; outputColumns and exchangeIndexes are
   * those of the chain's end.
   */
  readonly through?: Through<PositionalStep>;
}

export interface NamedFrom {
  readonly index: number;
  readonly input: PositionalInput;
}

/** A step with a positional input and output, and the steps after it (`A`: their positional forms, or operators). */
export interface Through<A> {
  readonly index: number;
  readonly input: PositionalInput;
  readonly output: PositionalOutput;
  readonly after: readonly A[];
}

/** A positional stage's operators for one partition (ids as the named operators'). */
export interface PositionalChain {
  readonly inputColumns: readonly string[];
  readonly outputColumns: readonly string[];
  readonly exchangeIndexes: readonly number[] | undefined;
  readonly operators: readonly PositionalOperator[];
  readonly namedFrom?: NamedFrom;
  readonly through?: Through<PositionalOperator>;
}

/** The stage's positional plan, or why it stays named. */
export function positionalPlanOf(stage: PositionalStageFacts, mode: PositionalMode): PositionalChainPlan | { readonly named: string } {
  if (mode === "off") return { named: "rill.rows.positional is off" };
  if (stage.role !== "operator") return { named: `a ${stage.role} stage` };
  if (stage.steps.length === 0) return { named: "no steps" };
  const steps: PositionalStep[] = [];
  for (const [index, step] of stage.steps.entries()) {
    const before = steps[steps.length - 1];
    if (step === undefined) {
      const input = stage.inputs?.[index];
      if (input === undefined) return { named: `step ${index} has no positional form` };
      if (before && !sameColumns(before.outputColumns, input.inputColumns)) return { named: `step ${index} reads columns in another order than step ${index - 1} writes` };
      if (!distinct(input.inputColumns)) return { named: `step ${index} has a repeated column name` };
      const first = steps[0]?.inputColumns ?? input.inputColumns;
      const through = throughPlanOf(stage, index, input);
      if (through) return { inputColumns: first, outputColumns: through.outputColumns, exchangeIndexes: through.exchangeIndexes, steps, through: through.through };
      return { inputColumns: first, outputColumns: input.inputColumns, exchangeIndexes: undefined, steps, namedFrom: { index, input } };
    }
    if (before && !sameColumns(before.outputColumns, step.inputColumns)) return { named: `step ${index} reads columns in another order than step ${index - 1} writes` };
    if (!distinct(step.inputColumns) || !distinct(step.outputColumns)) return { named: `step ${index} has a repeated column name` };
    steps.push(step);
  }
  const first = steps[0] as PositionalStep;
  const last = steps[steps.length - 1] as PositionalStep;
  let exchangeIndexes: number[] | undefined;
  if (stage.exchangeColumns !== undefined) {
    exchangeIndexes = stage.exchangeColumns.map((column) => last.outputColumns.indexOf(column));
    if (exchangeIndexes.some((index) => index < 0)) return { named: "the exchange routes by a column the chain does not write" };
  }
  return { inputColumns: first.inputColumns, outputColumns: last.outputColumns, exchangeIndexes, steps };
}

export function isPositionalPlan(plan: PositionalChainPlan | { readonly named: string }): plan is PositionalChainPlan {
  return !("named" in plan);
}

/** The plan's operators for one partition, with the ids the named operators of the same steps have. */
export function createPositionalChain(plan: PositionalChainPlan, ids: readonly string[]): PositionalChain {
  const operators = plan.steps.map((step, index) => step.create(ids[index] as string));
  const through = plan.through;
  return {
    inputColumns: plan.inputColumns,
    outputColumns: plan.outputColumns,
    exchangeIndexes: plan.exchangeIndexes,
    operators,
    ...(plan.namedFrom ? { namedFrom: plan.namedFrom } : {}),
    ...(through ? { through: { ...through, after: through.after.map((step, index) => step.create(ids[through.index + 1 + index] as string)) } } : {}),
  };
}

/**
 * Positional input and output through the step at `index`, when it writes its output by position, its output columns
 * are distinct, and the steps after it all run by position from them (none, or a chain as positionalPlanOf's without
 * another such step); undefined otherwise (the step's output stays named).
 */
function throughPlanOf(stage: PositionalStageFacts, index: number, input: PositionalInput): { through: Through<PositionalStep>; outputColumns: readonly string[]; exchangeIndexes: readonly number[] | undefined } | undefined {
  const output = input.output;
  if (output === undefined || !distinct(output.outputColumns)) return undefined;
  const rest = stage.steps.slice(index + 1);
  if (rest.length === 0) {
    const exchangeIndexes = stage.exchangeColumns?.map((column) => output.outputColumns.indexOf(column));
    if (exchangeIndexes?.some((place) => place < 0)) return undefined;
    return { through: { index, input, output, after: [] }, outputColumns: output.outputColumns, exchangeIndexes };
  }
  const after = positionalPlanOf({ role: "operator", steps: rest, exchangeColumns: stage.exchangeColumns }, "auto");
  if (!isPositionalPlan(after) || !sameColumns(after.inputColumns, output.outputColumns)) return undefined;
  return { through: { index, input, output, after: after.steps }, outputColumns: after.outputColumns, exchangeIndexes: after.exchangeIndexes };
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, index) => name === b[index]);
}

function distinct(names: readonly string[]): boolean {
  return new Set(names).size === names.length;
}

// ---- Source stages (possrc) -----------------------------------------------------------------------------------------
// A source stage runs by position when its source builds each row as an array in its schema's column order without a
// named object first (SourceProvider.createPositionalReader), and its chained steps run by position from those columns
// on, as an operator stage's would. With no steps, the source's arrays leave as they are (to a sink, or to an
// exchange that routes by the places of its key columns).

export interface PositionalSourceStageFacts {
  /** The columns of the source's rows by position, in its schema's order; undefined when it builds its rows named. */
  readonly sourceColumns: readonly string[] | undefined;
  readonly steps: ReadonlyArray<PositionalStep | undefined>;
  readonly exchangeColumns: readonly string[] | undefined;
}

/** A source stage's positional plan, or why it stays named. */
export function positionalSourcePlanOf(stage: PositionalSourceStageFacts, mode: PositionalMode): PositionalChainPlan | { readonly named: string } {
  if (mode === "off") return { named: "rill.rows.positional is off" };
  const columns = stage.sourceColumns;
  if (columns === undefined) return { named: "the source builds its rows named" };
  if (!distinct(columns)) return { named: "the source has a repeated column name" };
  if (stage.steps.length === 0) {
    const exchangeIndexes = stage.exchangeColumns?.map((column) => columns.indexOf(column));
    if (exchangeIndexes?.some((index) => index < 0)) return { named: "the exchange routes by a column the source does not build" };
    return { inputColumns: columns, outputColumns: columns, exchangeIndexes, steps: [] };
  }
  const chain = positionalPlanOf({ role: "operator", steps: stage.steps, exchangeColumns: stage.exchangeColumns }, mode);
  if (!isPositionalPlan(chain)) return chain;
  if (!sameColumns(chain.inputColumns, columns)) return { named: "step 0 reads columns in another order than the source builds them" };
  return chain;
}
