// The kill schedule of a chaos run: what each child process meets, derived from the seed alone.
import { mulberry32 } from "../../../src/connectors/sources/activity.ts";

/** A fault point of src/core/fault-points.ts, with how many hits to choose among (a process passes some far more often). */
export interface FaultPointSpec {
  readonly point: string;
  readonly maxHit: number;
  /** What a kill there tests. */
  readonly description: string;
}

export const FAULT_POINTS: readonly FaultPointSpec[] = [
  { point: "before-commit", maxHit: 40, description: "every actor acked, the commit not written" },
  { point: "fold", maxHit: 80, description: "inside the commit transaction, while deltas fold into the state" },
  { point: "after-commit", maxHit: 40, description: "the commit durable, the sinks not told" },
  { point: "sink-commit", maxHit: 40, description: "the sink actor about to make an epoch visible" },
  { point: "file-sink-commit", maxHit: 16, description: "the file sink's files in place, its log entry not written" },
  { point: "jetstream-sink-commit", maxHit: 8, description: "the transactional JetStream sink's publishes sent, not acked" },
  { point: "jetstream-sink-published", maxHit: 8, description: "the transactional JetStream sink's epoch published and recorded, its prepared files not removed" },
  { point: "recovery", maxHit: 8, description: "a restart's recovery decision taken, uncommitted deltas not discarded" },
  { point: "sink-recover", maxHit: 2, description: "a restarted transactional JetStream sink republishing a committed epoch" },
  { point: "deadletter-published", maxHit: 3, description: "a committed dead letter acked by the stream, not yet removed from the checkpoint" },
];

export type KillKind = "running" | "startup" | "aimed";

export interface KillStep {
  readonly index: number;
  readonly kind: KillKind;
  /**
   * running: ms after the child has recovered (each query completed an epoch); startup: ms after `afterStarted`
   * queries have started; aimed: the fallback after recovery when the point is never reached.
   */
  readonly delayMs: number;
  /** startup: how many queries have started (on their checkpoints) when the delay begins; 0 is from the spawn on. */
  readonly afterStarted?: number;
  readonly point?: string;
  readonly hit?: number;
  /** SIGKILL nats-server this long after the child has recovered, and start it again after `downMs`. */
  readonly natsRestart?: { readonly afterMs: number; readonly downMs: number };
}

/** How long an aimed child may run before it is killed anyway (its point was not reached). */
const AIM_FALLBACK_MS = 3000;

export function planSchedule(seed: number, kills: number, natsRestarts: number, queries: number): KillStep[] {
  const random = mulberry32(seed);
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const restartAt = new Set(Array.from({ length: natsRestarts }, (_, index) => Math.floor(((index + 0.5) * kills) / natsRestarts)));
  const steps: KillStep[] = [];
  for (let index = 0; index < kills; index++) {
    const roll = random();
    if (restartAt.has(index)) {
      const afterMs = between(200, 1000);
      const downMs = between(300, 1500);
      steps.push({ index, kind: "running", delayMs: afterMs + downMs + between(2000, 3000), natsRestart: { afterMs, downMs } });
    } else if (roll < 0.35) {
      steps.push({ index, kind: "running", delayMs: between(0, 1500) });
    } else if (roll < 0.5) {
      const afterStarted = between(0, queries - 1);
      steps.push({ index, kind: "startup", afterStarted, delayMs: afterStarted === 0 ? between(300, 2500) : between(0, 300) });
    } else {
      const spec = FAULT_POINTS[Math.floor(random() * FAULT_POINTS.length)] as FaultPointSpec;
      steps.push({ index, kind: "aimed", delayMs: AIM_FALLBACK_MS, point: spec.point, hit: between(1, spec.maxHit) });
    }
  }
  return steps;
}

export function describeStep(step: KillStep): string {
  if (step.kind === "aimed") return `aimed at ${step.point ?? "?"}:${step.hit ?? 1}`;
  const nats = step.natsRestart ? `, nats-server killed ${step.natsRestart.afterMs} ms after recovery for ${step.natsRestart.downMs} ms` : "";
  return step.kind === "startup" ? `${step.delayMs} ms after ${step.afterStarted ? `${step.afterStarted} queries started` : "spawn"}` : `${step.delayMs} ms after recovery${nats}`;
}
