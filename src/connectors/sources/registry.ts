// Builds the source provider for a readStream format; the one place that knows every source format.
import { closestName, ConfigError } from "../../core/errors.ts";
import { ActivitySourceProvider } from "./activity.ts";
import { FileSourceProvider } from "./files.ts";
import { JetStreamSourceProvider } from "./jetstream.ts";
import { MqttSourceProvider } from "./mqtt.ts";
import { NatsSourceProvider } from "./nats.ts";
import { RateSourceProvider } from "./rate.ts";
import type { SourceProvider } from "./source.ts";
import type { SourceRequest } from "./request.ts";

const FACTORIES: ReadonlyMap<string, (request: SourceRequest) => SourceProvider> = new Map<string, (request: SourceRequest) => SourceProvider>([
  ["rate", (request: SourceRequest) => new RateSourceProvider(request)],
  ["activity", (request: SourceRequest) => new ActivitySourceProvider(request)],
  ["json", (request: SourceRequest) => new FileSourceProvider(request)],
  ["csv", (request: SourceRequest) => new FileSourceProvider(request)],
  ["text", (request: SourceRequest) => new FileSourceProvider(request)],
  ["nats", (request: SourceRequest) => new NatsSourceProvider(request)],
  ["jetstream", (request: SourceRequest) => new JetStreamSourceProvider(request)],
  ["mqtt", (request: SourceRequest) => new MqttSourceProvider(request)],
]);

export const SOURCE_FORMATS: readonly string[] = [...FACTORIES.keys()];

/** The provider for `request.format` (matched case-insensitively, as Spark does); its options are checked here. */
export function createSourceProvider(request: SourceRequest): SourceProvider {
  const format = request.format.trim().toLowerCase();
  const factory = FACTORIES.get(format);
  if (!factory) {
    const hint = closestName(request.format, SOURCE_FORMATS);
    const memory = format === "memory" ? " A memory source is created as new MemoryStream(session, schema), not by format()." : "";
    throw new ConfigError(`Unknown source format '${request.format}'.${hint ? ` Did you mean '${hint}'?` : ""} Known formats: ${SOURCE_FORMATS.join(", ")}.${memory}`);
  }
  return factory({ ...request, format });
}
