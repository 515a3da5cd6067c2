// The session: configuration, the transport (NATS, a private nats-server, or in-process), and the registry of queries.
import { InProcessTransport } from "../actors/inprocess-transport.ts";
import { LazyTransport } from "../actors/lazy-transport.ts";
import { findNatsServer, startNatsServer, type NatsServerHandle } from "../actors/nats-server.ts";
import { NatsTransport, type NatsOptions } from "../actors/nats-transport.ts";
import type { Transport } from "../actors/transport.ts";
import { MemoryTable } from "../connectors/sinks/memory.ts";
import { memoryTableSnapshot } from "../connectors/sources/memory.ts";
import { ConfigError } from "../core/errors.ts";
import type { Row } from "../core/types.ts";
import { startDashboard, type Dashboard, type DashboardOptions } from "../monitoring/dashboard.ts";
import { QueryMetrics } from "../monitoring/metrics.ts";
import { ManualClock, systemClock, type Clock } from "../core/clock.ts";
import type { LogicalPlan } from "../plan/logical.ts";
import { TempViews, type ViewSource } from "../sql/catalog.ts";
import type { Query } from "../sql/ast.ts";
import { planParsedSql, planSql, type SqlCatalog } from "../sql/sql.ts";
import type { WorkerDeployment } from "../workers/deployment.ts";
import { SessionParams } from "../params/session-params.ts";
import { canonicalKey, checkConfigKey, readConfig, type SessionConfig } from "./config.ts";
import { DataFrame } from "./dataframe.ts";
import { planSqlJoin } from "./sql-join.ts";
import { DataStreamReader } from "./reader.ts";
import { DataFrameReader } from "./static-reader.ts";
import { schemaOfLike, type SchemaLike } from "./reader-base.ts";
import { RowsSourceProvider } from "../static/rows-source.ts";
import type { StaticBadRecordCounts } from "../static/dead-letters.ts";
import { staticDeadLetterSubject } from "../actors/subjects.ts";
import type { DeadLetterSettings } from "../deadletters/output.ts";
import { StreamingQueryManager } from "./manager.ts";

export type Logger = (message: string) => void;

let warnedMissingServer = false;
let activeSession: Session | undefined;

export class SessionBuilder {
  private name = "rill";
  private readonly values = new Map<string, string>();
  private natsOptions: NatsOptions | undefined;
  private logger: Logger = (message) => console.error(message);

  appName(name: string): this {
    this.name = name;
    return this;
  }

  config(key: string, value: string | number | boolean): this {
    checkConfigKey(key);
    this.values.set(canonicalKey(key), String(value));
    return this;
  }

  /** Connect to an existing NATS server or cluster (credentials and TLS are passed through to the client). */
  nats(options: NatsOptions): this {
    this.natsOptions = options;
    return this;
  }

  /** Where the session's notices go (default: stderr). */
  log(logger: Logger): this {
    this.logger = logger;
    return this;
  }

  /** Returns the active session if there is one (as Spark does), else a new one. */
  getOrCreate(): Session {
    if (activeSession && !activeSession.isStopped) {
      for (const [key, value] of this.values) activeSession.conf.set(key, value);
      return activeSession;
    }
    activeSession = new Session(this.name, new Map(this.values), this.natsOptions, this.logger);
    return activeSession;
  }
}

/** Runtime configuration (`session.conf`), read when a query starts. */
export class RuntimeConfig {
  constructor(private readonly values: Map<string, string>) {}

  set(key: string, value: string | number | boolean): void {
    checkConfigKey(key);
    this.values.set(canonicalKey(key), String(value));
  }

  get(key: string, fallback?: string): string | undefined {
    return this.values.get(canonicalKey(key)) ?? fallback;
  }

  /** Every value set, by canonical key (the driver sends them to its workers). */
  entries(): IterableIterator<[string, string]> {
    return this.values.entries();
  }

  read(): SessionConfig {
    return readConfig(this.values);
  }
}

/** Spark's `spark.catalog`, for what Rill has: temporary views and memory sink tables. */
export class Catalog {
  /** @internal */
  constructor(private readonly views: TempViews, private readonly tables: () => readonly string[]) {}

