// The planner's decision on rows by position (src/plan/positional-rows.ts): which stages run their chain over arrays.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { partitionerOf, positionalPartitionerOf } from "../../src/core/keys.ts";
import { PositionalFilterOperator } from "../../src/operators/filter-positional.ts";
import { createPositionalChain, isPositionalPlan, positionalPlanOf, positionalSourcePlanOf, type PositionalStageFacts } from "../../src/plan/positional-rows.ts";
import type { PositionalStep } from "../../src/plan/steps.ts";
import type { PositionalInput } from "../../src/operators/positional-operator.ts";

function step(inputColumns: readonly string[], outputColumns: readonly string[] = inputColumns): PositionalStep {
  return { inputColumns, outputColumns, create: (id) => new PositionalFilterOperator(id, () => true) };
}

const filter = step(["a", "b", "c"]);
const project = step(["a", "b", "c"], ["c", "a"]);
const operatorStage = (steps: PositionalStageFacts["steps"], exchangeColumns?: readonly string[], inputs?: PositionalStageFacts["inputs"]): PositionalStageFacts => ({ role: "operator", steps, exchangeColumns, ...(inputs ? { inputs } : {}) });

/** A step that takes its input by position and writes its output by position (the aggregation's form). */
function through(inputColumns: readonly string[], outputColumns: readonly string[]): PositionalInput {
  return { ...input(inputColumns), output: { outputColumns, connect: () => undefined } };
}

/** A step that takes its input by position and emits named rows (the aggregation's form). */
function input(inputColumns: readonly string[]): PositionalInput {
  return { inputColumns, connect: () => () => undefined };
}

