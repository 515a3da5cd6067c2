// Instructions per row, for valgrind's callgrind (counts are repeatable on a loaded machine, unlike times):
// `bash bench/micro/instructions.sh [subject...]` runs this file under callgrind twice per subject, with FEW and MANY
// frames, and divides the difference by the extra rows, so start-up and compilation cancel out.
//
// Subjects: codec, encode, encode-young, decode, encode-narrow, decode-narrow, and the same with rows by position
// (codec-arrays, encode-arrays, encode-arrays-young, decode-arrays, encode-narrow-arrays, decode-narrow-arrays), filter,
// filter-arrays, project-arrays, filter-project-arrays, project, filter-project, the same work in plain code
// (plain-filter, plain-project, plain-filter-project; plain-project-dropped and plain-filter-project-dropped: the old
// baseline, whose rows are dropped),
// stream-join, stream-join-outer, actor-named and actor-arrays (an operator actor's frame: decode, filter + project,
// encode), aggregate-named and aggregate-arrays (an aggregation actor's frame: decode, aggregate, flush), aggregate-out-named and aggregate-out-arrays (the same, then a filter and a projection and the output frame encoded), and small frames: encode-frames-1, decode-frames-1, codec-frames-1 (and -3), 256
// frames of 1 (3) rows a call, whose figure is per frame; channel-frames-2 and channel-frames-2-arrays (an output
// channel sending frames of 2 rows, named and by position), per frame likewise; source-activity-named and
// source-activity-arrays (a source actor's frame: rows made by the activity generator, named or by position, then
// filter + project and the output frame encoded); source-b-named and source-b-arrays (scenario (b)'s source actor's
// frame: the activity generator, the projection with a cast, withWatermark, window, the key projection, encode);
// source-json-named and source-json-arrays (a JSON file source's frame:
// 256 lines parsed and checked, named or read into arrays by the schema's names, then filter + project, encoded); static-join-named and
// static-join-arrays (a stream-static join actor's frame: decode, the YSB join, encode); generate-named and
// generate-arrays (a generator actor's frame: decode, explode_outer with three columns beside it, encode);
// session-window-named and session-window-arrays (a session window actor's frame: decode, assign, flush), and
// session-window-out-arrays (the same with its output by position).
// `npx tsx bench/micro/instructions.ts <subject> <frames>` runs one subject over that many 256-row frames (after the
// same warm-up in both runs).
import { OutputChannel } from "../../src/actors/channel.ts";
import { decodeFrame, decodeFramePositional, encodeFrame } from "../../src/actors/codec.ts";
import { InProcessTransport } from "../../src/actors/inprocess-transport.ts";
import { FRAME_DATA, type DataFrame, type PositionalDataFrame } from "../../src/core/frame.ts";
import type { PositionalRow, Row } from "../../src/core/types.ts";
import { schemaFromZod } from "../../src/core/zod-schema.ts";
import { ActivityGenerator, activitySchema, type ActivityRow } from "../../src/connectors/sources/activity.ts";
import { jsonParser, jsonPositionalParser } from "../../src/connectors/sources/file-parsers.ts";
import { compileExpression, compilePositional } from "../../src/expr/compile.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import { AggregateOperator } from "../../src/operators/aggregate.ts";
import { aggregatePositionalInput } from "../../src/operators/aggregate-positional.ts";
import { FilterOperator } from "../../src/operators/filter.ts";
import { chain, type Emit, type Operator } from "../../src/operators/operator.ts";
import { ProjectOperator } from "../../src/operators/project.ts";
import { PositionalFilterOperator } from "../../src/operators/filter-positional.ts";
import { chainPositional, toPositionalRow, type PositionalEmit, type PositionalOperator } from "../../src/operators/positional-operator.ts";
import { PositionalProjectOperator } from "../../src/operators/project-positional.ts";
import { generatePath } from "./generate.ts";
import { activityFrame, DropCounter, OutputRing } from "./harness.ts";
import { sessionWindowPath } from "./session-window.ts";
import { droppedFilterSelect, droppedSelect, plainFilter, plainFilterSelect, plainSelect, type PlainWork } from "./operators.ts";
import { sourceB } from "./source-b.ts";
import { staticJoinPath } from "./static-join.ts";
import { streamJoinTask } from "./stream-join.ts";

