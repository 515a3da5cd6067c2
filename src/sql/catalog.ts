// Temporary views: names for DataFrames, streaming or static alike, that SQL queries read in FROM.
import { AnalysisError } from "../core/errors.ts";
import type { LogicalPlan } from "../plan/logical.ts";

/** What a view keeps of a DataFrame: its plan. Any kind of frame with a plan can be a view. */
export interface ViewSource {
  readonly plan: LogicalPlan;
}

/** Spark's temporary views of one session: names compare case-insensitively, the last spelling is shown. */
export class TempViews {
  private readonly views = new Map<string, { name: string; source: ViewSource }>();

  /** createTempView (replace = false: an existing name is an error) and createOrReplaceTempView (replace = true). */
  create(name: string, source: ViewSource, replace: boolean): void {
    checkViewName(name);
    const key = name.toLowerCase();
    if (!replace && this.views.has(key)) {
      throw new AnalysisError(`Temporary view '${name}' already exists. Use createOrReplaceTempView('${name}') to replace it, or session.catalog.dropTempView('${name}') first.`);
    }
    this.views.set(key, { name, source });
  }

  /** Removes a view; false when there was none, as Spark's dropTempView returns. */
  drop(name: string): boolean {
    return this.views.delete(name.toLowerCase());
  }

  get(name: string): ViewSource | undefined {
    return this.views.get(name.toLowerCase())?.source;
  }

  names(): string[] {
    return [...this.views.values()].map((view) => view.name);
  }
}

/** A view name is one identifier (letters, digits, underscores; backquote it in SQL for anything else). */
function checkViewName(name: string): void {
  if (name.trim() === "" || name.includes(".")) {
    throw new AnalysisError(`Invalid temporary view name '${name}': give a plain name such as 'events' (a temporary view cannot have a database qualifier).`);
  }
}
