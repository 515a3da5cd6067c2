// The source and sink registries: each format built, unknown formats and options rejected with the names that are known.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSinkProvider } from "../../src/connectors/sinks/registry.ts";
import { createSourceProvider } from "../../src/connectors/sources/registry.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { schemaOf } from "../../src/core/types.ts";
import { sinkRequest, sourceRequest, tempFolder } from "./helpers.ts";

describe("source registry", () => {
  it("builds each format, matching the name case-insensitively", async () => {
    const folder = await tempFolder();
    try {
      const schema = schemaOf([{ name: "a", type: "string", nullable: true }]);
      assert.equal(createSourceProvider(sourceRequest("rate")).format, "rate");
      assert.equal(createSourceProvider(sourceRequest("Activity")).format, "activity");
      assert.equal(createSourceProvider(sourceRequest("JSON", {}, { path: folder.path, schema })).format, "json");
      assert.equal(createSourceProvider(sourceRequest("csv", {}, { path: folder.path, schema })).format, "csv");
      assert.equal(createSourceProvider(sourceRequest("text", {}, { path: folder.path })).format, "text");
      assert.equal(createSourceProvider(sourceRequest("nats", { subject: "in" }, { schema })).format, "nats");
    } finally {
      await folder.remove();
    }
  });

  it("rejects an unknown format with a did-you-mean and the known formats", () => {
    assert.throws(() => createSourceProvider(sourceRequest("jsn")), (error: Error) =>
      error instanceof ConfigError && error.message === "Unknown source format 'jsn'. Did you mean 'json'? Known formats: rate, activity, json, csv, text, nats, jetstream, mqtt.");
  });

  it("rejects an unknown option naming it, its value and the options the format knows", () => {
    assert.throws(() => createSourceProvider(sourceRequest("rate", { rowsPerSec: "10" })), (error: Error) =>
      error instanceof ConfigError && error.message === "Unknown option 'rowsPerSec' (value '10') for the rate source. Did you mean 'rowsPerSecond'? Options: rowsPerSecond, numPartitions, rampUpTime, wake, busyWait.");
  });
});

describe("sink registry", () => {
  it("builds console and nats sinks", () => {
    assert.equal(createSinkProvider(sinkRequest("Console")).format, "console");
    assert.equal(createSinkProvider(sinkRequest("nats", { subject: "out", checkpointLocation: "/tmp/cp" })).format, "nats");
  });

  it("rejects an unknown format listing memory, foreach and foreachBatch too", () => {
    assert.throws(() => createSinkProvider(sinkRequest("consle")), (error: Error) =>
      error instanceof ConfigError && error.message === "Unknown sink format 'consle'. Did you mean 'console'? Known formats: console, nats, jetstream, json, csv, parquet, mqtt, memory, foreach, foreachBatch.");
    assert.throws(() => createSinkProvider(sinkRequest("foreachBatch")), /writeStream\.foreachBatch/);
  });

  it("rejects an unknown sink option", () => {
    assert.throws(() => createSinkProvider(sinkRequest("console", { truncat: "false" })), /Unknown option 'truncat' \(value 'false'\) for the console sink\. Did you mean 'truncate'\?/);
  });
});
