// What the API hands a source format to build its provider: the user's format, options and schema, and the query's transport.
import type { Transport } from "../../actors/transport.ts";
import type { Schema } from "../../core/types.ts";
import type { RowValidator } from "./memory.ts";

export interface SourceRequest {
  readonly format: string;
  /** The options as the user wrote them (`.option(name, value)`); names match case-insensitively. */
  readonly options: ReadonlyMap<string, string>;
  /** The user's schema (`.schema(zodSchema)`), when one was given. */
  readonly schema: Schema | undefined;
  /** Checks a decoded record against the user's zod schema (from rowValidator()); set whenever `schema` is. */
  readonly validate: RowValidator | undefined;
  /** The argument of `.load(path)`, for file formats. */
  readonly path: string | undefined;
  readonly transport: Transport;
  readonly queryName: string;
}
