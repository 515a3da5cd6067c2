// Builds the sink provider for a writeStream format; memory, foreach and foreachBatch are built by the API, which holds their tables and callbacks.
import { closestName, ConfigError } from "../../core/errors.ts";
import { ConsoleSinkProvider } from "./console.ts";
import { JetStreamSinkProvider } from "./jetstream.ts";
import { FileSinkProvider } from "./files.ts";
import { MqttSinkProvider } from "./mqtt.ts";
import { NatsSinkProvider } from "./nats.ts";
import type { SinkProvider } from "./sink.ts";
import type { SinkRequest } from "./request.ts";

const FACTORIES: ReadonlyMap<string, (request: SinkRequest) => SinkProvider> = new Map<string, (request: SinkRequest) => SinkProvider>([
  ["console", (request: SinkRequest) => new ConsoleSinkProvider(request)],
  ["nats", (request: SinkRequest) => new NatsSinkProvider(request)],
  ["jetstream", (request: SinkRequest) => new JetStreamSinkProvider(request)],
  ["json", (request: SinkRequest) => new FileSinkProvider(request)],
  ["csv", (request: SinkRequest) => new FileSinkProvider(request)],
  ["parquet", (request: SinkRequest) => new FileSinkProvider(request)],
  ["mqtt", (request: SinkRequest) => new MqttSinkProvider(request)],
]);

/** How to get the sinks the API builds itself. */
const API_SINKS: ReadonlyMap<string, string> = new Map([
  ["memory", 'writeStream.queryName("name").format("memory")'],
  ["foreach", "writeStream.foreach(row => ...)"],
  ["foreachbatch", "writeStream.foreachBatch((rows, epochId) => ...)"],
]);

export const SINK_FORMATS: readonly string[] = ["console", "nats", "jetstream", "json", "csv", "parquet", "mqtt", "memory", "foreach", "foreachBatch"];

/** The provider for `request.format` (matched case-insensitively); its options are checked here. */
export function createSinkProvider(request: SinkRequest): SinkProvider {
  const format = request.format.trim().toLowerCase();
  const factory = FACTORIES.get(format);
  if (factory) return factory({ ...request, format });
  const usage = API_SINKS.get(format);
  if (usage) throw new ConfigError(`The ${request.format} sink is built by the writer, not by the sink registry: use ${usage}.`);
  const hint = closestName(request.format, SINK_FORMATS);
  throw new ConfigError(`Unknown sink format '${request.format}'.${hint ? ` Did you mean '${hint}'?` : ""} Known formats: ${SINK_FORMATS.join(", ")}.`);
}