const [subject = "codec", framesText = "100"] = process.argv.slice(2);
const frames = Number(framesText);
const schema = schemaFromZod(activitySchema);
const compiled = (text: string): ((row: Row) => unknown) => compileExpression(parseExpression(text), schema, "bench").evaluate;

const activity = activityFrame() as unknown as Row[];
const frame: DataFrame = { kind: FRAME_DATA, sender: 0, seq: 1, epoch: 3, since: 1_700_000_000_000.25, until: 1_700_000_000_001.75, rows: activity };
const narrowFrame: DataFrame = { ...frame, rows: activity.map((row, index): Row => ({ gt: row.gt, count: index * 3 })) };
/** The same rows by position, in the order of their keys. */
function byPosition(named: DataFrame): PositionalDataFrame {
  const columns = Object.keys(named.rows[0] ?? {});
  return { ...named, columns, rows: named.rows.map((row) => columns.map((column) => row[column])) };
}
const arrayFrame = byPosition(frame);
const narrowArrayFrame = byPosition(narrowFrame);
const rowsOf = (decoded: ReturnType<typeof decodeFramePositional>): number => (decoded as PositionalDataFrame).rows.length;
const rows = activity.map((row, index) => ({ ...row, gt: ["stairsup", "sit", null, "walk", "stairsdown", "bike"][index % 6] ?? null }));
/** The same rows, as the plain code (operators.ts) types them. */
const plainRows = rows as unknown as readonly ActivityRow[];
const project = (): ProjectOperator => new ProjectOperator("bench.project", [
  { name: "gt", evaluate: compiled("gt") }, { name: "Model", evaluate: compiled("model") },
  { name: "Arrival_Time", evaluate: compiled("arrival_time") }, { name: "Creation_Time", evaluate: compiled("creation_time") },
]);
const filter = (): FilterOperator => new FilterOperator("bench.filter", compiled("gt like '%stairs%'"));

const byIndex = (text: string): ((row: PositionalRow) => unknown) => compilePositional(parseExpression(text), schema, "bench").evaluate;
const projectArrays = (): PositionalProjectOperator => new PositionalProjectOperator("bench.project", [
  { name: "gt", evaluate: byIndex("gt") }, { name: "Model", evaluate: byIndex("model") },
  { name: "Arrival_Time", evaluate: byIndex("arrival_time") }, { name: "Creation_Time", evaluate: byIndex("creation_time") },
]);
const filterArrays = (): PositionalFilterOperator => new PositionalFilterOperator("bench.filter", byIndex("gt like '%stairs%'"));
const positionalRows = rows.map((row) => toPositionalRow(schema.fields.map((field) => field.name), row));

// Output rows are stored into a ring of slots (harness.ts, OutputRing) by the operators and by their plain code alike,
// as an engine keeps its output until it is sent; the `-dropped` plain subjects are the old baseline, which drops them.
function positionalOperators(list: PositionalOperator[]): () => number {
  const ring = new OutputRing();
  const emit: PositionalEmit = ring.keep;
  const input = chainPositional(list, emit, { at: -1 });
  return () => {
    for (let index = 0; index < positionalRows.length; index++) input(positionalRows[index] as PositionalRow);
    return ring.count;
  };
}

function operators(list: Operator[]): () => number {
  const ring = new OutputRing();
  const emit: Emit = ring.keep;
  const input = chain(list, emit, { at: -1 });
  return () => {
    for (let index = 0; index < rows.length; index++) input(rows[index] as Row);
    return ring.count;
  };
}

function plain(work: PlainWork): () => number {
  const ring = new OutputRing();
  return () => {
    work(plainRows, ring.keep);
    return ring.count;
  };
}

