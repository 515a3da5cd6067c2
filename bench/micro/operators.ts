// Per-record cost of the operators (src/operators), wired with chain() as an actor wires them, over a frame of rows.
import assert from "node:assert/strict";
import { schemaFromZod } from "../../src/core/zod-schema.ts";
import { activitySchema, type ActivityRow } from "../../src/connectors/sources/activity.ts";
import type { Row } from "../../src/core/types.ts";
import { compileExpression } from "../../src/expr/compile.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import { AggregateOperator } from "../../src/operators/aggregate.ts";
import { FilterOperator } from "../../src/operators/filter.ts";
import { chain, type Emit, type Operator } from "../../src/operators/operator.ts";
import { ProjectOperator, type Projection } from "../../src/operators/project.ts";
import { StaticTable } from "../../src/operators/join-static-table.ts";
import { analyzeStaticJoin } from "../../src/plan/join-analysis.ts";
import type { SourceProvider } from "../../src/connectors/sources/source.ts";
import { streamJoinTask } from "./stream-join.ts";
import { activityFrame, DropCounter, FRAME_ROWS, OutputRing, type MicroSuite, type MicroTask } from "./harness.ts";

const schema = schemaFromZod(activitySchema);
const KEY = "__rill_key";

function compiled(text: string): (row: Row) => unknown {
  return compileExpression(parseExpression(text), schema, "bench").evaluate;
}

function projection(name: string, text = name): Projection {
  return { name, evaluate: compiled(text) };
}

/** Builds a fresh operator chain whose output lands in `out`; returns the entry and a flush for the end of the turn. */
type Wiring = (out: Emit) => { input: Emit; flush: () => void };

/** Wired as an actor wires them: with a chain position, so that a record error can name its operator. */
function wire(operators: () => Operator[]): Wiring {
  return (out) => {
    const list = operators();
    return { input: chain(list, out, { at: -1 }), flush: () => list.forEach((operator) => operator.flush?.()) };
  };
}

const stairsFilter = () => new FilterOperator("bench.filter", compiled("gt like '%stairs%'"));
const seedSelect = () => new ProjectOperator("bench.project", [projection("gt"), projection("Model", "model"), projection("Arrival_Time", "arrival_time"), projection("Creation_Time", "creation_time")]);
const countByGt = () => new AggregateOperator("bench.aggregate", { groupingColumns: ["gt"], hiddenKeyColumns: [], aggregates: [{ name: "count", function: "count", argument: undefined }], keyColumn: KEY, stateId: "bench.aggregate", outputMode: "update", eventTime: undefined });

/**
 * The same work by hand: what a row costs with no engine (one function, fixed property names). Its output rows go to
 * `out`, which in the timed baseline stores them as the subject's sink does (operatorTask).
 */
export type PlainWork = (rows: readonly ActivityRow[], out: Emit) => void;

/**
 * `plainWork` is only ever given an OutputRing's `keep`, `droppedWork` (the old baseline, a separate copy of the same
 * code, so that no call site in either sees both sinks) only a DropCounter's `drop`.
 */
function operatorTask(name: string, rows: readonly ActivityRow[], wiring: Wiring, expected: (rows: readonly ActivityRow[]) => Row[], plainWork: PlainWork, droppedWork?: PlainWork): MicroTask {
  // The subject and its plain code store every output row into one ring (harness.ts), so that both build their rows.
  const ring = new OutputRing();
  const keep: Emit = ring.keep;
  const timed = wiring(keep);
  const dropped = new DropCounter();
  return {
    name,
    rowsPerCall: FRAME_ROWS,
    check: () => {
      const out: Row[] = [];
      const fresh = wiring((row) => out.push(row));
      for (const row of rows) fresh.input(row as Row);
      fresh.flush();
      const want = expected(rows);
      assert.ok(want.length > 0, `${name}: the frame must give some output for the check to mean something`);
      assert.deepEqual(out, want);
    },
    run: () => {
      const before = ring.count;
      for (let index = 0; index < rows.length; index++) timed.input(rows[index] as Row);
      timed.flush();
      return ring.count - before;
    },
    plain: () => {
      const before = ring.count;
      plainWork(rows, keep);
      return ring.count - before;
    },
    plainDropped: droppedWork && (() => {
      const before = dropped.count;
      droppedWork(rows, dropped.drop);
      return dropped.count - before;
    }),
  };
}

