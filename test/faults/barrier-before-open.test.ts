// A barrier asked for while a rollback's new run still opens its sources waits for them: processAllAvailable() called
// in that window returns only once the rows the input holds have reached the sink. (Placed at once, the barrier
// followed the rows of a reader that had not looked at its input: the JetStream source after a NATS node loss.)
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { DataFrame } from "../../src/api/dataframe.ts";
import { querySubjects } from "../../src/actors/subjects.ts";
import { MemorySourceProvider, MemoryStreamData } from "../../src/connectors/sources/memory.ts";
import type { ReadLimit, SourceContext, SourceProvider, SourceReader } from "../../src/connectors/sources/source.ts";
import { rowValidator, schemaFromZod } from "../../src/core/zod-schema.ts";
import type { Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const schema = z.object({ id: z.number().int() });
const ROWS = Array.from({ length: 300 }, (_, id) => ({ id }));
const POISON = 150;

/**
 * A reader that knows nothing of its input before open() (as a JetStream or file source): prepare() does nothing
 * until then. The readers after the first wait in open() for `gate`, and tell `opening` they got there.
 */
class GatedReader implements SourceReader {
  readonly offsetOrder;
  private isOpen = false;
  preparedBeforeOpen = 0;

  constructor(private readonly inner: SourceReader, private readonly gate: Promise<void> | undefined, private readonly opening: () => void) {
    this.offsetOrder = inner.offsetOrder;
  }

  async open(context: SourceContext): Promise<void> {
    if (this.gate) {
      this.opening();
      await this.gate;
    }
    await this.inner.open(context);
    this.isOpen = true;
  }

  async prepare(readLimit?: ReadLimit): Promise<void> {
    if (!this.isOpen) {
      this.preparedBeforeOpen++;
      return;
    }
    await this.inner.prepare(readLimit);
  }

  readyCount(): number {
    return this.isOpen ? this.inner.readyCount() : 0;
  }

  poll(max: number) {
    return this.isOpen ? this.inner.poll(max) : undefined;
  }

  offset(): unknown {
    return this.inner.offset?.();
  }

  seek(offset: unknown): void {
    this.inner.seek?.(offset);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

describe("a barrier asked for while a rollback's run opens its sources", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    session = natsSession(server().options);
    folder = await mkdtemp(join(tmpdir(), "rill-barrier-open-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("waits for the open: processAllAvailable() in that window returns with every row in the sink, once", async () => {
    const data = new MemoryStreamData();
    const memory = new MemorySourceProvider(schemaFromZod(schema), data, rowValidator(schema), "gated");
    let releaseGate = (): void => undefined;
    const gate = new Promise<void>((resolve) => (releaseGate = resolve));
    let reachedOpen = (): void => undefined;
    const opening = new Promise<void>((resolve) => (reachedOpen = resolve));
    const readers: GatedReader[] = [];
    const provider: SourceProvider = {
      format: memory.format,
      schema: memory.schema,
      numPartitions: 1,
      guarantee: memory.guarantee,
      description: "gated memory source",
      createReader: () => {
        const reader = new GatedReader(memory.createReader(), readers.length === 0 ? undefined : gate, reachedOpen);
        readers.push(reader);
        return reader;
      },
    };
    let failuresLeft = 1;
    const query = await new DataFrame(session, { kind: "source", describe: "gated", create: () => provider })
      .map((row) => {
        if (row.id === POISON && failuresLeft-- > 0) throw new Error("transient failure");
        return row;
      })
      .writeStream.queryName("barrier_open").format("memory").option("checkpointLocation", join(folder, "checkpoint")).start();
    data.add(ROWS.slice(0, 100));
    await query.processAllAvailable();
    data.add(ROWS.slice(100));
    // The poisoned row rolls the query back; the new run's reader stops in open().
    await opening;
    const transport = await session.connect();
    const control = querySubjects("rill", "barrier_open", query.runId, 1).control;
    let barrierSeen = (): void => undefined;
    const barrier = new Promise<void>((resolve) => (barrierSeen = resolve));
    const subscription = transport.subscribe(control, () => barrierSeen());
    const drained = query.processAllAvailable();
    // The source actor has the barrier (it subscribed first, on the same connection) before the reader opens.
    await barrier;
    await new Promise((resolve) => setImmediate(resolve));
    subscription.unsubscribe();
    releaseGate();
    await drained;
    assert.equal(query.numRecoveries, 1);
    assert.deepEqual(session.table("barrier_open").map((row) => row.id), ROWS.map((row) => row.id), "every row in the sink once, in order");
    assert.equal(readers[1]?.preparedBeforeOpen, 0, "no barrier was placed before the reader was open");
    await query.stop();
  });
});