describe("which stages run rows by position", () => {
  it("an operator stage whose every step has a positional form: its columns in from the first, out from the last", () => {
    const plan = positionalPlanOf(operatorStage([filter, project]), "auto");
    assert.ok(isPositionalPlan(plan), JSON.stringify(plan));
    assert.deepEqual(plan.inputColumns, ["a", "b", "c"]);
    assert.deepEqual(plan.outputColumns, ["c", "a"]);
    assert.equal(plan.exchangeIndexes, undefined);
    const chain = createPositionalChain(plan, ["s1.0-filter.p0", "s1.1-project.p0"]);
    assert.deepEqual(chain.operators.map((operator) => operator.id), ["s1.0-filter.p0", "s1.1-project.p0"]);
  });

  it("off keeps every stage named", () => {
    assert.deepEqual(positionalPlanOf(operatorStage([filter]), "off"), { named: "rill.rows.positional is off" });
  });

  it("sources and sinks stay named: their rows are built or seen named", () => {
    assert.equal(isPositionalPlan(positionalPlanOf({ role: "source", steps: [filter], exchangeColumns: undefined }, "auto")), false);
    assert.equal(isPositionalPlan(positionalPlanOf({ role: "sink", steps: [], exchangeColumns: undefined }, "auto")), false);
  });

  it("a chain with one step without a positional form (map, an aggregation) stays named as a whole", () => {
    const plan = positionalPlanOf(operatorStage([filter, undefined, project]), "auto");
    assert.deepEqual(plan, { named: "step 1 has no positional form" });
    assert.equal(isPositionalPlan(positionalPlanOf(operatorStage([]), "auto")), false);
  });

  it("steps whose columns do not line up, or repeat a name, stay named", () => {
    assert.equal(isPositionalPlan(positionalPlanOf(operatorStage([project, filter]), "auto")), false, "the filter reads [a, b, c], the projection writes [c, a]");
    assert.equal(isPositionalPlan(positionalPlanOf(operatorStage([step(["a", "b"], ["b", "a"]), step(["a", "b"])]), "auto")), false, "same names, another order");
    assert.equal(isPositionalPlan(positionalPlanOf(operatorStage([step(["a", "a"])]), "auto")), false);
  });

  it("positional input, named output: a stage led by a step that takes its input by position (the aggregation) runs it so", () => {
    const aggregate = input(["a", "b", "c"]);
    const plan = positionalPlanOf(operatorStage([undefined, undefined], ["a"], [aggregate, undefined]), "auto");
    assert.ok(isPositionalPlan(plan), JSON.stringify(plan));
    assert.deepEqual(plan.inputColumns, ["a", "b", "c"]);
    assert.deepEqual(plan.steps, []);
    assert.equal(plan.namedFrom?.index, 0);
    assert.equal(plan.namedFrom?.input, aggregate);
    assert.equal(plan.exchangeIndexes, undefined, "the named chain after it routes");
    const chain = createPositionalChain(plan, ["s1.0-aggregate.p0", "s1.1-map.p0"]);
    assert.deepEqual(chain.operators, []);
    assert.equal(chain.namedFrom?.index, 0);
    assert.deepEqual(positionalPlanOf(operatorStage([undefined], undefined, [aggregate]), "off"), { named: "rill.rows.positional is off" });
    assert.equal(isPositionalPlan(positionalPlanOf({ role: "source", steps: [undefined], inputs: [aggregate], exchangeColumns: undefined }, "auto")), false, "a source stage stays named");
  });

  it("positional input, named output after positional steps whose columns line up; otherwise named", () => {
    const plan = positionalPlanOf(operatorStage([filter, project, undefined], undefined, [undefined, undefined, input(["c", "a"])]), "auto");
    assert.ok(isPositionalPlan(plan), JSON.stringify(plan));
    assert.deepEqual(plan.inputColumns, ["a", "b", "c"]);
    assert.deepEqual(plan.outputColumns, ["c", "a"]);
    assert.equal(plan.steps.length, 2);
    assert.equal(plan.namedFrom?.index, 2);
    assert.deepEqual(positionalPlanOf(operatorStage([filter, undefined], undefined, [undefined, input(["b", "a", "c"])]), "auto"), { named: "step 1 reads columns in another order than step 0 writes" });
    assert.deepEqual(positionalPlanOf(operatorStage([undefined], undefined, [input(["a", "a"])]), "auto"), { named: "step 0 has a repeated column name" });
    assert.deepEqual(positionalPlanOf(operatorStage([undefined, undefined], undefined, [undefined, input(["a"])]), "auto"), { named: "step 0 has no positional form" }, "a step before it without a positional form keeps the stage named");
    assert.deepEqual(positionalPlanOf(operatorStage([filter, undefined]), "auto"), { named: "step 1 has no positional form" });
  });

  it("positional input and output: a step that writes its output by position runs through, with the steps after it by position", () => {
    const aggregate = through(["a", "b"], ["k", "n", "key"]);
    const alone = positionalPlanOf(operatorStage([undefined], undefined, [aggregate]), "auto");
    assert.ok(isPositionalPlan(alone), JSON.stringify(alone));
    assert.deepEqual(alone.inputColumns, ["a", "b"]);
    assert.deepEqual(alone.outputColumns, ["k", "n", "key"], "its frames leave in its output's order");
    assert.equal(alone.namedFrom, undefined);
    assert.equal(alone.through?.index, 0);
    assert.deepEqual(alone.through?.after, []);
    const keyFilter = step(["k", "n", "key"]);
    const select = step(["k", "n", "key"], ["n", "key"]);
    const chained = positionalPlanOf(operatorStage([undefined, keyFilter, select], ["n"], [aggregate, undefined, undefined]), "auto");
    assert.ok(isPositionalPlan(chained), JSON.stringify(chained));
    assert.deepEqual(chained.inputColumns, ["a", "b"]);
    assert.deepEqual(chained.outputColumns, ["n", "key"]);
    assert.deepEqual(chained.exchangeIndexes, [0], "a hash exchange after it routes by its key's place in the last step's output");
    assert.deepEqual(chained.steps, []);
    assert.deepEqual(chained.through?.after, [keyFilter, select]);
    const chain = createPositionalChain(chained, ["s1.0-aggregate.p0", "s1.1-filter.p0", "s1.2-project.p0"]);
    assert.deepEqual(chain.operators, []);
    assert.deepEqual(chain.through?.after.map((operator) => operator.id), ["s1.1-filter.p0", "s1.2-project.p0"], "the steps after it have the named operators' ids");
    assert.equal(chain.through?.output, aggregate.output);
    const before = positionalPlanOf(operatorStage([step(["b", "a"], ["a", "b"]), undefined, keyFilter], undefined, [undefined, aggregate, undefined]), "auto");
    assert.ok(isPositionalPlan(before) && before.steps.length === 1 && before.through?.index === 1 && before.through.after.length === 1, JSON.stringify(before));
    assert.deepEqual(before.inputColumns, ["b", "a"]);
    // It falls back to positional input, named output when the steps after it cannot run by position from its output.
    const cases: Array<[string, PositionalStageFacts]> = [
      ["a step after it without a positional form (map)", operatorStage([undefined, step(["k", "n", "key"]), undefined], undefined, [aggregate, undefined, undefined])],
      ["a step after it reading another order", operatorStage([undefined, step(["n", "k", "key"])], undefined, [aggregate, undefined])],
      ["the exchange after it routing by a column the chain does not write", operatorStage([undefined, step(["k", "n", "key"], ["k"])], ["n"], [aggregate, undefined])],
      ["the exchange after it routing by a column it does not write", operatorStage([undefined], ["x"], [aggregate])],
      ["its output repeating a name", operatorStage([undefined], undefined, [through(["a", "b"], ["k", "k"])])],
    ];
    for (const [what, stage] of cases) {
      const plan = positionalPlanOf(stage, "auto");
      assert.ok(isPositionalPlan(plan), `${what}: ${JSON.stringify(plan)}`);
      assert.equal(plan.through, undefined, what);
      assert.equal(plan.namedFrom?.index, 0, `${what}: positional input, named output as before`);
      assert.deepEqual(plan.outputColumns, ["a", "b"], what);
      assert.equal(plan.exchangeIndexes, undefined, what);
    }
    assert.deepEqual(positionalPlanOf(operatorStage([undefined, step(["k", "n", "key"])], undefined, [aggregate, undefined]), "off"), { named: "rill.rows.positional is off" });
  });

  it("a hash exchange after the stage routes by its key columns' places in the output, or the stage stays named", () => {
    const plan = positionalPlanOf(operatorStage([filter, project], ["a"]), "auto");
    assert.ok(isPositionalPlan(plan));
    assert.deepEqual(plan.exchangeIndexes, [1]);
    assert.equal(isPositionalPlan(positionalPlanOf(operatorStage([filter, project], ["b"]), "auto")), false, "b is not in the output");
  });

  it("a positional partitioner sends a row where the named one sends the same row", () => {
    const names = ["user", "n", "flag", "d", "w"];
    const values: unknown[][] = [];
    for (let index = 0; index < 500; index++) values.push([`u${index % 37}`, index % 11 === 0 ? null : index * 7, index % 3 === 0, index / 8, { start: (index % 13) * 1000, end: (index % 13) * 1000 + 1000 }]);
    for (const keys of [["user"], ["n", "user"], ["flag", "d"], ["w", "user"]]) {
      const named = partitionerOf(keys, 4);
      const positional = positionalPartitionerOf(keys.map((key) => names.indexOf(key)), 4);
      const seen = new Set<number>();
      for (const row of values) {
        const partition = positional(row);
        seen.add(partition);
        assert.equal(partition, named(Object.fromEntries(names.map((name, index) => [name, row[index]]))));
      }
      assert.ok(seen.size > 1, `${keys.join(",")} spreads rows`);
    }
  });
});