export const plainFilter: PlainWork = (rows, out) => {
  for (const row of rows) if (row.gt !== null && row.gt.includes("stairs")) out(row);
};
export const plainSelect: PlainWork = (rows, out) => {
  for (const row of rows) out({ gt: row.gt, Model: row.Model, Arrival_Time: row.Arrival_Time, Creation_Time: row.Creation_Time });
};
export const plainFilterSelect: PlainWork = (rows, out) => {
  for (const row of rows) if (row.gt !== null && row.gt.includes("stairs")) out({ gt: row.gt, Model: row.Model, Arrival_Time: row.Arrival_Time, Creation_Time: row.Creation_Time });
};
// The old baseline: the same three, letter for letter, only ever given a DropCounter (V8 keeps feedback per function
// literal, so one copy given both sinks would see two call targets and be neither baseline).
export const droppedFilter: PlainWork = (rows, out) => {
  for (const row of rows) if (row.gt !== null && row.gt.includes("stairs")) out(row);
};
export const droppedSelect: PlainWork = (rows, out) => {
  for (const row of rows) out({ gt: row.gt, Model: row.Model, Arrival_Time: row.Arrival_Time, Creation_Time: row.Creation_Time });
};
export const droppedFilterSelect: PlainWork = (rows, out) => {
  for (const row of rows) if (row.gt !== null && row.gt.includes("stairs")) out({ gt: row.gt, Model: row.Model, Arrival_Time: row.Arrival_Time, Creation_Time: row.Creation_Time });
};
const plainCountState = new Map<string | null, { gt: string | null; count: number }>();
const plainCount: PlainWork = (rows, out) => {
  const changed = new Set<{ gt: string | null; count: number }>();
  for (const row of rows) {
    let group = plainCountState.get(row.gt);
    if (!group) {
      group = { gt: row.gt, count: 0 };
      plainCountState.set(row.gt, group);
    }
    group.count++;
    changed.add(group);
  }
  for (const group of changed) out({ gt: group.gt, count: group.count });
};

export const isStairs = (row: ActivityRow) => row.gt !== null && row.gt.includes("stairs");
export const selected = (row: ActivityRow): Row => ({ gt: row.gt, Model: row.Model, Arrival_Time: row.Arrival_Time, Creation_Time: row.Creation_Time });

function plainCounts(rows: readonly ActivityRow[]): Row[] {
  const counts = new Map<string | null, number>();
  for (const row of rows) counts.set(row.gt, (counts.get(row.gt) ?? 0) + 1);
  return [...counts].map(([gt, count]) => ({ gt, count, [KEY]: gt === null ? "\u0001" : `s${gt}` }));
}

/** join(devices, "Device"): the analyzer's own step over a static table of one row per device (model and owner). */
function deviceJoin(rows: readonly ActivityRow[]): { wiring: Wiring; devices: Map<string, Row> } {
  const devices = new Map<string, Row>();
  for (const row of rows) devices.set(row.Device, { Device: row.Device, owner: row.User, series: `${row.Model}-series` });
  const staticRows = [...devices.values()];
  const source = { format: "bench", schema, numPartitions: 1, guarantee: "exactly-once", description: "bench", createReader: () => { throw new Error("not read"); } } satisfies SourceProvider;
  const analysis = analyzeStaticJoin(
    { kind: "join", child: { kind: "source", describe: "bench", create: () => source }, other: { kind: "source", describe: "devices", create: () => source }, joinType: "inner", on: { kind: "using", columns: ["Device"] }, static: { side: "right", input: { schema: () => ({ fields: [{ name: "Device", type: "string", nullable: false }, { name: "owner", type: "string", nullable: false }, { name: "series", type: "string", nullable: false }] }), load: async () => staticRows, refreshIntervalMs: undefined, describe: "devices" } } },
    { probe: { source, steps: [], schema, keyed: false, hasAggregate: false, appendable: false, eventTime: undefined, statefulCount: 0 }, probeStreaming: true, leftAlias: undefined, rightAlias: undefined },
  );
  const table = analysis.staticTables?.[0] as StaticTable;
  void table.load();
  const step = analysis.steps[0];
  if (!step) throw new Error("the join analysis gave no step");
  return { wiring: wire(() => [step.create("bench.join", 0)]), devices };
}

