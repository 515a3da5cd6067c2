// session.params: declare parameters, set and read their values, and see every running query's parameter history.
import { KvParamStore, type ParamConnection } from "./kv-store.ts";
import type { ParamCatalog } from "../expr/param-function.ts";
import { QueryParams, type ParamHistoryEntry, type QueryParamsStatus } from "./query-params.ts";
import { MemoryParamStore, type ParamEntry, type ParamStore } from "./store.ts";
import { checkDeclaration, checkName, checkValue, type ParamDeclaration, type ParamType, type ParamValue } from "./types.ts";

/** Where the session keeps its values: a NATS KV bucket, or its own memory when no NATS URL is configured. */
export interface ParamStoreConfig {
  readonly connection: ParamConnection | undefined;
  readonly bucket: string;
  /** How long start() waits for the bucket's values before it runs with the declared defaults (and says so). */
  readonly loadTimeoutMs: number;
}

/** What the dashboard shows of one query. */
export interface QueryParamsView {
  readonly query: string;
  readonly status: QueryParamsStatus;
  readonly history: readonly ParamHistoryEntry[];
}

export class SessionParams {
  private readonly declarations = new Map<string, ParamDeclaration>();
  private opened: ParamStore | undefined;
  private opening: Promise<ParamStore> | undefined;
  private readonly queries = new Map<string, QueryParams>();

  /** @internal */
  constructor(private readonly config: () => ParamStoreConfig) {}

  /**
   * Declares a parameter with its type and an optional default (used while the bucket has no value for it).
   * @example session.params.declare("threshold", { type: "double", default: 30 })
   * @throws ConfigError for a wrong name, type or default.
   */
  declare(name: string, declaration: { type: ParamType; default?: ParamValue }): void {
    const checked = checkDeclaration(name, declaration);
    this.declarations.set(name, checked);
    if (this.opened) void this.recordType(this.opened, name, checked.type);
  }

  /** Writes a value (checked against the declared type); running queries use it from their next epoch. Resolves to the revision. */
  async set(name: string, value: ParamValue): Promise<number> {
    checkName(name);
    const declared = this.declarations.get(name);
    const checked = declared ? checkValue(name, declared.type, value) : value;
    const store = await this.store();
    return await store.put(name, checked);
  }

  /** The latest value: the store's, else the declared default; undefined when there is neither. */
  async get(name: string): Promise<ParamValue | undefined> {
    const store = await this.store();
    return store.entries().get(name)?.value ?? this.declarations.get(name)?.default;
  }

  /** Every value the store holds, by name. */
  async list(): Promise<ParamEntry[]> {
    const store = await this.store();
    return [...store.entries().values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every query started with parameters: the values in force and their history. */
  views(): QueryParamsView[] {
    return [...this.queries].map(([query, params]) => ({ query, status: params.status(), history: params.history() }));
  }

  /** @internal A query's parameters, for its start(): the catalog to compile with, then the values of each epoch. */
  async forQuery(): Promise<QueryParams> {
    return new QueryParams(await this.store(), this.declarations);
  }

  /** @internal A query started with parameters: the dashboard shows them under its name (or id). */
  track(query: string, params: QueryParams): void {
    this.queries.set(query, params);
  }

  /**
   * @internal While start() analyses a query: the names it passes to param(), typed by their declarations (`any` for
   * the others, which only the bucket can type).
   */
  probe(): { readonly catalog: ParamCatalog; readonly names: ReadonlySet<string> } {
    const names = new Set<string>();
    const catalog: ParamCatalog = {
      typeOf: (name) => {
        names.add(name);
        return this.declarations.get(name)?.type ?? "any";
      },
    };
    return { catalog, names };
  }

  /** @internal Opens the store once; waits for its values up to the load timeout, then goes on with what it has. */
  store(): Promise<ParamStore> {
    this.opening ??= this.open();
    return this.opening;
  }

  private async open(): Promise<ParamStore> {
    const { connection, bucket, loadTimeoutMs } = this.config();
    if (connection === undefined) {
      this.opened = new MemoryParamStore();
      return this.opened;
    }
    const store = new KvParamStore(connection, bucket);
    this.opened = store;
    // An unreachable bucket is no failure: the store keeps connecting, and its status() says it is unreachable.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([store.loaded.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, loadTimeoutMs)))]);
    clearTimeout(timer);
    for (const [name, declaration] of this.declarations) await this.recordType(store, name, declaration.type);
    return store;
  }

  /** The declared type goes beside the values, so `rill param set` checks a value; best effort (the session has it anyway). */
  private async recordType(store: ParamStore, name: string, type: ParamType): Promise<void> {
    try {
      await store.declareType(name, type);
    } catch (error) {
      // Not fatal: only the CLI's check of a value's type misses it. The store's status() shows why it cannot write.
      void error;
    }
  }

  /** @internal */
  async close(): Promise<void> {
    await this.opened?.close();
    this.opened = undefined;
    this.opening = undefined;
  }
}
