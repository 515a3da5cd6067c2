// Times a run's checkpoint writes: the actors' state changes at each barrier (awaited in the actor's turn, so the
// actor processes nothing meanwhile) and the coordinator's epoch commits. It wraps two methods of the LMDB adapter,
// in this process only; both run once per actor per epoch, never per row, so the wrapping costs nothing measurable.
import { nowMs } from "../../src/core/clock.ts";
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";

export interface CheckpointTimes {
  /** writeChanges calls (one per actor per epoch with changes) and the time they were awaited (ms). */
  writes: number;
  writeMs: number;
  maxWriteMs: number;
  /** Epoch commits (one per epoch) and their time (ms). */
  commits: number;
  commitMs: number;
  maxCommitMs: number;
}

let current: CheckpointTimes | undefined;
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  const prototype = CheckpointStorage.prototype;
  const writeChanges = prototype.writeChanges;
  const commit = prototype.commit;
  prototype.writeChanges = async function (this: CheckpointStorage, ...args: Parameters<CheckpointStorage["writeChanges"]>) {
    const started = nowMs();
    try {
      return await writeChanges.apply(this, args);
    } finally {
      const times = current;
      if (times && args[1].length > 0) {
        const elapsed = nowMs() - started;
        times.writes++;
        times.writeMs += elapsed;
        times.maxWriteMs = Math.max(times.maxWriteMs, elapsed);
      }
    }
  };
  prototype.commit = async function (this: CheckpointStorage, ...args: Parameters<CheckpointStorage["commit"]>) {
    const started = nowMs();
    try {
      return await commit.apply(this, args);
    } finally {
      const times = current;
      if (times) {
        const elapsed = nowMs() - started;
        times.commits++;
        times.commitMs += elapsed;
        times.maxCommitMs = Math.max(times.maxCommitMs, elapsed);
      }
    }
  };
}

/** Starts timing (one run at a time); the returned function stops and gives the figures. */
export function timeCheckpoints(): () => CheckpointTimes {
  install();
  const times: CheckpointTimes = { writes: 0, writeMs: 0, maxWriteMs: 0, commits: 0, commitMs: 0, maxCommitMs: 0 };
  current = times;
  return () => {
    if (current === times) current = undefined;
    const round = (value: number) => Math.round(value * 1000) / 1000;
    return { ...times, writeMs: round(times.writeMs), maxWriteMs: round(times.maxWriteMs), commitMs: round(times.commitMs), maxCommitMs: round(times.maxCommitMs) };
  };
}