function dropped(work: PlainWork): () => number {
  const counter = new DropCounter();
  return () => {
    work(plainRows, counter.drop);
    return counter.count;
  };
}

/** One operator actor's frame: decode, filter + project, encode the rows it keeps (`positional`: all by position). */
function actorPath(positional: boolean): () => number {
  const source = encodeFrame({ ...frame, rows }).slice();
  const columns = ["gt", "Model", "Arrival_Time", "Creation_Time"];
  if (positional) {
    let out: PositionalRow[] = [];
    const input = chainPositional([filterArrays(), projectArrays()], (row) => out.push(row), { at: -1 });
    return () => {
      const decoded = decodeFramePositional(source) as PositionalDataFrame;
      out = [];
      for (let index = 0; index < decoded.rows.length; index++) input(decoded.rows[index] as PositionalRow);
      return encodeFrame({ ...frame, columns, rows: out }).length;
    };
  }
  let out: Row[] = [];
  const input = chain([filter(), project()], (row) => out.push(row), { at: -1 });
  return () => {
    const decoded = decodeFrame(source) as DataFrame;
    out = [];
    for (let index = 0; index < decoded.rows.length; index++) input(decoded.rows[index] as Row);
    return encodeFrame({ ...frame, rows: out }).length;
  };
}

/**
 * An aggregation actor's frame (scenario (b)'s: count per window and activity, update mode): decode the key
 * projection's frame of [window, gt], run the aggregation, flush the changed groups (`positional`: its input by index).
 */
function aggregatePath(positional: boolean): () => number {
  const keys = activity.map((row, index): Row => ({ window: { start: 1_700_000_000_000 + Math.floor(index / 64) * 1000, end: 1_700_000_001_000 + Math.floor(index / 64) * 1000 }, gt: ["stairsup", "sit", null, "walk", "stairsdown", "bike"][index % 6] ?? null }));
  const source = encodeFrame({ ...frame, rows: keys }).slice();
  const operator = new AggregateOperator("bench.aggregate", { groupingColumns: ["window", "gt"], hiddenKeyColumns: [], aggregates: [{ name: "count", function: "count", argument: undefined }], keyColumn: "__rill_key", stateId: "aggregate-0", outputMode: "update", eventTime: undefined });
  const counter = new DropCounter();
  const named = operator.connect(counter.drop);
  if (positional) {
    const input = aggregatePositionalInput({ groupingColumns: ["window", "gt"], hiddenKeyColumns: [], argumentColumns: [undefined], eventTime: undefined }, ["window", "gt"]).connect(operator);
    return () => {
      const decoded = decodeFramePositional(source) as PositionalDataFrame;
      for (let index = 0; index < decoded.rows.length; index++) input(decoded.rows[index] as PositionalRow);
      operator.flush();
      return counter.count;
    };
  }
  return () => {
    const decoded = decodeFrame(source) as DataFrame;
    for (let index = 0; index < decoded.rows.length; index++) named(decoded.rows[index] as Row);
    operator.flush();
    return counter.count;
  };
}

/**
 * An aggregation actor's frame with steps after it (scenario (b)'s aggregation, then where count > 0 and a select of gt,
 * count * 2 and the group key): decode by position, aggregate, flush, filter + project, the output frame encoded.
 * `positional`: the aggregation's output by position (arrays into the positional steps, the frame encoded from arrays);
 * otherwise named (main's "positional input, named output").
 */
