// Per-hop timing of frames, for finding where a row's latency goes: off unless RILL_TRACE_HOPS is set (bench/point.ts
// prints the breakdown). Each point records, per frame, how long ago its rows were due (spread evenly between the
// frame's oldest and newest row, as the sink's latency figure is), so the medians of successive points add up.
import { nowMs } from "../core/clock.ts";
import { LatencyRecorder, type LatencyPercentiles } from "../core/latency.ts";

export interface HopFigures extends LatencyPercentiles {
  readonly frames: number;
  readonly rowsPerFrame: number;
}

export class HopTrace {
  private readonly points = new Map<string, { recorder: LatencyRecorder; frames: number; rows: number }>();
  /** Points in the order they were first recorded. */
  private readonly order: string[] = [];

  /** A frame of `rows` rows, the oldest due at `since` and the newest at `until`, reached `point` now. */
  record(point: string, since: number, until: number, rows: number, now = nowMs()): void {
    let entry = this.points.get(point);
    if (!entry) {
      entry = { recorder: new LatencyRecorder(), frames: 0, rows: 0 };
      this.points.set(point, entry);
      this.order.push(point);
    }
    entry.frames++;
    entry.rows += rows;
    if (!(since <= until) || !Number.isFinite(since)) return;
    const count = Math.max(1, rows);
    const steps = Math.min(8, count);
    let recorded = 0;
    for (let step = 0; step < steps; step++) {
      const share = Math.round((count * (step + 1)) / steps) - recorded;
      recorded += share;
      entry.recorder.record(now - (since + ((until - since) * (step + 0.5)) / steps), share);
    }
  }

  /** Each point's figures, in the order the points were first reached. */
  figures(): Array<{ point: string } & HopFigures> {
    return this.order.map((point) => {
      const entry = this.points.get(point) as { recorder: LatencyRecorder; frames: number; rows: number };
      return { point, ...entry.recorder.percentiles(), frames: entry.frames, rowsPerFrame: entry.frames === 0 ? 0 : Math.round((entry.rows / entry.frames) * 100) / 100 };
    });
  }

  reset(): void {
    this.points.clear();
    this.order.length = 0;
  }
}

/** The process's trace, present only when RILL_TRACE_HOPS is set: every call site tests it, so it costs nothing when off. */
export const hopTrace: HopTrace | undefined = process.env.RILL_TRACE_HOPS ? new HopTrace() : undefined;

/** The stage part of an actor's name (`agg.p1` -> `agg`), so the partitions of a stage share their points. */
export function stageOf(actorName: string): string {
  const at = actorName.lastIndexOf(".p");
  return at > 0 ? actorName.slice(0, at) : actorName;
}
