// writeStream: sink, output mode, trigger and start(), as in Spark's DataStreamWriter.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { deadLetterSubject, querySubjects } from "../actors/subjects.ts";
import { ForeachBatchSinkProvider } from "../connectors/sinks/foreach-batch.ts";
import { ForeachSinkProvider } from "../connectors/sinks/foreach.ts";
import { MemorySinkProvider } from "../connectors/sinks/memory.ts";
import { createSinkProvider } from "../connectors/sinks/registry.ts";
import type { OutputMode, SinkProvider } from "../connectors/sinks/sink.ts";
import { AnalysisError, CheckpointError, ConfigError } from "../core/errors.ts";
import type { Row, Schema } from "../core/types.ts";
import type { StaticTable } from "../operators/join-static-table.ts";
import type { ExecutionGraph } from "../actors/runtime.ts";
import { withParamCatalog, type ParamCatalog } from "../expr/param-function.ts";
import { placedParamCatalog } from "../params/query-params.ts";
import { analyze, type AnalyzedPlan } from "../plan/analyzer.ts";
import { buildExecutionGraph, checkOutputMode, sourceActorNames, sourceIdentities, statefulOperators } from "../plan/physical.ts";
import { openCheckpoint, type OpenedCheckpoint } from "./checkpoint.ts";
import type { DataFrame } from "./dataframe.ts";
import { StreamingQuery, type QueryWorkers } from "./query.ts";
import { DriverReplica } from "../state/replication/driver-replica.ts";
import { NatsTransport } from "../actors/nats-transport.ts";
import type { Session } from "./session.ts";
import { DEFAULT_TRIGGER, resolveTrigger, type Trigger } from "./trigger.ts";

const OUTPUT_MODES: readonly OutputMode[] = ["append", "update", "complete"];

export class DataStreamWriter {
  private name: string | undefined;
  private sinkFormat = "";
  private mode: OutputMode = "append";
  private triggerSpec: Trigger = DEFAULT_TRIGGER;
  private readonly sinkOptions = new Map<string, string>();
  private foreachFn: ((row: Row) => void | Promise<void>) | undefined;
  private foreachBatchFn: ((rows: Row[], epochId: number) => void | Promise<void>) | undefined;

  constructor(private readonly frame: DataFrame) {}

  queryName(name: string): this {
    this.name = name;
    return this;
  }

  format(format: string): this {
    this.sinkFormat = format;
    return this;
  }

  outputMode(mode: OutputMode): this {
    const lower = String(mode).toLowerCase() as OutputMode;
    if (!OUTPUT_MODES.includes(lower)) throw new ConfigError(`Unknown output mode '${mode}'. Accepted output modes are 'append', 'update' and 'complete'.`);
    this.mode = lower;
    return this;
  }

  trigger(trigger: Trigger): this {
    resolveTrigger(trigger);
    this.triggerSpec = trigger;
    return this;
  }

  option(key: string, value: string | number | boolean): this {
    this.sinkOptions.set(key, String(value));
    return this;
  }

  options(options: Record<string, string | number | boolean>): this {
    for (const [key, value] of Object.entries(options)) this.option(key, value);
    return this;
  }

  /** A callback per row, as rows arrive (awaited: a slow callback slows the query). */
  foreach(fn: (row: Row) => void | Promise<void>): this {
    this.foreachFn = fn;
    this.sinkFormat = "foreach";
    return this;
  }

  /** A callback per epoch with its rows and id (use the id to make the callback idempotent). */
  foreachBatch(fn: (rows: Row[], epochId: number) => void | Promise<void>): this {
    this.foreachBatchFn = fn;
    this.sinkFormat = "foreachBatch";
    return this;
  }