function aggregateOutputPath(positional: boolean): () => number {
  const keys = activity.map((row, index): Row => ({ window: { start: 1_700_000_000_000 + Math.floor(index / 64) * 1000, end: 1_700_000_001_000 + Math.floor(index / 64) * 1000 }, gt: ["stairsup", "sit", null, "walk", "stairsdown", "bike"][index % 6] ?? null }));
  const source = encodeFrame({ ...frame, rows: keys }).slice();
  const operator = new AggregateOperator("bench.aggregate", { groupingColumns: ["window", "gt"], hiddenKeyColumns: [], aggregates: [{ name: "count", function: "count", argument: undefined }], keyColumn: "__rill_key", stateId: "aggregate-0", outputMode: "update", eventTime: undefined });
  const outputSchema = { fields: [{ name: "window", type: "window" as const, nullable: false }, { name: "gt", type: "string" as const, nullable: true }, { name: "count", type: "long" as const, nullable: false }] };
  const named = (text: string): ((row: Row) => unknown) => compileExpression(parseExpression(text), outputSchema, "bench").evaluate;
  const indexed = (text: string): ((row: PositionalRow) => unknown) => compilePositional(parseExpression(text), outputSchema, "bench").evaluate;
  const input = aggregatePositionalInput({ groupingColumns: ["window", "gt"], hiddenKeyColumns: [], argumentColumns: [undefined], eventTime: undefined }, ["window", "gt"], ["window", "gt", "count", "__rill_key"]);
  const columns = ["gt", "c2", "__rill_key"];
  if (positional) {
    let out: PositionalRow[] = [];
    const steps = chainPositional([
      new PositionalFilterOperator("bench.filter", indexed("count > 0")),
      new PositionalProjectOperator("bench.project", [{ name: "gt", evaluate: indexed("gt") }, { name: "c2", evaluate: indexed("count * 2") }, { name: "__rill_key", evaluate: (row) => row[3] }]),
    ], (row) => out.push(row), { at: -1 });
    operator.connect(() => undefined);
    input.output?.connect(operator, steps);
    const rowsIn = input.connect(operator);
    return () => {
      out = [];
      const decoded = decodeFramePositional(source) as PositionalDataFrame;
      for (let index = 0; index < decoded.rows.length; index++) rowsIn(decoded.rows[index] as PositionalRow);
      operator.flush();
      return encodeFrame({ ...frame, columns, rows: out }).length;
    };
  }
  let out: Row[] = [];
  operator.connect(chain([
    new FilterOperator("bench.filter", named("count > 0")),
    new ProjectOperator("bench.project", [{ name: "gt", evaluate: named("gt") }, { name: "c2", evaluate: named("count * 2") }, { name: "__rill_key", evaluate: (row) => row.__rill_key }]),
  ], (row) => out.push(row), { at: -1 }));
  const rowsIn = input.connect(operator);
  return () => {
    out = [];
    const decoded = decodeFramePositional(source) as PositionalDataFrame;
    for (let index = 0; index < decoded.rows.length; index++) rowsIn(decoded.rows[index] as PositionalRow);
    operator.flush();
    return encodeFrame({ ...frame, rows: out }).length;
  };
}

/**
 * A source actor's work on one frame of 256 rows: the activity generator makes them, filter + project, the output frame
 * encoded. `positional`: arrays from the generator on (rows by position in source stages).
 */
function sourcePath(positional: boolean): () => number {
  const columns = ["gt", "Model", "Arrival_Time", "Creation_Time"];
  const generator = new ActivityGenerator({ seed: 5 });
  let arrival = 1_700_000_000_000;
  if (positional) {
    let out: PositionalRow[] = [];
    const input = chainPositional([filterArrays(), projectArrays()], (row) => out.push(row), { at: -1 });
    return () => {
      out = [];
      for (let index = 0; index < 256; index++) input(generator.nextValues(arrival++));
      return encodeFrame({ ...frame, columns, rows: out }).length;
    };
  }
  let out: Row[] = [];
  const input = chain([filter(), project()], (row) => out.push(row), { at: -1 });
  return () => {
    out = [];
    for (let index = 0; index < 256; index++) input(generator.next(arrival++) as unknown as Row);
    return encodeFrame({ ...frame, rows: out }).length;
  };
}

