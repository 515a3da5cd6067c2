// The parameter values of the epoch being processed: each actor points this at its own values before it runs rows.
//
// Compiled expressions are shared by the actors of a process, and two actors of one query may be in different epochs
// (a source runs ahead of its sink), so the values cannot live in the closure. Actors run one turn at a time on one
// thread, and each sets `activeParams.values` to its epoch's values at the start of every turn.

export type ActiveParamValues = Readonly<Record<string, unknown>>;

export const activeParams: { values: ActiveParamValues } = { values: Object.freeze({}) };

/** The values an epoch runs with, as they travel with a barrier and are kept in a commit record (src/params/types.ts checks them). */
export interface EpochParams {
  readonly revision: number;
  readonly values: ActiveParamValues;
}
