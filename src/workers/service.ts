// The worker's face on NATS through the services framework (@nats-io/services): discovery, info, stats, two endpoints.
import { Svcm, type Service, type ServiceIdentity, type ServiceMsg } from "@nats-io/services";
import type { NatsTransport } from "../actors/nats-transport.ts";
import { SERVICE_NAME } from "./protocol.ts";

/** The services framework's connection type: @nats-io/services bundles its own nats-core, so the one cast lives here. */
type ServicesConnection = ConstructorParameters<typeof Svcm>[0];

function servicesOf(transport: NatsTransport): Svcm {
  return new Svcm(transport.connectionForServices as ServicesConnection);
}

export interface WorkerServiceOptions {
  readonly name: string;
  readonly version: string;
  readonly metadata: Record<string, string>;
  /** Endpoint name -> subject and handler; the handler's bytes are the reply. */
  readonly endpoints: Readonly<Record<string, { readonly subject: string; readonly handle: (payload: Uint8Array) => Promise<Uint8Array> }>>;
  /** Custom figures for `$SRV.STATS` (hosted actors, CPU, memory). */
  readonly stats: () => unknown;
}

export interface WorkerService {
  readonly id: string;
  stop(): Promise<void>;
}

/** Registers the worker as an instance of the `rill-worker` service; every endpoint is answered on its own subject. */
export async function startWorkerService(transport: NatsTransport, options: WorkerServiceOptions): Promise<WorkerService> {
  const service: Service = await servicesOf(transport).add({
    name: SERVICE_NAME,
    version: options.version,
    description: `Rill worker ${options.name}`,
    metadata: { ...options.metadata, worker: options.name },
    // No queue group: each worker's endpoints are its own.
    queue: "",
    statsHandler: () => Promise.resolve(options.stats()),
  });
  for (const [name, endpoint] of Object.entries(options.endpoints)) {
    service.addEndpoint(name, {
      subject: endpoint.subject,
      handler: (error: Error | null, message: ServiceMsg) => {
        if (error) return;
        endpoint.handle(message.data).then(
          (reply) => message.respond(reply),
          (failure: unknown) => message.respondError(500, failure instanceof Error ? failure.message : String(failure)),
        );
      },
    });
  }
  return {
    id: service.info().id,
    stop: async () => {
      await service.stop();
    },
  };
}

/** The workers that answer a services ping within `timeoutMs` (`$SRV.PING.rill-worker`): name, instance id, metadata. */
export async function discoverWorkers(transport: NatsTransport, timeoutMs: number): Promise<Array<{ name: string; id: string; metadata: Record<string, string> }>> {
  const client = servicesOf(transport).client({ strategy: "timer", maxWait: timeoutMs });
  const found: Array<{ name: string; id: string; metadata: Record<string, string> }> = [];
  try {
    const responses = await client.ping(SERVICE_NAME);
    for await (const identity of responses as AsyncIterable<ServiceIdentity>) {
      const metadata = identity.metadata ?? {};
      found.push({ name: metadata.worker ?? identity.id, id: identity.id, metadata });
    }
  } catch (error) {
    // No worker is up yet (the driver waits for one when it places a query): not a failure of the discovery.
    if (!isNoResponders(error)) throw error;
  }
  return found;
}

/** The services package bundles its own nats-core, so its errors are recognised by shape, not by class. */
function isNoResponders(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "NoRespondersError") return true;
  const request = error as Error & { isNoResponders?: () => boolean };
  return typeof request.isNoResponders === "function" && request.isNoResponders();
}