  /** Drops a temporary view; false when there was none (as Spark). Queries already started keep running. */
  dropTempView(name: string): boolean {
    return this.views.drop(name);
  }

  /** The names SQL can read: temporary views, then memory sink tables (a view hides a table of the same name). */
  listTables(): string[] {
    const views = this.views.names();
    const hidden = new Set(views.map((name) => name.toLowerCase()));
    return [...views, ...this.tables().filter((name) => !hidden.has(name.toLowerCase()))];
  }

  tableExists(name: string): boolean {
    return this.listTables().some((candidate) => candidate.toLowerCase() === name.toLowerCase());
  }
}

export class Session {
  readonly conf: RuntimeConfig;
  readonly streams: StreamingQueryManager;
  /** Prometheus metrics of the session's queries: `metrics.text()`, or `/metrics` on the server that ui() starts. */
  readonly metrics: QueryMetrics;
  /** The transport every query of this session uses; connected by the first start(). */
  readonly transport = new LazyTransport();
  private readonly tables = new Map<string, MemoryTable>();
  private readonly views = new TempViews();
  /** Temporary views and memory tables: `catalog.dropTempView(name)`, `listTables()`, `tableExists(name)`. */
  readonly catalog = new Catalog(this.views, () => [...this.tables].filter(([, table]) => table.schema !== undefined).map(([name]) => name));
  private natsServer: NatsServerHandle | undefined;
  private connecting: Promise<Transport> | undefined;
  private deploying: Promise<WorkerDeployment> | undefined;
  private stopped = false;
  private manual: ManualClock | undefined;
  private readonly uis: Dashboard[] = [];
  /** @internal Bad records of static reads so far, across runs: see staticBadRecords. */
  readonly staticBadRecordTotals: StaticBadRecordCounts = { numDeadLetters: 0, numDroppedMalformed: 0 };
  /**
   * Named parameters that queries read with param('name') and that may change while they run (README "Parameters").
   * @example session.params.declare("threshold", { type: "double", default: 30 }); await session.params.set("threshold", 40)
   */
  readonly params = new SessionParams(() => {
    const config = this.conf.read();
    // rill.params.url, else the session's NATS server (with its credentials), else none: the session keeps the values.
    const connection = config.paramsUrl !== undefined ? { servers: config.paramsUrl } : this.natsOptions ?? (config.natsUrl === undefined ? undefined : { servers: config.natsUrl });
    return { connection, bucket: config.paramsBucket, loadTimeoutMs: config.paramsLoadTimeoutMs };
  });

  static builder(): SessionBuilder {
    return new SessionBuilder();
  }

  constructor(readonly appName: string, values: Map<string, string>, private readonly natsOptions: NatsOptions | undefined, readonly log: Logger) {
    this.conf = new RuntimeConfig(values);
    this.streams = new StreamingQueryManager(log);
    this.metrics = new QueryMetrics(this.streams);
  }

