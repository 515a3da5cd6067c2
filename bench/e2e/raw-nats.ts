// The raw NATS limit: a plain publisher and subscriber (the NATS client directly, no engine) moving the same records.
//
// Same records: the activity generators of the source, one per partition, on the same open-loop
// schedule (OpenLoopSchedule), so the rows and their due times are those Rill's source makes. In
// the default mode ("query") the publisher does in plain code what scenario (a) does (keep the
// stairs rows, keep gt, Model, Arrival_Time, Creation_Time), so NATS carries exactly the records
// that Rill's source actor sends to its sink actor; the "input" mode sends every generated row.
// Same frames: msgpackr with record structures (the options of src/actors/codec.ts) around a frame
// envelope like Rill's data frame, cut as Rill's source actor cuts them: rows are polled at most
// FRAME_ROWS (1024, Rill's default rill.flow.maxFrameRows) at a time, a frame leaves when 1024
// records are pending or at the end of the turn, and a turn ends after 8 x 1024 polled rows (then
// setImmediate) or when no row is due (then, as Rill's source does, the next turn of the event loop when the next row
// is due within 2 ms, else a timer). So under load frames carry up to 1024 records, as Rill's do, and at low rates the
// few records due per turn.
// No credit and no flow control: a subscriber that cannot keep up is cut off by nats-server as a
// slow consumer, and the run counts as not kept up.
// Publisher and subscriber have a connection each and run in this process, as Rill's actors do.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Packr } from "msgpackr";
import { nowMs } from "../../src/core/clock.ts";
import { LatencyRecorder } from "../../src/core/latency.ts";
import type { Row } from "../../src/core/types.ts";
import { ActivityGenerator, type ActivityRow } from "../../src/connectors/sources/activity.ts";
import { OpenLoopSchedule, partitionShare } from "../../src/connectors/sources/open-loop.ts";
import { diffCounts, gtKey, selectStairs, summarize } from "./expected.ts";
import type { RawMode } from "./modes.ts";
import { ARRIVAL_ROUNDING_MS } from "./scenarios.ts";
import { backlogWatch, endOfRun, measure, type PointResult, type PointSettings, type RunContext } from "./point.ts";

export const FRAME_ROWS = 1024;
const ROWS_PER_TURN = FRAME_ROWS * 8;

interface RawFrame {
  readonly kind: 0;
  readonly sender: number;
  readonly seq: number;
  readonly epoch: number;
  readonly since: number;
  readonly rows: Row[];
}

let runs = 0;

export async function runRawPoint(context: RunContext, mode: RawMode, settings: PointSettings): Promise<PointResult> {
  const started = nowMs();
  const totalRows = Math.round(settings.rate * settings.seconds);
  const summary = summarize({ seed: context.seed, numPartitions: context.numPartitions, totalRows });
  const query = mode.records === "query";
  const expectedRows = query ? summary.stairsRows : totalRows;
  const expectedByGt = query ? summary.stairsByGt : summary.countsByGt;
  const subject = `bench.raw.${process.pid}.${runs++}`;
  const subscriberConnection = await connect({ ...context.nats, name: "rill-bench-raw-sub" });
  const publisherConnection = await connect({ ...context.nats, name: "rill-bench-raw-pub" });
  const subscriber = new RawSubscriber(expectedRows, context.numPartitions);
  try {
    const subscription = subscriberConnection.subscribe(subject, { callback: (error, message) => (error ? subscriber.fail(error) : subscriber.receive(message.data)) });
    await subscriberConnection.flush();
    const publisher = new RawPublisher(publisherConnection, subject, settings.rate, totalRows, context, query ? selectStairs : (row) => row);
    publisher.start();
    const scheduleStart = publisher.scheduleStart;
    const inputEquivalent = () => (expectedRows === 0 ? 0 : (subscriber.rows / expectedRows) * totalRows);
    const failed = new Promise<"failed">(() => undefined);
    const outcome = await endOfRun(subscriber.done, failed, settings.seconds * 1000 + context.slackMs, backlogWatch(settings, totalRows, scheduleStart, inputEquivalent));
    publisher.stop();
    subscription.unsubscribe();
    const complete = outcome === "complete";
    const endedAt = complete ? subscriber.lastArrival : nowMs();
    const tracker = { outputRows: subscriber.rows, inputEquivalent, lastArrival: subscriber.lastArrival };
    return {
      ...measure(tracker, subscriber.rowLatency, settings, totalRows, scheduleStart, endedAt, 0),
      scenario: "a",
      mode: mode.id,
      expectedOutputRows: expectedRows,
      complete,
      outcome,
      error: subscriber.error ?? publisher.error ?? (complete ? diffCounts("rows per gt", subscriber.countsByGt, expectedByGt) : undefined),
      latency: subscriber.frameLatency.percentiles(),
      rowsPerFrame: publisher.frames > 0 ? Math.round((publisher.records / publisher.frames) * 1000) / 1000 : undefined,
      creditWaits: 0,
      wallMs: nowMs() - started,
    };
  } finally {
    await Promise.all([publisherConnection.close(), subscriberConnection.close()]);
  }
}