  /** Analyses the query (a wrong query rejects here, naming the column, option or mode), then starts its actors. */
  async start(path?: string): Promise<StreamingQuery> {
    const session = this.frame.session;
    const config = session.conf.read();
    const trigger = resolveTrigger(this.triggerSpec);
    if (this.name !== undefined && session.streams.active.some((query) => query.name === this.name)) {
      throw new ConfigError(`Cannot start query with name '${this.name}' as a query with that name is already active in this session.`);
    }
    const transport = await session.connect();
    const analyzeWith = (catalog: ParamCatalog) => withParamCatalog(catalog, () => analyze(this.frame.plan, { outputMode: this.mode, maxFutureMs: config.maxFutureMs, multipleWatermarkPolicy: config.multipleWatermarkPolicy }));
    // param(): a first pass finds the names; a query that uses any then compiles against the bucket's values too.
    const probe = session.params.probe();
    let plan = analyzeWith(probe.catalog);
    const params = probe.names.size > 0 ? await session.params.forQuery() : undefined;
    if (params) plan = analyzeWith(params.catalog());
    checkOutputMode(plan, this.mode);
    await loadStaticSides(plan.staticTables);
    const sink = this.createSink(path, plan.schema);
    const location = this.sinkOptions.get("checkpointLocation") ?? (config.checkpointRoot && this.name ? join(config.checkpointRoot, this.name) : undefined);
    const sources = sourceActorNames(plan);
    const checkpoint = location ? await openCheckpoint(location, { name: this.name, sources, sourceIdentities: sourceIdentities(plan), stateful: statefulOperators(plan, this.mode), outputMode: this.mode, params: params?.captureFirst() }) : undefined;
    if (checkpoint) await refuseUnrecoverableSink(sink, this.mode, checkpoint);
    const id = checkpoint?.id ?? randomUUID();
    const runId = randomUUID();
    const subjectName = this.name ?? id;
    const graph = this.graphOf(plan, sink, id, subjectName);
    if (config.workers !== "local" && plan.staticTables.length > 0) throw new ConfigError(`Query '${this.name ?? id}': a stream-static join does not run on workers yet (its static side is loaded in the driver's process); run it with rill.workers = local.`);
    if (config.workers === "local" && config.stateReplication !== "off") throw new ConfigError(`Query '${this.name ?? id}': rill.state.replication = ${config.stateReplication} replicates the state workers write; with rill.workers = local every actor writes the checkpoint location itself. Set rill.workers to a number or 'cluster', or leave rill.state.replication off.`);
    const workers = config.workers === "local" ? undefined : await this.workersOf(graph, { id, runId, subjectName, location, paramTypes: params?.types() });
    const subjects = querySubjects(config.subjectPrefix, subjectName, runId);
    const subjectsOf = (attempt: number) => querySubjects(config.subjectPrefix, subjectName, runId, attempt);
    const query = new StreamingQuery({ id, runId, name: this.name, plan, graph, trigger, transport, subjects, subjectsOf, flow: { window: config.flowWindow, maxFrameRows: config.maxFrameRows }, log: session.log, checkpoint, maxRetries: config.maxRetries, epochTimeoutMs: config.epochTimeoutMs, idleTimeoutMs: config.idleTimeoutMs, lateDataSubject: this.sinkOptions.get("lateDataSubject") ?? config.lateDataSubject, clock: session.clock, events: session.streams.bus, workers, params });
    if (params) session.params.track(this.name ?? id, params);
    session.streams.register(query);
    for (const table of plan.staticTables) table.startRefresh(session.log);
    query.onTerminated(() => {
      for (const table of plan.staticTables) table.stop();
    });
    try {
      await query.begin();
    } finally {
      if (!query.isActive) for (const table of plan.staticTables) table.stop();
    }
    return query;
  }

  /** @internal The query name given with queryName(), which a worker finds the query by in the job module. */
  get configuredName(): string | undefined {
    return this.name;
  }

  /**
   * @internal On a worker: the execution graph the driver built for this query, from the same job module, given the
   * driver's query id and subject name; the driver compares fingerprints of the two.
   */
  graphForWorker(queryId: string, subjectName: string, path?: string, paramTypes?: Readonly<Record<string, string>>): ExecutionGraph {
    const config = this.frame.session.conf.read();
    // param() compiles with the types the driver compiled it with; the values come with the placement and the barriers.
    const plan = withParamCatalog(placedParamCatalog(paramTypes ?? {}), () => analyze(this.frame.plan, { outputMode: this.mode, maxFutureMs: config.maxFutureMs, multipleWatermarkPolicy: config.multipleWatermarkPolicy }));
    checkOutputMode(plan, this.mode);
    if (plan.staticTables.length > 0) throw new ConfigError(`Query '${this.name ?? queryId}': a stream-static join does not run on workers yet (its static side is loaded in the driver's process); run it with rill.workers = local.`);
    return this.graphOf(plan, this.createSink(path, plan.schema), queryId, subjectName);
  }

  private graphOf(plan: AnalyzedPlan, sink: SinkProvider, queryId: string, subjectName: string): ExecutionGraph {
    const config = this.frame.session.conf.read();
    const trigger = resolveTrigger(this.triggerSpec);
    const letterSubject = this.sinkOptions.get("deadLetterSubject") ?? config.deadLetterSubject ?? deadLetterSubject(config.subjectPrefix, subjectName);
    const graph = buildExecutionGraph(plan, {
      queryName: subjectName,
      queryId,
      sink,
      outputMode: this.mode,
      microBatch: trigger.microBatch,
      shufflePartitions: config.shufflePartitions,
      chaining: config.chaining,
      rowsPositional: config.rowsPositional,
      multipleWatermarkPolicy: config.multipleWatermarkPolicy,
      deadLetterSubject: letterSubject,
    });
    // The stream captures every query's default subject (`<prefix>.*.deadletter`), or the subject the query names.
    const streamSubjects = letterSubject === deadLetterSubject(config.subjectPrefix, subjectName) ? [`${config.subjectPrefix}.*.deadletter`] : [letterSubject];
    return { ...graph, deadLetterStream: { ...config.deadLetterStream, streamSubjects } };
  }