  /** Serves the live dashboard at `/`, `/metrics` and `/api/queries` on `port` (0, the default: a free port) until stop(). */
  async ui(options: DashboardOptions = {}): Promise<Dashboard> {
    if (this.stopped) throw new ConfigError("The session is stopped, so it has no queries to show; call ui() before stop().");
    const ui = await startDashboard({ title: this.appName, directory: this.streams, metrics: this.metrics, log: this.log, parameters: () => this.params.views() }, options);
    this.uis.push(ui);
    return ui;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  get readStream(): DataStreamReader {
    return new DataStreamReader(this);
  }

  /** Static DataFrames from files: session.read.json(path), .csv, .parquet, .text (Spark's DataFrameReader). */
  get read(): DataFrameReader {
    return new DataFrameReader(this);
  }

  /**
   * Bad records of this session's static reads so far (collect, count, show, a join's static side): sent to the
   * dead-letter subject (`rill.deadLetter.subject`, or `<prefix>._static-<appName>.deadletter`), and dropped by
   * `option("mode", "DROPMALFORMED")`.
   */
  get staticBadRecords(): Readonly<StaticBadRecordCounts> {
    return { ...this.staticBadRecordTotals };
  }

  /** @internal Where the bad records of static reads go. */
  staticDeadLetterSubject(): string {
    const config = this.conf.read();
    return config.deadLetterSubject ?? staticDeadLetterSubject(config.subjectPrefix, this.appName);
  }

  /** The dead-letter output of static reads: the queries' stream (RILL_DEADLETTERS unless configured), on the static subject. */
  staticDeadLetterSettings(): DeadLetterSettings {
    const config = this.conf.read();
    const subject = this.staticDeadLetterSubject();
    const streamSubjects = config.deadLetterSubject === undefined ? [`${config.subjectPrefix}.*.deadletter`] : [subject];
    return { ...config.deadLetterStream, subject, streamSubjects };
  }

  /** A static DataFrame of the given rows (Spark's createDataFrame); each row keeps only the schema's columns. */
  createDataFrame(rows: readonly Row[], schema: SchemaLike): DataFrame {
    const resolved = schemaOfLike(schema, "createDataFrame");
    const copies = rows.map((row) => Object.fromEntries(resolved.fields.map((field) => [field.name, row[field.name] ?? null])));
    const provider = new RowsSourceProvider(resolved, copies, `LocalRelation[${resolved.fields.map((field) => field.name).join(", ")}]`);
    return new DataFrame(this, { kind: "source", describe: provider.description, create: () => provider, bounded: { refreshIntervalMs: undefined } });
  }

  /** The rows of a memory sink, by query name (Spark: spark.table(name) / spark.sql("select * from name")). */
  table(name: string): Row[] {
    const table = this.tables.get(name);
    if (!table) throw new ConfigError(`No memory table '${name}'. Memory tables: ${[...this.tables.keys()].join(", ") || "none"}. Start a query with format("memory") and queryName('${name}').`);
    return table.rows();
  }

  /**
   * A SQL query over the session's temporary views and memory sink tables, as a DataFrame to start like any other.
   * A memory table is read as the rows it holds when the query starts (Spark: `spark.sql("SELECT * FROM counts")`).
   * @example session.sql("SELECT gt, count(*) AS n FROM events GROUP BY gt").writeStream.format("memory")...
   * @throws ParseError with the line and column; AnalysisError naming an unknown view or column.
   */
  sql(text: string): DataFrame {
    return new DataFrame(this, planSql(text, this.sqlCatalog()));
  }

  /** @internal A query of a .sql file, already parsed; `text` is the file's, for error positions. */
  sqlQuery(text: string, query: Query): DataFrame {
    return new DataFrame(this, planParsedSql(text, query, this.sqlCatalog()));
  }

  private sqlCatalog(): SqlCatalog {
    return {
      relation: (name) => this.views.get(name)?.plan ?? this.memoryTableRelation(name),
      relationNames: () => this.catalog.listTables(),
      join: (request) => planSqlJoin(this, request),
    };
  }

  /** @internal createTempView / createOrReplaceTempView. */
  registerTempView(name: string, source: ViewSource, replace: boolean): void {
    this.views.create(name, source, replace);
  }

  private memoryTableRelation(name: string): LogicalPlan | undefined {
    const entry = [...this.tables].find(([candidate]) => candidate.toLowerCase() === name.toLowerCase());
    const schema = entry?.[1].schema;
    if (entry === undefined || schema === undefined) return undefined;
    const [tableName, table] = entry;
    return { kind: "source", describe: `MemoryTable[${tableName}]`, create: () => memoryTableSnapshot(schema, table.rows(), tableName) };
  }

  /**
   * The manual clock of a session configured with `rill.clock` = `manual` (Spark's StreamManualClock): processingTime
   * and continuous triggers and processing-time timeouts follow it, so a test moves time with `advance(ms)`.
   */
  manualClock(): ManualClock {
    if (this.conf.read().clock !== "manual") throw new ConfigError("manualClock() needs the configuration rill.clock = manual, set before the first query starts.");
    this.manual ??= new ManualClock();
    return this.manual;
  }

  /** @internal The processing-time clock queries use: the manual one when `rill.clock` is `manual`. */
  get clock(): Clock {
    return this.conf.read().clock === "manual" ? this.manualClock() : systemClock;
  }

  /** @internal The memory sink's table for a query name (created on first use). */
  memoryTable(name: string): MemoryTable {
    let table = this.tables.get(name);
    if (!table) {
      table = new MemoryTable();
      this.tables.set(name, table);
    }
    return table;
  }

  /** @internal Connects the transport once: a configured NATS, else a private nats-server, else in-process. */
  async connect(): Promise<Transport> {
    if (this.stopped) throw new ConfigError("The session is stopped; create a new one with Session.builder().getOrCreate().");
    this.connecting ??= this.openTransport().then((transport) => {
      this.transport.connect(transport);
      return transport;
    });
    return await this.connecting;
  }

  /**
   * @internal The session's workers (`rill.workers` = a number or `cluster`), started with the first query that needs
   * them: a number starts that many local worker processes, which stop with the session.
   */
  async workers(): Promise<WorkerDeployment> {
    const config = this.conf.read();
    const mode = config.workers;
    if (mode === "local") throw new ConfigError("rill.workers is 'local': this session runs every actor itself.");
    const transport = await this.connect();
    if (!(transport instanceof NatsTransport)) throw new ConfigError(`rill.workers = ${config.workers} needs NATS, but this session runs on the ${transport.kind} transport. Install nats-server or set rill.nats.url.`);
    // The driver's side of workers (discovery over the NATS service API, placement) loads with the first query that needs them.
    this.deploying ??= import("../workers/deployment.ts").then(({ WorkerDeployment }) => WorkerDeployment.start({
      transport,
      mode,
      job: config.workersJob,
      nats: this.natsOptions ?? (config.natsUrl ? { servers: config.natsUrl } : this.natsServer?.options),
      subjectPrefix: config.subjectPrefix,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      placementTimeoutMs: config.placementTimeoutMs,
      slots: config.workerSlots,
      rebalanceDelayMs: config.rebalanceDelayMs,
      log: this.log,
    }));
    return await this.deploying;
  }

  /**
   * Stops every query (with `graceful`, each after one last committed epoch: see StreamingQuery.stop), closes the
   * transport, and stops the private nats-server if the session started one, removing its files.
   */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.streams.stopAll(options);
    await this.streams.bus.drained();
    if (this.deploying) await (await this.deploying.catch(() => undefined))?.close();
    await Promise.all(this.uis.splice(0).map((ui) => ui.close()));
    if (this.connecting) await this.connecting.catch(() => undefined);
    await this.transport.close();
    await this.params.close();
    await this.natsServer?.stop();
    if (activeSession === this) activeSession = undefined;
  }

  private async openTransport(): Promise<Transport> {
    const config = this.conf.read();
    if (config.transport === "inprocess") return new InProcessTransport();
    const url = this.natsOptions?.servers ?? config.natsUrl;
    if (url) return await NatsTransport.connect({ unreachableTimeoutMs: config.unreachableTimeoutMs, pingIntervalMs: config.pingIntervalMs, ...this.natsOptions, servers: url });
    const binary = await findNatsServer();
    if (!binary) {
      if (config.transport === "nats") throw new ConfigError("rill.transport is 'nats' but no NATS URL is configured and nats-server is not installed. Install it (apt-get install nats-server) or set rill.nats.url.");
      if (!warnedMissingServer) {
        warnedMissingServer = true;
        this.log("rill: nats-server is not installed, so queries run on the in-process transport. Install it with 'apt-get install nats-server' (or set rill.nats.url) to run actors over NATS.");
      }
      return new InProcessTransport();
    }
    this.natsServer = await startNatsServer({ binary });
    return await NatsTransport.connect({ ...this.natsServer.options, name: this.appName, unreachableTimeoutMs: config.unreachableTimeoutMs, pingIntervalMs: config.pingIntervalMs });
  }
}
