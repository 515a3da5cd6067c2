// Import rules (STYLE.md "Shape of the code"): no cycles, imports point one way, one module per external client.
// Type-only imports are erased at compile time and not checked (tsPreCompilationDeps: false).
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
    { name: "operators-stay-inside", comment: "Operators never import connectors or the API.", severity: "error", from: { path: "^src/operators" }, to: { path: "^src/(connectors|api)" } },
    { name: "api-only-from-index", comment: "Nothing imports src/api but src/index.ts.", severity: "error", from: { path: "^src", pathNot: "^src/(index\\.ts|api/)" }, to: { path: "^src/api" } },
    { name: "core-imports-nothing", comment: "src/core imports nothing else in src.", severity: "error", from: { path: "^src/core" }, to: { path: "^src/(?!core)" } },
    { name: "nats-client-in-transport", comment: "Only the NATS transport (and the worker service, for @nats-io/services, and the replicated state store and the parameter bucket, for @nats-io/kv) imports the NATS client.", severity: "error", from: { path: "^src", pathNot: "^src/(actors/nats-transport|workers/service|state/replication/kv-store|params/kv-store)\\.ts$" }, to: { path: "node_modules/@nats-io" } },
    { name: "mqtt-client-in-one-module", comment: "Only the MQTT connection module imports MQTT.js.", severity: "error", from: { path: "^src", pathNot: "^src/connectors/mqtt-client\\.ts$" }, to: { path: "node_modules/mqtt/" } },
    { name: "pg-in-postgres-source", comment: "Only the PostgreSQL lookup source imports pg.", severity: "error", from: { path: "^src", pathNot: "^src/static/postgres-source\\.ts$" }, to: { path: "node_modules/pg/" } },
    { name: "redis-in-redis-source", comment: "Only the Redis lookup source imports redis.", severity: "error", from: { path: "^src", pathNot: "^src/static/redis-source\\.ts$" }, to: { path: "node_modules/(@redis|redis)/" } },
    { name: "lmdb-in-storage", comment: "Only the LMDB adapters import lmdb: the checkpoint storage, and the store-and-forward outbox (a queue of its own, kept apart from the checkpoint: it outlives a new checkpoint location, and its forwarder writes while epochs commit).", severity: "error", from: { path: "^src", pathNot: "^src/state/lmdb-(storage|outbox)\\.ts$" }, to: { path: "node_modules/lmdb" } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: false,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
