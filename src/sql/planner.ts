// Turns a parsed SQL query into the logical plan the DataFrame API would build: the same nodes, analysed the same way.
import { AnalysisError, closestName } from "../core/errors.ts";
import { findField, type Schema } from "../core/types.ts";
import type { Expr } from "../expr/ast.ts";
import { expressionName } from "../expr/names.ts";
import { analyze } from "../plan/analyzer.ts";
import { rightNames } from "../plan/join-analysis.ts";
import type { LogicalPlan, SortOrder } from "../plan/logical.ts";
import { splitResultOrder } from "../plan/result-order-analysis.ts";
import { planAggregation } from "./aggregation.ts";
import type { JoinRelation, OrderItem, Query, QueryBody, Relation, Select, SelectItem } from "./ast.ts";
import { containsAggregate, mapChildren, structuralKey } from "./expressions.ts";
import { CommonTables } from "./common-tables.ts";
import { pointAt } from "./position.ts";

/** A JOIN as the DataFrame API takes it: `left.join(right, on, how)`, `on` a condition or a list of column names. */
export interface JoinRequest {
  readonly left: LogicalPlan;
  readonly right: LogicalPlan;
  readonly how: JoinRelation["how"];
  readonly on: Expr | readonly string[] | undefined;
  /** The name each side is aliased by (`df.alias(name)`); `on` qualifies its columns with these names. */
  readonly leftAlias: string;
  readonly rightAlias: string;
  /** The SQL text and the JOIN's offset in it, for errors that point at it. */
  readonly text: string;
  readonly position: number;
}

/** What the planner needs from the session: relations by name, and how to join two plans. */
export interface SqlCatalog {
  /** A temporary view's or a memory sink table's plan, by name (case-insensitive); undefined when there is none. */
  relation(name: string): LogicalPlan | undefined;
  /** Every name relation() knows, for "did you mean" hints. */
  relationNames(): readonly string[];
  join(request: JoinRequest): LogicalPlan;
}

/** A relation's plan, the names it can be qualified by, and its columns. */
interface Scope {
  readonly plan: LogicalPlan;
  readonly qualifiers: readonly string[];
  readonly schema: Schema;
  /** By qualifier (lower case): that relation's columns (lower case) and their names in this plan's output (`gt_right`). */
  readonly columns: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** Each qualifier's columns, named as in `schema` (a single relation's output). */
function columnsOf(qualifiers: readonly string[], schema: Schema): Map<string, ReadonlyMap<string, string>> {
  const names = new Map(schema.fields.map((field) => [field.name.toLowerCase(), field.name]));
  return new Map(qualifiers.map((qualifier) => [qualifier.toLowerCase(), names]));
}

/**
 * Plans a parsed query over the catalog's relations.
 * @throws AnalysisError naming the unknown view or column (with a hint), or the clause Spark would refuse, with the line
 * and column in the SQL text.
 */
export function planQuery(text: string, query: Query, catalog: SqlCatalog): LogicalPlan {
  return new Planner(text, catalog).query(query);
}

/**
 * The schema a plan produces, without its trailing ORDER BY / LIMIT (which only the sink applies). A stream-static join
 * that Spark refuses still has a schema here: it fails at start(), as the DataFrame API's join does.
 */
export function schemaOfPlan(plan: LogicalPlan): Schema {
  return analyze(splitResultOrder(plan).plan, { outputMode: "update", maxFutureMs: Number.POSITIVE_INFINITY, schemaOnly: true }).schema;
}

class Planner {
  /** The common table expressions in scope (`WITH`). */
  private readonly ctes = new CommonTables();

  constructor(private readonly text: string, private readonly catalog: SqlCatalog) {}

  query(query: Query): LogicalPlan {
    return this.ctes.within(query.with, (cte) => this.query(cte.query), () => this.queryBody(query));
  }

  private queryBody(query: Query): LogicalPlan {
    const body = this.body(query.body);
    let plan = body.plan;
    if (query.orderBy.length > 0) plan = { kind: "sort", child: plan, orders: query.orderBy.map((item) => this.sortOrder(item, body.outputs)) };
    if (query.limit !== undefined) plan = { kind: "limit", child: plan, count: query.limit };
    return plan;
  }