/** A frame with several activities, so the filter and the groups have work to do. */
export function operatorRows(): ActivityRow[] {
  return activityFrame(11).map((row, index) => ({ ...row, gt: ["stairsup", "sit", null, "walk", "stairsdown", "bike"][index % 6] ?? null }));
}

/** The stateless operators' tasks, whose ratios to plain code issue 13 sets targets for (the bench's hot-path step). */
export const FILTER_TASK = "FilterOperator gt like '%stairs%'";
export const PROJECT_TASK = "ProjectOperator select(gt, model, arrival_time, creation_time)";
export const FILTER_PROJECT_TASK = "Filter + Project chained";

function statelessTasks(rows: readonly ActivityRow[]): MicroTask[] {
  return [
    operatorTask(FILTER_TASK, rows, wire(() => [stairsFilter()]), (input) => input.filter(isStairs), plainFilter, droppedFilter),
    operatorTask(PROJECT_TASK, rows, wire(() => [seedSelect()]), (input) => input.map(selected), plainSelect, droppedSelect),
    operatorTask(FILTER_PROJECT_TASK, rows, wire(() => [stairsFilter(), seedSelect()]), (input) => input.filter(isStairs).map(selected), plainFilterSelect, droppedFilterSelect),
  ];
}

/** Filter, Project and the two chained only: no aggregation, no joins (bench/micro/cpu.ts --suite hotpath). */
export function statelessOperatorSuite(): MicroSuite {
  return { name: "operators", tasks: statelessTasks(operatorRows()) };
}

export function operatorSuite(): MicroSuite {
  const rows = operatorRows();
  return {
    name: "operators",
    tasks: [
      ...statelessTasks(rows),
      operatorTask("AggregateOperator groupBy(gt).count(), flushed per frame", rows, wire(() => [countByGt()]), plainCounts, plainCount),
      joinTask(rows),
      streamJoinTask("inner"),
      streamJoinTask("left_outer"),
    ],
    unavailable: [
      { name: "state store get/put", reason: "not available yet (issue 3)" },
      { name: "epoch commit", reason: "not available yet (issue 3)" },
    ],
  };
}

/** The stream-static join per row: a hash lookup of the row's Device in the static table and the joined row built. */
function joinTask(rows: readonly ActivityRow[]): MicroTask {
  const { wiring, devices } = deviceJoin(rows);
  const joined = (row: ActivityRow): Row => {
    const device = devices.get(row.Device) as Row;
    return { Device: row.Device, Arrival_Time: row.Arrival_Time, Creation_Time: row.Creation_Time, Index: row.Index, Model: row.Model, User: row.User, gt: row.gt, x: row.x, y: row.y, z: row.z, owner: device.owner, series: device.series };
  };
  const plainJoin: PlainWork = (input, out) => {
    for (const row of input) {
      const device = devices.get(row.Device);
      if (device) out({ Device: row.Device, Arrival_Time: row.Arrival_Time, Creation_Time: row.Creation_Time, Index: row.Index, Model: row.Model, User: row.User, gt: row.gt, x: row.x, y: row.y, z: row.z, owner: device.owner, series: device.series });
    }
  };
  return operatorTask("StaticJoinOperator join(static devices, \"Device\"), inner", rows, wiring, (input) => input.map(joined), plainJoin);
}
