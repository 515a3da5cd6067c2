// Scenario (b)'s source actor's frame, for bench/micro/instructions.ts: 256 rows made by the activity generator, run
// through (b)'s chain (selectExpr("*", cast ... as event_time), withWatermark, window(event_time, 1 second), the key
// projection [window, gt]) and the output frame encoded; named (`source-b-named`: main's source stage) or by position
// (`source-b-arrays`: the generator's arrays, the positional forms bound to the named watermark).
import { encodeFrame } from "../../src/actors/codec.ts";
import { FRAME_DATA, type DataFrame } from "../../src/core/frame.ts";
import { positionalRead } from "../../src/core/column-read.ts";
import type { PositionalRow, Row } from "../../src/core/types.ts";
import { schemaFromZod } from "../../src/core/zod-schema.ts";
import { ActivityGenerator, activitySchema } from "../../src/connectors/sources/activity.ts";
import { compileExpression, compilePositional } from "../../src/expr/compile.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import { chain, type Operator } from "../../src/operators/operator.ts";
import { chainPositional } from "../../src/operators/positional-operator.ts";
import { ProjectOperator } from "../../src/operators/project.ts";
import { PositionalProjectOperator } from "../../src/operators/project-positional.ts";
import { WatermarkOperator } from "../../src/operators/watermark.ts";
import { PositionalWatermarkOperator } from "../../src/operators/watermark-positional.ts";
import { WindowOperator } from "../../src/operators/window.ts";
import { PositionalWindowOperator } from "../../src/operators/window-positional.ts";

const schema = schemaFromZod(activitySchema);
const EVENT_TIME = "cast(cast(Creation_Time as double)/1000000000 as timestamp)";
const withTime = { fields: [...schema.fields, { name: "event_time", type: "timestamp" as const, nullable: true }] };
const frame: DataFrame = { kind: FRAME_DATA, sender: 0, seq: 1, epoch: 3, since: 1_700_000_000_000.25, until: 1_700_000_000_001.75, rows: [] };

/** The named chain's operators (the actor keeps them whichever way the rows run). */
function namedOperators(): Operator[] {
  const columnRead = (name: string) => compileExpression(parseExpression(name), schema, "bench").evaluate;
  return [
    new ProjectOperator("b.0-project", [...schema.fields.map((field) => ({ name: field.name, evaluate: columnRead(field.name) })), { name: "event_time", evaluate: compileExpression(parseExpression(EVENT_TIME), schema, "bench").evaluate }]),
    new WatermarkOperator("b.1-watermark", { column: "event_time", delayMs: 10_000, maxFutureMs: Number.POSITIVE_INFINITY, stateId: "watermark-0", partition: 0, combine: undefined }),
    new WindowOperator("b.2-window", { eventTime: compileExpression(parseExpression("event_time"), withTime, "bench").evaluate, sizeMs: 1000, slideMs: 1000, startMs: 0, column: "window" }),
    new ProjectOperator("b.3-project", [{ name: "window", evaluate: (row: Row) => row.window }, { name: "gt", evaluate: (row: Row) => row.gt }]),
  ];
}

/** The subject, after a check that both ways give the same rows for one frame (as main's named chain gives them). */
export function sourceB(positional: boolean): () => number {
  const named = JSON.stringify(frameRows(false));
  if (JSON.stringify(frameRows(true)) !== named || !named.includes("window")) throw new Error("source-b: the chain by position gives other rows than the named chain");
  return sourcePath(positional).run;
}

function frameRows(positional: boolean): Row[] {
  const path = sourcePath(positional);
  path.run();
  return path.rows();
}

function sourcePath(positional: boolean): { run: () => number; rows: () => Row[] } {
  const generator = new ActivityGenerator({ seed: 5 });
  let arrival = 1_700_000_000_000;
  const named = namedOperators();
  if (positional) {
    const read = (index: number) => positionalRead(index) as unknown as (row: PositionalRow) => unknown;
    const operators = [
      new PositionalProjectOperator("b.0-project", [...schema.fields.map((field, index) => ({ name: field.name, evaluate: read(index) })), { name: "event_time", evaluate: compilePositional(parseExpression(EVENT_TIME), schema, "bench").evaluate }]),
      new PositionalWatermarkOperator("b.1-watermark", schema.fields.length),
      new PositionalWindowOperator("b.2-window", { eventTime: compilePositional(parseExpression("event_time"), withTime, "bench").evaluate, sizeMs: 1000, slideMs: 1000, startMs: 0, windowIndex: schema.fields.length + 1 }),
      new PositionalProjectOperator("b.3-project", [{ name: "window", evaluate: read(schema.fields.length + 1) }, { name: "gt", evaluate: read(schema.fields.findIndex((field) => field.name === "gt")) }]),
    ];
    let out: PositionalRow[] = [];
    const input = chainPositional(operators, (row) => out.push(row), { at: -1 }, 0, named);
    return {
      run: () => {
        out = [];
        for (let index = 0; index < 256; index++) input(generator.nextValues(arrival++));
        return encodeFrame({ ...frame, columns: ["window", "gt"], rows: out }).length;
      },
      rows: () => out.map((row) => ({ window: row[0], gt: row[1] })),
    };
  }
  let out: Row[] = [];
  const input = chain(named, (row) => out.push(row), { at: -1 });
  return {
    run: () => {
      out = [];
      for (let index = 0; index < 256; index++) input(generator.next(arrival++) as unknown as Row);
      return encodeFrame({ ...frame, rows: out }).length;
    },
    rows: () => out,
  };
}
