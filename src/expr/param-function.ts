// param('name'): a named parameter's value in the current epoch (src/params), typed by its declaration or its value.
import { activeParams } from "../core/param-values.ts";
import { AnalysisError } from "../core/errors.ts";
import type { DataType } from "../core/types.ts";
import type { ScalarFunction } from "./compiled.ts";

/** What a query's start() knows about parameters: the type of each, or an AnalysisError naming an unknown one. */
export interface ParamCatalog {
  typeOf(name: string, text: string): DataType;
}

let catalog: ParamCatalog | undefined;

/**
 * Compiles `run`'s expressions with `params` resolving param(): start() does this. Outside it (a DataFrame's schema
 * before start) param() is typed `any`, and the query's start() checks the name and the type.
 */
export function withParamCatalog<T>(params: ParamCatalog, run: () => T): T {
  const outer = catalog;
  catalog = params;
  try {
    return run();
  } finally {
    catalog = outer;
  }
}

export const paramFunction: ScalarFunction = {
  minArgs: 1,
  maxArgs: 1,
  compile: (_args, site) => {
    const nameExpr = site.args[0];
    if (nameExpr?.kind !== "literal" || typeof nameExpr.value !== "string") {
      throw new AnalysisError(`param() takes the parameter's name as a string literal, as in param('threshold'), not '${site.text}'`);
    }
    const name = nameExpr.value;
    const type = catalog?.typeOf(name, site.text) ?? "any";
    return {
      evaluate: () => {
        const value = activeParams.values[name];
        return value === undefined ? null : value;
      },
      type,
      nullable: true,
    };
  },
};