// A JSON file source's frame: 256 JSON Lines of activity rows parsed and checked against the schema (no zod validator,
// as a DDL or StructType schema), named or by position (read by the schema's names into arrays), then filter + project
// and the output frame encoded.
function sourceJson(positional: boolean): () => number {
  const columns = ["gt", "Model", "Arrival_Time", "Creation_Time"];
  const lines = activity.map((row) => JSON.stringify(row, (_, value: unknown) => (typeof value === "bigint" ? Number(value) : value)));
  const letter = (): void => {
    throw new Error("a bench line failed the schema");
  };
  if (positional) {
    const parse = jsonPositionalParser(schema, undefined);
    let out: PositionalRow[] = [];
    const input = chainPositional([filterArrays(), projectArrays()], (row) => out.push(row), { at: -1 });
    return () => {
      out = [];
      for (const row of parse(lines, "bench.json", letter, 1)) input(row);
      return encodeFrame({ ...frame, columns, rows: out }).length;
    };
  }
  const parse = jsonParser(schema, undefined);
  let out: Row[] = [];
  const input = chain([filter(), project()], (row) => out.push(row), { at: -1 });
  return () => {
    out = [];
    for (const row of parse(lines, "bench.json", letter, 1)) input(row);
    return encodeFrame({ ...frame, rows: out }).length;
  };
}