  /** The plan of a SELECT or a UNION, and its select items by output name (what ORDER BY may refer to). */
  private body(body: QueryBody): { plan: LogicalPlan; outputs: readonly Output[] } {
    if (body.kind === "select") return this.select(body);
    if (body.kind === "nested") return { plan: this.query(body.query), outputs: [] };
    const left = this.body(body.left);
    const right = this.body(body.right);
    const union: LogicalPlan = { kind: "union", child: left.plan, other: right.plan, byName: false, allowMissingColumns: false };
    // Without ALL, UNION drops duplicate rows, as SQL's does.
    return { plan: body.all ? union : { kind: "deduplicate", child: union, columns: undefined, withinWatermark: false }, outputs: left.outputs };
  }

  private select(select: Select): { plan: LogicalPlan; outputs: readonly Output[] } {
    if (select.from === undefined) throw this.error(select.position, "SELECT without FROM has no stream to read", "Name a view in FROM: createOrReplaceTempView(name) registers a DataFrame as one.");
    const scope = this.relation(select.from);
    const unqualify = (expr: Expr, position: number): Expr => this.unqualify(expr, scope, position);
    let plan = scope.plan;
    if (select.where) {
      if (containsAggregate(select.where.value)) throw this.error(select.where.position, "aggregate functions are not allowed in WHERE", "Filter on an aggregate with HAVING.");
      const condition = unqualify(select.where.value, select.where.position);
      this.checkColumns(condition, scope, select.where.position, "WHERE");
      plan = { kind: "filter", child: plan, condition };
    }
    const items = select.items.flatMap((item): SelectItem[] => (item.kind === "star" ? this.star(item, scope) : [{ ...item, expr: unqualify(item.expr, item.position) }]));
    const aggregating = select.groupBy !== undefined || select.having !== undefined || items.some((item) => item.kind === "expression" && containsAggregate(item.expr));
    let outputs: Output[];
    if (aggregating) {
      const planned = planAggregation({
        plan, items, schema: scope.schema,
        groupBy: select.groupBy && { grouping: select.groupBy.grouping, keys: select.groupBy.keys.map((key) => ({ value: unqualify(key.value, key.position), position: key.position })) },
        having: select.having && { value: unqualify(select.having.value, select.having.position), position: select.having.position },
        checkColumns: (expr, position, clause) => this.checkColumns(expr, scope, position, clause),
        error: (position, detail, hint) => this.error(position, detail, hint),
      });
      plan = planned.plan;
      outputs = planned.outputs;
    } else {
      for (const item of items) if (item.kind === "expression") this.checkColumns(item.expr, scope, item.position, "the SELECT list");
      outputs = items.map((item) => (item.kind === "star" ? { name: "*", expr: undefined } : { name: item.alias ?? expressionName(item.expr), expr: item.expr }));
      plan = { kind: "project", child: plan, columns: items.map(projected), operation: "SQL SELECT" };
    }
    if (select.distinct) plan = { kind: "deduplicate", child: plan, columns: undefined, withinWatermark: false };
    return { plan, outputs };
  }

  // ---- FROM ----

  private relation(relation: Relation): Scope {
    switch (relation.kind) {
      case "table": {
        const plan = this.ctes.get(relation.name) ?? this.catalog.relation(relation.name);
        if (plan === undefined) throw this.unknownRelation(relation.name, relation.position);
        const last = relation.name.split(".").pop() ?? relation.name;
        const schema = schemaOfPlan(plan);
        const qualifiers = [relation.alias ?? last];
        return { plan, qualifiers, schema, columns: columnsOf(qualifiers, schema) };
      }
      case "subquery": {
        const plan = this.query(relation.query);
        const schema = schemaOfPlan(plan);
        const qualifiers = relation.alias === undefined ? [] : [relation.alias];
        return { plan, qualifiers, schema, columns: columnsOf(qualifiers, schema) };
      }
      case "join":
        return this.join(relation);
    }
  }

