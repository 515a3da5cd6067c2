// Hostile: the file source's offset names one file polled part-way. A large file A is committed part-way and the
// process killed; while it is down a file X arrives whose modification time is older than A's (copied with its time
// kept: `cp -p`, rsync -t). The next run lists X first, reads it in its own epoch (maxFilesPerTrigger 1) and commits
// {files: [..., X], partial: none}: A's position is no longer in any offset. Killed again there, the third run reads A
// from its first row, and the file sink commits A's first rows a second time. Spark's file source reads a file whole
// within one batch, so nothing like it can happen there; each input row must be in the output once.
import assert from "node:assert/strict";
import { utimesSync, writeFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { committedLines, runWithKills } from "../../helpers/kill-runs.ts";
import { childEnvironment, useNatsServer } from "../../helpers/nats.ts";
import { useTempFolder } from "../../helpers/temp-folder.ts";

const server = useNatsServer();
const CHILD = join(import.meta.dirname, "..", "child-query.ts");
const LARGE_ROWS = 300_000;
const SMALL_ROWS = 100;

function lines(from: number, count: number): string {
  return `${Array.from({ length: count }, (_, index) => JSON.stringify({ id: from + index, user: `u${index % 7}`, x: 1 + (index % 50) })).join("\n")}\n`;
}

describe("hostile: the file source's part-way offset across a file that sorts before it", () => {
  const folder = useTempFolder("rill-hostile-file-partial-");

  it("commits every row once when an older file arrives while a file polled part-way waits", async () => {
    const input = join(folder(), "input");
    const output = join(folder(), "output");
    await mkdir(input);
    await mkdir(output);
    await writeFile(join(input, "a-large.json"), lines(0, LARGE_ROWS));
    const runs = await runWithKills({
      script: CHILD,
      // Before the second run: X, its modification time an hour before A's.
      args: (run) => {
        if (run === 1) {
          const x = join(input, "x-older.json");
          writeFileSync(x, lines(LARGE_ROWS, SMALL_ROWS));
          const hourAgo = new Date(Date.now() - 3_600_000);
          utimesSync(x, hourAgo, hourAgo);
        }
        return ["stateless", input, output, join(folder(), "checkpoint")];
      },
      env: childEnvironment(server()),
      // Each killed run at once after its first epoch with rows has committed.
      killAfterEpochs: [1, 1], random: () => 0,
    });
    assert.equal(runs.midRunKills, 2);
    const ids = (await committedLines(output)).map((line) => (JSON.parse(line) as { id: number }).id);
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const twice = [...counts].filter(([, count]) => count > 1).map(([id]) => id);
    assert.deepEqual(twice.length === 0 ? [] : [`${twice.length} rows committed twice, ids ${Math.min(...twice)}..${Math.max(...twice)}`], []);
    assert.equal(counts.size, LARGE_ROWS + SMALL_ROWS, "every row committed");
  });
});