const activityBytes = encodeFrame(frame).slice();
const narrowBytes = encodeFrame(narrowFrame).slice();
const subjects: Record<string, () => number> = {
  encode: () => encodeFrame(frame).length,
  decode: () => (decodeFrame(activityBytes) as DataFrame).rows.length,
  codec: () => (decodeFrame(encodeFrame(frame)) as DataFrame).rows.length,
  // Rows made just before they are encoded (young in V8's heap), as an operator's output is; the copy is counted too.
  "encode-young": () => encodeFrame({ ...frame, rows: activity.map((row) => ({ ...row })) }).length,
  "encode-narrow": () => encodeFrame(narrowFrame).length,
  "decode-narrow": () => (decodeFrame(narrowBytes) as DataFrame).rows.length,
  // Rows by position (arrays in the schema's order): the same bytes.
  "encode-arrays": () => encodeFrame(arrayFrame).length,
  "decode-arrays": () => rowsOf(decodeFramePositional(activityBytes)),
  "codec-arrays": () => rowsOf(decodeFramePositional(encodeFrame(arrayFrame))),
  "encode-arrays-young": () => encodeFrame({ ...arrayFrame, rows: arrayFrame.rows.map((row): PositionalRow => row.slice()) }).length,
  "encode-narrow-arrays": () => encodeFrame(narrowArrayFrame).length,
  "decode-narrow-arrays": () => rowsOf(decodeFramePositional(narrowBytes)),
  filter: operators([filter()]),
  project: operators([project()]),
  "filter-project": operators([filter(), project()]),
  // The same work in plain code (operators.ts), its rows kept in a ring as the operators' are, and the old baseline.
  "plain-filter": plain(plainFilter),
  "plain-project": plain(plainSelect),
  "plain-filter-project": plain(plainFilterSelect),
  "plain-project-dropped": dropped(droppedSelect),
  "plain-filter-project-dropped": dropped(droppedFilterSelect),
  // The same operators over rows by position (compilePositional).
  "filter-arrays": positionalOperators([filterArrays()]),
  "project-arrays": positionalOperators([projectArrays()]),
  "filter-project-arrays": positionalOperators([filterArrays(), projectArrays()]),
  // An operator actor's work on one frame (rows by position wired, rill.rows.positional): decode the frame, run
  // filter + project, encode the output frame. Named: decodeFrame, the named chain, encodeFrame of objects.
  "actor-named": actorPath(false),
  "actor-arrays": actorPath(true),
  // An aggregation actor's work on one frame: decode, aggregate, flush (named, or its input by position).
  "aggregate-named": aggregatePath(false),
  "aggregate-arrays": aggregatePath(true),
  // The same with a filter and a projection after it and the output frame encoded (its output named, or by position).
  "aggregate-out-named": aggregateOutputPath(false),
  "aggregate-out-arrays": aggregateOutputPath(true),
  // A source actor's frame (rows by position in source stages): rows made or parsed, filter + project, encode.
  "source-activity-named": sourcePath(false),
  "source-activity-arrays": sourcePath(true),
  // Scenario (b)'s source actor's frame (bench/micro/source-b.ts): named, or by position with the watermark bound.
  "source-b-named": sourceB(false),
  "source-b-arrays": sourceB(true),
  "source-json-named": sourceJson(false),
  "source-json-arrays": sourceJson(true),
  // 256 new impressions and clicks per frame (made in the call), joined, then the watermark raised.
  "stream-join": streamJoinTask("inner").run,
  "stream-join-outer": streamJoinTask("left_outer").run,
};
// Small frames (1 and 3 rows, as a channel sends at 10,000 rows a second): FRAMES_PER_CALL frames a call (256 unless
// set; instructions.sh divides by the same), so that the script's "per row" figure is per frame.
const FRAMES_PER_CALL = Number(process.env.FRAMES_PER_CALL ?? "256");
function smallFrames(rowsPerFrame: number): { encode: () => number; decode: () => number; codec: () => number } {
  const small: DataFrame = { ...frame, rows: activity.slice(0, rowsPerFrame) };
  const bytes = encodeFrame(small).slice();
  const times = (once: () => number) => (): number => {
    let total = 0;
    for (let index = 0; index < FRAMES_PER_CALL; index++) total += once();
    return total;
  };
  return {
    encode: times(() => encodeFrame(small).length),
    decode: times(() => (decodeFrame(bytes) as DataFrame).rows.length),
    codec: times(() => (decodeFrame(encodeFrame(small)) as DataFrame).rows.length),
  };
}
for (const rowsPerFrame of [1, 3]) {
  const small = smallFrames(rowsPerFrame);
  subjects[`encode-frames-${rowsPerFrame}`] = small.encode;
  subjects[`decode-frames-${rowsPerFrame}`] = small.decode;
  subjects[`codec-frames-${rowsPerFrame}`] = small.codec;
}
// An output channel sending frames of 2 rows (scenario (b)'s fill at 10,000 rows a second), named and by position:
// push, flush, the frame literal, encodeFrame, publish (in-process, no receiver). Per frame, as the small frames.
function channelFrames(positional: boolean): () => number {
  const channel = new OutputChannel(new InProcessTransport(), "bench", 0, { window: Number.MAX_SAFE_INTEGER, maxFrameRows: 2 });
  const columns = Object.keys(activity[0] ?? {});
  const named = activity.slice(0, 2);
  const arrays = named.map((row) => columns.map((column) => row[column]));
  return () => {
    for (let index = 0; index < FRAMES_PER_CALL; index++) {
      if (positional) for (const row of arrays) channel.pushPositional(row.slice(), columns, index, index + 1);
      else for (const row of named) channel.push({ ...row }, index, index + 1);
      channel.flush(1);
    }
    return channel.framesSent;
  };
}
subjects["channel-frames-2"] = channelFrames(false);
subjects["channel-frames-2-arrays"] = channelFrames(true);
// A stream-static join actor's frame (YSB's join): decode, join, encode (named, or by position).
subjects["static-join-named"] = await staticJoinPath(false);
subjects["static-join-arrays"] = await staticJoinPath(true);
subjects["generate-named"] = generatePath(false);
subjects["generate-arrays"] = generatePath(true);
subjects["session-window-named"] = sessionWindowPath(false);
subjects["session-window-arrays"] = sessionWindowPath(true);
subjects["session-window-out-arrays"] = sessionWindowPath(true, true);
const run = subjects[subject];
if (run === undefined) throw new Error(`unknown subject ${subject}; one of ${Object.keys(subjects).join(", ")}`);
let sink = 0;
// The same warm-up in both runs (so that V8 optimizes the same code before the counted frames).
for (let index = 0; index < 500; index++) sink += run();
for (let index = 0; index < frames; index++) sink += run();
if (!Number.isFinite(sink)) throw new Error("unreachable");