  /**
   * `left JOIN right`: each side aliased by its one name (a nested join or an unnamed subquery by a generated one), the
   * ON condition's `t.x` rewritten to that alias and x's name on its side; then where each qualifier's columns went.
   */
  private join(relation: JoinRelation): Scope {
    const left = this.relation(relation.left);
    const right = this.relation(relation.right);
    const leftAlias = left.qualifiers.length === 1 ? (left.qualifiers[0] as string) : "__sql_join_left";
    const rightAlias = right.qualifiers.length === 1 && right.qualifiers[0]?.toLowerCase() !== leftAlias.toLowerCase() ? (right.qualifiers[0] as string) : "__sql_join_right";
    const condition = relation.on && this.qualifyOn(relation.on, [[left, leftAlias], [right, rightAlias]], relation.position);
    const using = relation.natural ? naturalColumns(left.schema, right.schema) : relation.using;
    const on = using ?? condition;
    const plan = this.catalog.join({ left: left.plan, right: right.plan, how: relation.how, on, leftAlias, rightAlias, text: this.text, position: relation.position });
    const columns = new Map(left.columns);
    const existence = relation.how === "left_semi" || relation.how === "left_anti";
    const keys = new Map((using ?? []).map((name) => [name.toLowerCase(), findField(left.schema, name)?.name ?? name]));
    const keyInputs = new Set(right.schema.fields.filter((field) => keys.has(field.name.toLowerCase())).map((field) => field.name));
    const renamed = rightNames(left.schema.fields, right.schema.fields, keyInputs);
    for (const [qualifier, names] of right.columns) {
      const output = new Map<string, string>();
      if (!existence) {
        for (const [column, name] of names) {
          const key = keys.get(name.toLowerCase());
          output.set(column, key ?? renamed.get(name) ?? name);
        }
      }
      columns.set(qualifier, output);
    }
    return { plan, qualifiers: [...left.qualifiers, ...right.qualifiers], schema: this.joinSchema(plan, relation.position), columns };
  }

  /** The join's schema; what the join analysis refuses even for a schema (a stream-stream join) points at the JOIN. */
  private joinSchema(plan: LogicalPlan, position: number): Schema {
    try {
      return schemaOfPlan(plan);
    } catch (error) {
      if (error instanceof AnalysisError) throw this.error(position, error.message.replace(/\.$/, ""));
      throw error;
    }
  }

  /** The ON condition with `t.x` as `alias.name`: the side t belongs to, by its alias, and x's name in that side's output. */
  private qualifyOn(expr: Expr, sides: ReadonlyArray<readonly [Scope, string]>, position: number): Expr {
    if (expr.kind === "column") {
      const [first, second, ...rest] = expr.name.split(".");
      if (first === undefined || second === undefined) return expr;
      for (const [scope, alias] of sides) {
        if (findField(scope.schema, first) !== undefined) return expr;
        const names = scope.columns.get(first.toLowerCase());
        if (names === undefined) continue;
        const name = names.get(second.toLowerCase());
        if (name === undefined) throw this.error(position, `cannot resolve '${expr.name}' in the JOIN condition: '${first}' has no column '${second}'`, `Columns of '${first}': ${[...names.values()].join(", ")}.`);
        return { kind: "column", name: [alias, name, ...rest].join(".") };
      }
      const qualifiers = sides.flatMap(([scope]) => scope.qualifiers);
      throw this.error(position, `cannot resolve '${expr.name}' in the JOIN condition: no relation named '${first}' in FROM`, `Relations: ${qualifiers.join(", ") || "none (give the subquery an alias)"}.`);
    }
    return mapChildren(expr, (child) => this.qualifyOn(child, sides, position));
  }

  private unknownRelation(name: string, position: number): AnalysisError {
    const names = [...this.ctes.names(), ...this.catalog.relationNames()];
    const suggestion = closestName(name, names);
    const hint = suggestion === undefined ? "" : `Did you mean '${suggestion}'? `;
    return new AnalysisError(`Table or view not found: '${name}' ${pointAt(this.text, position)}\n${hint}Views and memory tables: ${names.join(", ") || "none"}. Register a DataFrame with createOrReplaceTempView('${name}'), or start a query with format("memory") and queryName('${name}').`);
  }

  // ---- names ----

  /** `t.*` with t the relation's name or alias: its columns (after a join, t's columns under their output names). */
  private star(item: Extract<SelectItem, { kind: "star" }>, scope: Scope): SelectItem[] {
    if (item.qualifier === undefined) return [item];
    const names = scope.columns.get(item.qualifier.toLowerCase());
    if (names === undefined) {
      throw this.error(item.position, `cannot resolve '${item.qualifier}.*': no relation named '${item.qualifier}' in FROM`, `Relations: ${scope.qualifiers.join(", ") || "none (give the subquery an alias)"}.`);
    }
    if (scope.qualifiers.length === 1) return [{ kind: "star", qualifier: undefined, position: item.position }];
    return [...names.values()].map((name) => ({ kind: "expression", expr: { kind: "column", name }, alias: undefined, position: item.position }));
  }

