// The NATS sink: publishes each row to a subject as it arrives (JSON or msgpack); flushes hold the query back when the broker is slow.
//
// @example
//   df.writeStream.format("nats").option("subject", "results.counts").option("encoding", "msgpack").start()
import { pack } from "msgpackr";
import type { Transport } from "../../actors/transport.ts";
import { RecordError, RillError, TransportError } from "../../core/errors.ts";
import type { Row } from "../../core/types.ts";
import { NATS_ENCODINGS, subjectProblem, type NatsEncoding } from "../nats-options.ts";
import { ConnectorOptions, ENGINE_SINK_OPTIONS } from "../options.ts";
import type { SinkProvider, SinkWriter } from "./sink.ts";
import type { SinkRequest } from "./request.ts";
import { jsonWithLongs } from "../../core/long.ts";

const OPTIONS = ["subject", "encoding", ...ENGINE_SINK_OPTIONS];

/** Rows published between flushes: a flush waits for the broker, so a slow broker slows the query. */
export const ROWS_PER_FLUSH = 1000;

export class NatsSinkProvider implements SinkProvider {
  readonly format = "nats";
  readonly guarantee = "at-least-once" as const;
  readonly description: string;
  private readonly subject: string;
  private readonly encoding: NatsEncoding;

  constructor(private readonly request: SinkRequest) {
    const options = new ConnectorOptions("the nats sink", request.options, OPTIONS);
    this.subject = options.requiredString("subject", "the NATS subject to publish rows to, e.g. 'results.counts'");
    const problem = subjectProblem(this.subject, false);
    if (problem) throw options.invalid("subject", this.subject, `a valid NATS subject to publish to (${problem}), e.g. 'results.counts'`);
    this.encoding = options.choice("encoding", NATS_ENCODINGS, "json");
    this.description = `NatsSink[${this.subject}, ${this.encoding}, ${request.transport.address}]`;
  }

  createWriter(): SinkWriter {
    return new NatsWriter(this.request.transport, this.subject, this.encoding);
  }
}

const textEncoder = new TextEncoder();

class NatsWriter implements SinkWriter {
  private unflushed = 0;
  private readonly encode: (row: Row) => Uint8Array;

  constructor(private readonly transport: Transport, private readonly subject: string, encoding: NatsEncoding) {
    // Standalone pack() writes plain msgpack maps, which any msgpack decoder reads.
    this.encode = encoding === "json" ? (row) => textEncoder.encode(jsonWithLongs(row)) : (row) => pack(row);
  }

  async open(): Promise<void> {}

  write(rows: readonly Row[]): void | Promise<void> {
    const { transport, subject, encode } = this;
    let index = 0;
    try {
      for (; index < rows.length; index++) transport.publish(subject, encode(rows[index] as Row));
    } catch (error) {
      if (error instanceof RillError) throw error;
      throw new RecordError(`Cannot publish row ${index} of the batch to '${subject}': ${(error as Error).message}. Rows must hold JSON-encodable values.`, { cause: error });
    }
    this.unflushed += rows.length;
    if (this.unflushed >= ROWS_PER_FLUSH) return this.flush();
  }

  endEpoch(): Promise<void> {
    return this.flush();
  }

  async close(): Promise<void> {
    if (this.unflushed > 0) await this.flush();
  }

  private async flush(): Promise<void> {
    this.unflushed = 0;
    try {
      await this.transport.flush();
    } catch (error) {
      if (error instanceof RillError) throw error;
      throw new TransportError(`Flushing rows published to '${this.subject}' failed: ${(error as Error).message}`, { cause: error });
    }
  }
}
