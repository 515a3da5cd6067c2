// Spark's rate source: `timestamp` and `value` rows at rowsPerSecond, generated open-loop from the time each is due.
//
// @example
//   session.readStream.format("rate").option("rowsPerSecond", "1000").option("numPartitions", "2").load()
import { schemaOf, type PositionalRow, type Row, type Schema } from "../../core/types.ts";
import { ConnectorOptions, rejectUserSchema } from "../options.ts";
import { OpenLoopReader, OpenLoopSchedule, wakeOption } from "./open-loop.ts";
import type { PositionalSourceReader, SourceProvider, SourceReader } from "./source.ts";
import type { SourceRequest } from "./request.ts";

const OPTIONS = ["rowsPerSecond", "numPartitions", "rampUpTime", "wake", "busyWait"];

export const rateSchema: Schema = schemaOf([
  { name: "timestamp", type: "timestamp", nullable: false },
  { name: "value", type: "long", nullable: false },
]);

export class RateSourceProvider implements SourceProvider {
  readonly format = "rate";
  readonly schema = rateSchema;
  readonly guarantee = "exactly-once" as const;
  readonly numPartitions: number;
  readonly description: string;
  private readonly schedule: OpenLoopSchedule;

  constructor(request: SourceRequest) {
    rejectUserSchema("rate", request.schema);
    const options = new ConnectorOptions("the rate source", request.options, OPTIONS);
    const rowsPerSecond = options.number("rowsPerSecond", 1, { min: 0, minExclusive: true });
    this.numPartitions = options.number("numPartitions", 1, { min: 1, max: 1024, integer: true });
    const rampUpMs = options.duration("rampUpTime", 0);
    const wake = wakeOption(options, "the rate source");
    this.schedule = new OpenLoopSchedule({ rowsPerSecond, rampUpMs, totalRows: undefined, wake });
    const rampUp = rampUpMs > 0 ? `, rampUpTime=${rampUpMs} ms` : "";
    this.description = `RateStream(rowsPerSecond=${rowsPerSecond}, numPartitions=${this.numPartitions}${rampUp}${wake === "timer" ? "" : `, wake=${wake}`})`;
  }

  createReader(_partition: number): SourceReader {
    return new RateReader(this.schedule);
  }

  /** Rows by position: [timestamp, value], the schema's order. */
  createPositionalReader(_partition: number): PositionalSourceReader {
    return new RatePositionalReader(this.schedule);
  }
}

class RateReader extends OpenLoopReader {
  protected makeRow(index: number, dueMs: number): Row {
    return { timestamp: Math.floor(dueMs), value: index };
  }
}

class RatePositionalReader extends OpenLoopReader<PositionalRow> {
  protected makeRow(index: number, dueMs: number): PositionalRow {
    return [Math.floor(dueMs), index];
  }
}