  /**
   * `t.x` with t a relation in FROM reads column x, under its name in the output (after a join, `b.gt` may be
   * `gt_right`); a column named t, such as a struct, is not a qualifier.
   */
  private unqualify(expr: Expr, scope: Scope, position: number): Expr {
    if (expr.kind === "column") {
      const [first, second, ...rest] = expr.name.split(".");
      if (second === undefined || first === undefined || findField(scope.schema, first) !== undefined) return expr;
      const names = scope.columns.get(first.toLowerCase());
      if (names === undefined) return expr;
      const name = names.get(second.toLowerCase());
      if (name === undefined) {
        const detail = names.size === 0 ? `'${first}' is the right side of a semi or anti join, whose columns are not in its result` : `'${first}' has no column '${second}'`;
        throw this.error(position, `cannot resolve '${expr.name}': ${detail}`, `Columns: ${scope.schema.fields.map((field) => field.name).join(", ")}.`);
      }
      return { kind: "column", name: [name, ...rest].join(".") };
    }
    return mapChildren(expr, (child) => this.unqualify(child, scope, position));
  }

  /** Unknown columns fail here, at sql(), naming the column and where it is in the text. */
  private checkColumns(expr: Expr, scope: Scope, position: number, clause: string): void {
    const { schema } = scope;
    if (expr.kind === "column") {
      const first = expr.name.split(".")[0] ?? expr.name;
      if (findField(schema, expr.name) !== undefined || findField(schema, first) !== undefined) return;
      const names = schema.fields.map((field) => field.name);
      const suggestion = closestName(expr.name, names);
      const qualifier = first === expr.name ? "" : `No relation named '${first}' in FROM (relations: ${scope.qualifiers.join(", ") || "none"}). `;
      throw new AnalysisError(`Column '${expr.name}' does not exist in ${clause} ${pointAt(this.text, position)}\n${qualifier}${suggestion === undefined ? "" : `Did you mean '${suggestion}'? `}Columns: ${names.join(", ")}`);
    }
    mapChildren(expr, (child) => {
      this.checkColumns(child, scope, position, clause);
      return child;
    });
  }

  // ---- ORDER BY ----

  /** An ordinal (`ORDER BY 2`) or a select item's expression sorts by that output column; otherwise by the expression. */
  private sortOrder(item: OrderItem, outputs: readonly Output[]): SortOrder {
    const { expr } = item;
    let target: Expr = expr;
    if (expr.kind === "literal" && typeof expr.value === "number" && expr.type === "int") {
      const output = outputs[expr.value - 1];
      if (output === undefined || output.name === "*") throw this.error(item.position, `ORDER BY position ${expr.value} is not in the select list (1 to ${outputs.length})`);
      target = { kind: "column", name: output.name };
    } else {
      const key = structuralKey(expr);
      const match = outputs.find((output) => output.expr !== undefined && structuralKey(output.expr) === key);
      if (match) target = { kind: "column", name: match.name };
      else if (containsAggregate(expr)) throw this.error(item.position, `ORDER BY ${expressionName(expr)} is an aggregate that is not in the select list`, "Select it (with an alias) and order by the alias.");
    }
    return { expr: target, descending: item.descending, nullsFirst: item.nullsFirst };
  }

  private error(position: number, detail: string, hint?: string): AnalysisError {
    return new AnalysisError(`${detail} ${pointAt(this.text, position)}${hint === undefined ? "" : `\n${hint}`}`);
  }
}

/** A select item's output column: its name, and the expression it computes (undefined for `*`). */
export interface Output {
  readonly name: string;
  readonly expr: Expr | undefined;
}

/** NATURAL JOIN's keys: the left's columns that the right also has (case-insensitive), in the left's order; none: no condition. */
function naturalColumns(left: Schema, right: Schema): string[] | undefined {
  const names = left.fields.map((field) => field.name).filter((name) => findField(right, name) !== undefined);
  return names.length === 0 ? undefined : names;
}

function projected(item: SelectItem): Expr {
  if (item.kind === "star") return { kind: "star" };
  return item.alias === undefined ? item.expr : { kind: "alias", operand: item.expr, name: item.alias };
}