// ---- Source stages (possrc) ----
describe("which source stages run rows by position", () => {
  const columns = ["a", "b", "c"];
  const sourceStage = (sourceColumns: readonly string[] | undefined, steps: PositionalStageFacts["steps"], exchangeColumns?: readonly string[]) => ({ sourceColumns, steps, exchangeColumns });

  it("a source that builds arrays, with a chain reading its columns in its order: the chain's plan", () => {
    const plan = positionalSourcePlanOf(sourceStage(columns, [filter, project]), "auto");
    assert.ok(isPositionalPlan(plan), JSON.stringify(plan));
    assert.deepEqual(plan.inputColumns, columns);
    assert.deepEqual(plan.outputColumns, ["c", "a"]);
    assert.equal(plan.steps.length, 2);
  });

  it("a source that builds its rows named, or off, stays named", () => {
    assert.deepEqual(positionalSourcePlanOf(sourceStage(undefined, [filter]), "auto"), { named: "the source builds its rows named" });
    assert.deepEqual(positionalSourcePlanOf(sourceStage(columns, [filter]), "off"), { named: "rill.rows.positional is off" });
  });

  it("the first step must read the source's columns in the source's order", () => {
    assert.equal(isPositionalPlan(positionalSourcePlanOf(sourceStage(["b", "a", "c"], [filter]), "auto")), false, "same names, another order");
    assert.equal(isPositionalPlan(positionalSourcePlanOf(sourceStage(["a", "b"], [filter]), "auto")), false, "fewer columns");
    assert.equal(isPositionalPlan(positionalSourcePlanOf(sourceStage(["a", "a", "c"], [step(["a", "a", "c"])]), "auto")), false, "a repeated name");
  });

  it("a chain with a step without a positional form (withWatermark, map) stays named as a whole", () => {
    assert.deepEqual(positionalSourcePlanOf(sourceStage(columns, [filter, undefined]), "auto"), { named: "step 1 has no positional form" });
  });

  it("no steps: the source's arrays leave as built, routed by the places of the exchange's key columns", () => {
    const plan = positionalSourcePlanOf(sourceStage(columns, [], ["c", "a"]), "auto");
    assert.ok(isPositionalPlan(plan), JSON.stringify(plan));
    assert.deepEqual(plan.outputColumns, columns);
    assert.deepEqual(plan.exchangeIndexes, [2, 0]);
    assert.equal(isPositionalPlan(positionalSourcePlanOf(sourceStage(columns, [], ["d"]), "auto")), false, "d is not a source column");
    const chained = positionalSourcePlanOf(sourceStage(columns, [filter, project], ["a"]), "auto");
    assert.ok(isPositionalPlan(chained));
    assert.deepEqual(chained.exchangeIndexes, [1]);
  });
});
