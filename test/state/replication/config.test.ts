// rill.state.replication is refused at start() where it cannot apply, naming the option and what to do.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "../../../src/index.ts";
import { inProcessSession } from "../../helpers/session.ts";

describe("rill.state.replication at start()", () => {
  it("is refused with rill.workers = local, and an unknown replica count is refused as configuration", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-replication-config-"));
    const session = inProcessSession({ "rill.state.replication": "jetstream" });
    try {
      const writer = session.readStream.format("rate").load().groupBy("value").count().writeStream.queryName("counts").outputMode("update").format("console").option("checkpointLocation", join(folder, "cp"));
      await assert.rejects(writer.start(), (error: unknown) => error instanceof ConfigError && /rill\.state\.replication = jetstream replicates the state workers write; with rill\.workers = local/.test(error.message));
      assert.throws(() => inProcessSession({ "rill.state.replicas": 2 }).conf.read(), (error: unknown) => error instanceof ConfigError && /rill\.state\.replicas' = '2' is not valid: expected 1, 3 or 5/.test(error.message));
    } finally {
      await session.stop();
      await rm(folder, { recursive: true, force: true });
    }
  });
});