  /** With `rill.workers` set: checks the query can travel (a name, no in-memory sink) and makes its placement template. */
  private async workersOf(graph: ExecutionGraph, run: { id: string; runId: string; subjectName: string; location: string | undefined; paramTypes: Readonly<Record<string, string>> | undefined }): Promise<QueryWorkers> {
    const session = this.frame.session;
    const config = session.conf.read();
    if (this.name === undefined) throw new ConfigError(`rill.workers = ${config.workers}: a query placed on workers needs queryName(...), which the workers find it by in the job module.`);
    if (this.sinkFormat === "memory") throw new ConfigError(`Query '${this.name}': the memory sink keeps rows in the process that writes them, which is a worker with rill.workers = ${config.workers}; use a file, JetStream or foreachBatch sink, or rill.workers = local.`);
    if (config.stateReplication === "jetstream" && run.location === undefined) throw new ConfigError(`Query '${this.name}': rill.state.replication = jetstream replicates the state of a checkpointed query; set checkpointLocation (or rill.checkpointLocation).`);
    const deployment = await session.workers();
    const values: Record<string, string> = {};
    for (const [key, value] of session.conf.entries()) values[key] = value;
    const replica = config.stateReplication === "jetstream" ? await DriverReplica.open(await natsOf(session), run.id, { replicas: config.stateReplicas, snapshotEvery: config.snapshotEvery }, session.log) : undefined;
    return {
      deployment,
      replica,
      graph,
      template: {
        query: this.name,
        queryId: run.id,
        subjectName: run.subjectName,
        runId: run.runId,
        subjectPrefix: config.subjectPrefix,
        config: values,
        checkpoint: run.location ?? null,
        flow: { window: config.flowWindow, maxFrameRows: config.maxFrameRows },
        epochTimeoutMs: config.epochTimeoutMs,
        idleTimeoutMs: config.idleTimeoutMs,
        lateDataSubject: this.sinkOptions.get("lateDataSubject") ?? config.lateDataSubject ?? null,
        ...(run.paramTypes ? { paramTypes: run.paramTypes } : {}),
      },
    };
  }

  private createSink(path: string | undefined, schema: Schema): SinkProvider {
    const session = this.frame.session;
    switch (this.sinkFormat) {
      case "memory":
        if (this.name === undefined) throw new AnalysisError("queryName must be specified for memory sink: writeStream.queryName(\"name\").format(\"memory\"); the rows are then in session.table(\"name\").");
        session.memoryTable(this.name).schema = schema;
        return new MemorySinkProvider(session.memoryTable(this.name), this.name);
      case "foreach":
        if (!this.foreachFn) throw new ConfigError("format(\"foreach\") needs a callback: use writeStream.foreach(row => ...).");
        return new ForeachSinkProvider(this.foreachFn);
      case "foreachBatch":
        if (!this.foreachBatchFn) throw new ConfigError("format(\"foreachBatch\") needs a callback: use writeStream.foreachBatch((rows, epochId) => ...).");
        return new ForeachBatchSinkProvider(this.foreachBatchFn);
      case "":
        throw new ConfigError("writeStream needs a sink: .format(\"console\" | \"memory\" | \"nats\"), .foreach(fn) or .foreachBatch(fn).");
      default: {
        const options = new Map(this.sinkOptions);
        options.delete("deadLetterSubject");
        options.delete("checkpointLocation");
        options.delete("lateDataSubject");
        return createSinkProvider({ format: this.sinkFormat, options, transport: session.transport, queryName: this.name ?? "query", path });
      }
    }
  }
}

/** The static side of each stream-static join, run whole once for this query before its actors start. */
async function loadStaticSides(tables: readonly StaticTable[]): Promise<void> {
  await Promise.all(tables.map(async (table) => {
    try {
      await table.load();
    } catch (error) {
      throw new ConfigError(`Cannot load the static side ${table.description} of a join: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }));
}

/** Spark's rule: a sink that cannot resume in this output mode (the memory sink outside complete mode) refuses a checkpoint with committed epochs. */
async function refuseUnrecoverableSink(sink: SinkProvider, mode: OutputMode, checkpoint: OpenedCheckpoint): Promise<void> {
  const modes = sink.recoverableModes;
  if (!modes || modes.includes(mode) || checkpoint.resume === undefined || checkpoint.resume.lastCommittedEpoch < 0) return;
  await checkpoint.storage.close();
  const modeList = modes.map((recoverable) => `outputMode("${recoverable}")`).join(" or ");
  throw new CheckpointError(`The ${sink.format} sink (${sink.description}) does not support recovering from the checkpoint at '${checkpoint.location}' in ${mode} mode, as in Spark: the rows it wrote before are not kept with the checkpoint, so the restarted query would miss them. Use ${modeList}, or start with a new checkpoint location (or delete this one to start over).`);
}

/** The session's NATS connection (workers need NATS, so a session with workers has one). */
async function natsOf(session: Session): Promise<NatsTransport> {
  const transport = await session.connect();
  if (!(transport instanceof NatsTransport)) throw new ConfigError(`rill.state.replication = jetstream needs NATS with JetStream, but this session runs on the ${transport.kind} transport.`);
  return transport;
}
