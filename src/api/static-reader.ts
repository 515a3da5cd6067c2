// session.read: Spark's DataFrameReader for static DataFrames (json, csv, parquet, text), the schema inferred from the
// data when none is given, as Spark infers it.
//
// @example
//   const activity = session.read.json("/data/activity-data");
//   const streaming = session.readStream.schema(activity.schema).option("maxFilesPerTrigger", 10).json("/data/activity-data");
import type { ConnectorOptions } from "../connectors/options.ts";
import { ConfigError } from "../core/errors.ts";
import type { Schema } from "../core/types.ts";
import { StaticFileSourceProvider, staticFileSpec } from "../static/file-source.ts";
import { postgresSchema, postgresSource, postgresSpec } from "../static/postgres-source.ts";
import { redisSchema, redisSource, redisSpec } from "../static/redis-source.ts";
import type { SourceProvider } from "../connectors/sources/source.ts";
import { DataFrame } from "./dataframe.ts";
import { ReaderBuilder, schemaOfLike, type SchemaLike } from "./reader-base.ts";
import type { Session } from "./session.ts";


export class DataFrameReader extends ReaderBuilder {
  private userSchema: Schema | undefined;

  constructor(private readonly session: Session) {
    super();
  }

  protected useSchema(schema: SchemaLike): void {
    this.userSchema = schemaOfLike(schema, "read");
  }

  /** Lists the files now and infers the schema from them (when none is given); the rows are read each time the DataFrame runs. */
  load(path?: string): DataFrame {
    const lookup = this.lookupFormat();
    if (lookup !== undefined) {
      if (!this.userSchema) throw new ConfigError(`read.format("${this.sourceFormat}").load() needs .schema(...) to return at once; without one, \`await read.format("${this.sourceFormat}")...loadAsync()\` takes the schema from the database.`);
      return this.lookupFrame(lookup, this.userSchema);
    }
    if (!this.sourceFormat) throw new ConfigError("read needs a format: .format(\"json\" | \"csv\" | \"parquet\" | \"text\").load(path), or .json(path), .csv(path), .parquet(path), .text(path).");
    const where = path ?? this.sourceOptions.get("path");
    if (where === undefined || where === "") throw new ConfigError(`read.format("${this.sourceFormat}").load() needs a path: a file or a folder of files.`);
    const spec = staticFileSpec(this.sourceFormat, where, new Map(this.sourceOptions), this.userSchema);
    const refreshIntervalMs = spec.options.has("refreshInterval") ? spec.options.duration("refreshInterval", 0, 1) : undefined;
    const provider = new StaticFileSourceProvider(spec);
    return new DataFrame(this.session, { kind: "source", describe: provider.description, create: () => provider, bounded: { refreshIntervalMs } });
  }

  /**
   * load(), with the schema read from the database when none is given (a lookup source: "postgres", "jdbc", "redis");
   * other formats as load(). Waits and retries while the database is unreachable (connectRetries, retryBackoff).
   */
  async loadAsync(path?: string): Promise<DataFrame> {
    const lookup = this.lookupFormat();
    if (lookup === undefined || this.userSchema) return this.load(path);
    const options = new Map(this.sourceOptions);
    const schema = lookup === "redis" ? await redisSchema(redisSpec(options)) : await postgresSchema(postgresSpec(this.sourceFormat, options));
    return this.lookupFrame(lookup, schema);
  }

  /** "postgres" for format("postgres") and for format("jdbc"), "redis" for format("redis"), undefined for the file formats. */
  private lookupFormat(): "postgres" | "redis" | undefined {
    const format = this.sourceFormat.trim().toLowerCase();
    return format === "postgres" || format === "postgresql" || format === "jdbc" ? "postgres" : format === "redis" ? "redis" : undefined;
  }

  private lookupFrame(lookup: "postgres" | "redis", schema: Schema): DataFrame {
    const options = new Map(this.sourceOptions);
    let provider: SourceProvider & { readonly description: string };
    let refresh: ConnectorOptions;
    if (lookup === "redis") {
      const spec = redisSpec(options);
      provider = redisSource(spec, schema);
      refresh = spec.options;
    } else {
      const spec = postgresSpec(this.sourceFormat, options);
      provider = postgresSource(spec, schema);
      refresh = spec.options;
    }
    const refreshIntervalMs = refresh.has("refreshInterval") ? refresh.duration("refreshInterval", 0, 1) : undefined;
    return new DataFrame(this.session, { kind: "source", describe: provider.description, create: () => provider, bounded: { refreshIntervalMs } });
  }

  json(path: string): DataFrame {
    return this.format("json").load(path);
  }

  csv(path: string): DataFrame {
    return this.format("csv").load(path);
  }

  parquet(path: string): DataFrame {
    return this.format("parquet").load(path);
  }

  text(path: string): DataFrame {
    return this.format("text").load(path);
  }
}
