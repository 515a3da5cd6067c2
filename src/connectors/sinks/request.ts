// What the API hands a sink format to build its provider: the user's format and options, and the query's transport.
import type { Transport } from "../../actors/transport.ts";

export interface SinkRequest {
  readonly format: string;
  /** The options as the user wrote them (`.option(name, value)`); names match case-insensitively. */
  readonly options: ReadonlyMap<string, string>;
  readonly transport: Transport;
  readonly queryName: string;
  /** The argument of `.start(path)`, for file formats. */
  readonly path: string | undefined;
}