class RawPublisher {
  readonly scheduleStart: number;
  records = 0;
  frames = 0;
  error: string | undefined;
  private readonly schedule: OpenLoopSchedule;
  private readonly generators: ActivityGenerator[];
  private readonly emitted: number[];
  private readonly seq: number[];
  private readonly packr = new Packr({ useRecords: true, moreTypes: false, bundleStrings: false });
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly connection: NatsConnection,
    private readonly subject: string,
    rate: number,
    private readonly totalRows: number,
    context: RunContext,
    private readonly select: (row: ActivityRow) => Row | undefined,
  ) {
    this.schedule = new OpenLoopSchedule({ rowsPerSecond: rate, rampUpMs: 0, totalRows, wake: "spin" });
    this.scheduleStart = this.schedule.begin();
    const partitions = context.numPartitions;
    this.generators = Array.from({ length: partitions }, (_, partition) => new ActivityGenerator({ seed: context.seed, partition, numPartitions: partitions }));
    this.emitted = new Array<number>(partitions).fill(0);
    this.seq = new Array<number>(partitions).fill(0);
  }

  start(): void {
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One turn per partition (as each partition is a source actor in Rill); then the next turn at once, or a timer until a row is due. */
  private readonly tick = (): void => {
    if (this.stopped) return;
    const partitions = this.generators.length;
    const due = this.schedule.rowsDueBy(nowMs());
    let behind = false;
    try {
      for (let partition = 0; partition < partitions; partition++) {
        if (this.turn(partition, partitionShare(due, partition, partitions))) behind = true;
      }
    } catch (error) {
      this.error = `raw publisher failed: ${String(error)}`;
      return;
    }
    if (behind) {
      setImmediate(this.tick);
      return;
    }
    if (due >= this.totalRows) return;
    // As Rill's open-loop readers wake (src/connectors/sources/open-loop.ts): a timer only for waits of 2 ms and more,
    // else the next turn of the event loop. A timer of at least 1 ms for every wait, as before, made each row of a
    // 10k rows/s run wait for the next whole-ms tick: about 1 ms of this baseline's p50 was that timer, not NATS.
    const wait = this.schedule.dueTime(due) - nowMs();
    if (wait >= 2) this.timer = setTimeout(this.tick, Math.min(1000, Math.floor(wait) - 1));
    else setImmediate(this.tick);
  };

  /** Polls up to ROWS_PER_TURN due rows, FRAME_ROWS at a time; returns true when rows are still due. */
  private turn(partition: number, share: number): boolean {
    const partitions = this.generators.length;
    const generator = this.generators[partition] as ActivityGenerator;
    let pending: Row[] = [];
    let since = Number.POSITIVE_INFINITY;
    let budget = ROWS_PER_TURN;
    while ((this.emitted[partition] as number) < share && budget > 0) {
      const first = this.emitted[partition] as number;
      const take = Math.min(FRAME_ROWS, share - first, budget);
      // As in Rill's source actor, a record inherits the due time of the first row of its poll.
      const pollSince = this.schedule.dueTime(partition + first * partitions);
      for (let offset = 0; offset < take; offset++) {
        const due = offset === 0 ? pollSince : this.schedule.dueTime(partition + (first + offset) * partitions);
        const record = this.select(generator.next(due));
        if (record === undefined) continue;
        if (pollSince < since) since = pollSince;
        pending.push(record);
      }
      this.emitted[partition] = first + take;
      budget -= take;
      if (pending.length >= FRAME_ROWS) {
        this.publish(partition, pending, since);
        pending = [];
        since = Number.POSITIVE_INFINITY;
      }
    }
    if (pending.length > 0) this.publish(partition, pending, since);
    return (this.emitted[partition] as number) < share;
  }

  private publish(partition: number, rows: Row[], since: number): void {
    const seq = (this.seq[partition] as number) + 1;
    this.seq[partition] = seq;
    const frame: RawFrame = { kind: 0, sender: partition, seq, epoch: 0, since, rows };
    this.connection.publish(this.subject, this.packr.pack(frame));
    this.records += rows.length;
    this.frames++;
  }
}

class RawSubscriber {
  rows = 0;
  lastArrival = 0;
  error: string | undefined;
  readonly countsByGt = new Map<string, number>();
  readonly frameLatency = new LatencyRecorder();
  readonly rowLatency = new LatencyRecorder();
  readonly done: Promise<void>;
  private markDone = (): void => undefined;
  private readonly packr = new Packr({ useRecords: true, moreTypes: false, bundleStrings: false });
  private readonly expectedSeq: number[];

  constructor(private readonly expectedRows: number, partitions: number) {
    this.expectedSeq = new Array<number>(partitions).fill(1);
    this.done = new Promise((resolve) => (this.markDone = resolve));
  }

  receive(payload: Uint8Array): void {
    const frame = this.packr.unpack(payload) as RawFrame;
    if (frame.seq !== this.expectedSeq[frame.sender]) {
      this.error ??= `raw subscriber: partition ${frame.sender} frame ${frame.seq} arrived, expected ${this.expectedSeq[frame.sender]} (frames lost: slow consumer?)`;
    }
    this.expectedSeq[frame.sender] = frame.seq + 1;
    const now = nowMs();
    const rows = frame.rows;
    this.frameLatency.record(now - frame.since, rows.length);
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index] as Row;
      this.rowLatency.record(nowMs() - (row.Arrival_Time as number) - ARRIVAL_ROUNDING_MS, 1);
      const gt = gtKey(row.gt);
      this.countsByGt.set(gt, (this.countsByGt.get(gt) ?? 0) + 1);
    }
    this.rows += rows.length;
    this.lastArrival = nowMs();
    if (this.rows >= this.expectedRows) this.markDone();
  }

  fail(error: Error): void {
    this.error ??= `raw subscriber: ${error.message}`;
  }
}
