// The tree of a SQL query as the statement parser reads it; its expressions are the expression language's own (src/expr).
import type { Expr } from "../expr/ast.ts";
import type { GroupingKind } from "../plan/logical.ts";

/**
 * A query: its common table expressions (`WITH a AS (...), b AS (...)`), a SELECT or a set operation of them, then the
 * ORDER BY and LIMIT that apply to its whole result.
 */
export interface Query {
  readonly with: readonly CommonTableExpression[];
  readonly body: QueryBody;
  readonly orderBy: readonly OrderItem[];
  readonly limit: number | undefined;
}

/** `name AS (query)` of a WITH clause: a relation visible to the query, its subqueries and the later CTEs. */
export interface CommonTableExpression {
  readonly name: string;
  readonly query: Query;
  readonly position: number;
}

export type QueryBody = Select | SetOperation | NestedQuery;

/** `(SELECT ... ORDER BY ... LIMIT ...)` used as an operand of UNION. */
export interface NestedQuery {
  readonly kind: "nested";
  readonly query: Query;
}

/** `left UNION [ALL] right`: without ALL, duplicate rows are dropped, as in SQL. */
export interface SetOperation {
  readonly kind: "union";
  readonly all: boolean;
  readonly left: QueryBody;
  readonly right: QueryBody;
  readonly position: number;
}

export interface Select {
  readonly kind: "select";
  readonly distinct: boolean;
  readonly items: readonly SelectItem[];
  /** Undefined for a SELECT without FROM, which a stream cannot answer. */
  readonly from: Relation | undefined;
  readonly where: Located<Expr> | undefined;
  readonly groupBy: GroupBy | undefined;
  readonly having: Located<Expr> | undefined;
  readonly position: number;
}

export interface GroupBy {
  readonly grouping: GroupingKind;
  readonly keys: ReadonlyArray<Located<Expr>>;
}

/** An expression with the offset of its first token in the SQL text, for errors that point at it. */
export interface Located<T> {
  readonly value: T;
  readonly position: number;
}

export type SelectItem =
  | { readonly kind: "star"; readonly qualifier: string | undefined; readonly position: number }
  | { readonly kind: "expression"; readonly expr: Expr; readonly alias: string | undefined; readonly position: number };

export type Relation = TableRelation | SubqueryRelation | JoinRelation;

/** A temporary view or a memory sink's table, by name. */
export interface TableRelation {
  readonly kind: "table";
  readonly name: string;
  readonly alias: string | undefined;
  readonly position: number;
}

export interface SubqueryRelation {
  readonly kind: "subquery";
  readonly query: Query;
  readonly alias: string | undefined;
  readonly position: number;
}

/** Spark's join types as the DataFrame API names them (`join(other, on, how)`). */
export type JoinType = "inner" | "left_outer" | "right_outer" | "full_outer" | "left_semi" | "left_anti" | "cross";

export interface JoinRelation {
  readonly kind: "join";
  readonly left: Relation;
  readonly right: Relation;
  readonly how: JoinType;
  /** `ON condition`; undefined with USING or for a CROSS JOIN. */
  readonly on: Expr | undefined;
  /** `USING (a, b)`: equal columns of both sides, kept once. */
  readonly using: readonly string[] | undefined;
  /** `NATURAL JOIN`: USING every column name both sides have (none: no condition). */
  readonly natural: boolean;
  readonly position: number;
}

export interface OrderItem {
  readonly expr: Expr;
  readonly descending: boolean;
  readonly nullsFirst: boolean;
  readonly position: number;
}
