// Analysis: resolves every column and type of a logical plan and turns it into a line of steps (operator factories).
import { ROW_KEY } from "../actors/sink-actor.ts";
import type { SourceProvider } from "../connectors/sources/source.ts";
import { AnalysisError } from "../core/errors.ts";
import { findField, isNumeric, type DataType, type Field, type Row, type Schema } from "../core/types.ts";
import { isAggregateCall, type Expr } from "../expr/ast.ts";
import { compileExpression, expressionName, resolveColumn, type CompiledExpr } from "../expr/compile.ts";
import { AggregateOperator, type AggregateColumn } from "../operators/aggregate.ts";
import type { AggregateName } from "../operators/aggregate-functions.ts";
import { ExpandOperator, GROUPING_ID } from "../operators/expand.ts";
import { FilterOperator } from "../operators/filter.ts";
import { FlatMapOperator, MapOperator } from "../operators/map.ts";
import type { Operator } from "../operators/operator.ts";
import { ProjectOperator, type Projection } from "../operators/project.ts";
import type { AggregateNode, LogicalPlan, MapNode, ProjectNode } from "./logical.ts";

export interface Step {
  readonly kind: "stateless" | "aggregate";
  /** Operator kind for ids and explain(): `filter`, `project`, `aggregate`... */
  readonly name: string;
  readonly detail: string;
  /** Aggregate steps: the columns rows are hash-partitioned by before the step. */
  readonly exchangeColumns?: readonly string[];
  /** Stateful steps: the state's id and what must not change across restarts from a checkpoint. */
  readonly stateId?: string;
  readonly signature?: string;
  create(id: string): Operator;
}

export interface AnalyzedPlan {
  readonly source: SourceProvider;
  readonly steps: readonly Step[];
  readonly schema: Schema;
  readonly hasAggregate: boolean;
}

interface Analysis {
  readonly source: SourceProvider;
  readonly steps: Step[];
  readonly schema: Schema;
  /** After an aggregation every row carries ROW_KEY, which each later step must keep. */
  readonly keyed: boolean;
}

export function analyze(plan: LogicalPlan): AnalyzedPlan {
  const analysis = analyzeNode(plan);
  return { source: analysis.source, steps: analysis.steps, schema: analysis.schema, hasAggregate: analysis.keyed };
}

function analyzeNode(node: LogicalPlan): Analysis {
  if (node.kind === "source") {
    const source = node.create();
    return { source, steps: [], schema: source.schema, keyed: false };
  }
  const child = analyzeNode(node.child);
  switch (node.kind) {
    case "project": return analyzeProject(node, child);
    case "filter": {
      const condition = compileExpression(node.condition, child.schema, `where(${expressionName(node.condition)})`);
      if (condition.type !== "boolean" && condition.type !== "null" && condition.type !== "any") {
        throw new AnalysisError(`The condition of where(${condition.name}) has type ${condition.type}, but must be boolean.`);
      }
      return extend(child, { kind: "stateless", name: "filter", detail: condition.name, create: (id) => new FilterOperator(id, condition.evaluate) }, child.schema);
    }
    case "map":
    case "flatMap": return analyzeMap(node, child);
    case "aggregate": return analyzeAggregate(node, child);
  }
}

function extend(child: Analysis, step: Step, schema: Schema): Analysis {
  return { ...child, steps: [...child.steps, step], schema };
}

function analyzeProject(node: ProjectNode, child: Analysis): Analysis {
  const input = child.schema;
  let outputs: Array<{ field: Field; evaluate: (row: Row) => unknown }>;
  if (node.drop) {
    const dropped = new Set(node.drop.map((name) => findField(input, name)?.name).filter((name): name is string => name !== undefined));
    outputs = input.fields.filter((field) => !dropped.has(field.name)).map(passThrough);
  } else if (node.withColumn !== undefined) {
    const [expression] = node.columns;
    const compiled = compileExpression(expression as Expr, input, `withColumn('${node.withColumn}')`);
    const name = node.withColumn;
    const added = { field: { name, type: compiled.type, nullable: compiled.nullable }, evaluate: compiled.evaluate };
    const replaced = findField(input, name);
    outputs = input.fields.map((field) => (field === replaced ? added : passThrough(field)));
    if (!replaced) outputs.push(added);
  } else {
    outputs = node.columns.flatMap((expression) => {
      if (expression.kind === "star") return input.fields.map(passThrough);
      if (expression.kind === "column") return [passThrough(resolveColumn(input, expression.name, node.operation))];
      const compiled: CompiledExpr = compileExpression(expression, input, node.operation);
      return [{ field: { name: compiled.name, type: compiled.type, nullable: compiled.nullable }, evaluate: compiled.evaluate }];
    });
  }
  checkDuplicates(outputs.map((output) => output.field.name), node.operation);
  const projections: Projection[] = outputs.map((output) => ({ name: output.field.name, evaluate: output.evaluate }));
  if (child.keyed) projections.push(passThrough({ name: ROW_KEY, type: "string", nullable: false }));
  const detail = outputs.map((output) => output.field.name).join(", ");
  return extend(child, { kind: "stateless", name: "project", detail, create: (id) => new ProjectOperator(id, projections) }, { fields: outputs.map((output) => output.field) });
}

function passThrough(field: Field): { field: Field; name: string; evaluate: (row: Row) => unknown } {
  const name = field.name;
  return { field, name, evaluate: (row) => row[name] };
}

function checkDuplicates(names: readonly string[], operation: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    if (seen.has(lower)) throw new AnalysisError(`${operation} produces the column '${name}' twice; give one of them another name with alias().`);
    seen.add(lower);
  }
}

function analyzeMap(node: MapNode, child: Analysis): Analysis {
  const keyed = child.keyed;
  const schema = node.schema ?? child.schema;
  if (node.kind === "map") {
    const fn = node.fn as (row: Row) => Row;
    const wrapped = keyed ? (row: Row) => ({ ...fn(row), [ROW_KEY]: row[ROW_KEY] }) : fn;
    return extend(child, { kind: "stateless", name: "map", detail: "user function", create: (id) => new MapOperator(id, wrapped) }, schema);
  }
  const fn = node.fn as (row: Row) => Iterable<Row>;
  const wrapped = keyed
    ? function* (row: Row): Iterable<Row> {
        let index = 0;
        for (const out of fn(row)) yield { ...out, [ROW_KEY]: `${String(row[ROW_KEY])}#${index++}` };
      }
    : fn;
  return extend(child, { kind: "stateless", name: "flatMap", detail: "user function", create: (id) => new FlatMapOperator(id, wrapped) }, schema);
}

const AGGREGATE_ALIASES: Readonly<Record<string, AggregateName>> = { count: "count", sum: "sum", avg: "avg", mean: "avg", min: "min", max: "max", first: "first", last: "last" };

interface ResolvedAggregate {
  readonly name: string;
  readonly function: AggregateName;
  readonly argument: CompiledExpr | undefined;
  readonly type: DataType;
}

function analyzeAggregate(node: AggregateNode, child: Analysis): Analysis {
  if (child.keyed) throw new AnalysisError("Multiple streaming aggregations are not supported: this query aggregates an already aggregated stream. Aggregate once, or write the first result to a sink and read it as a new stream.");
  const input = child.schema;
  const context = `${node.grouping}(...)`;
  const grouping = node.groupBy.map((expression) => {
    if (expression.kind === "column") {
      const field = resolveColumn(input, expression.name, context);
      return { field, evaluate: (row: Row) => row[field.name] };
    }
    const compiled = compileExpression(expression, input, context);
    return { field: { name: compiled.name, type: compiled.type, nullable: compiled.nullable }, evaluate: compiled.evaluate };
  });
  const groupingNames = grouping.map((entry) => entry.field.name);
  const aggregates = resolveAggregates(node, input, groupingNames);
  checkDuplicates([...groupingNames, ...aggregates.map((aggregate) => aggregate.name)], `${node.grouping}(...).agg(...)`);

  const argumentColumns = aggregates.map((_, index) => `__rill_arg${index}`);
  const preProjections: Projection[] = [
    ...grouping.map((entry) => ({ name: entry.field.name, evaluate: entry.evaluate })),
    ...aggregates.flatMap((aggregate, index) => (aggregate.argument ? [{ name: argumentColumns[index] as string, evaluate: aggregate.argument.evaluate }] : [])),
  ];
  const steps: Step[] = [...child.steps, { kind: "stateless", name: "project", detail: `grouping keys and aggregate inputs`, create: (id) => new ProjectOperator(id, preProjections) }];
  const sets = groupingSets(node.grouping, groupingNames);
  if (sets) steps.push({ kind: "stateless", name: "expand", detail: `${sets.length} grouping sets`, create: (id) => new ExpandOperator(id, groupingNames, sets) });
  const keyColumns = sets ? [...groupingNames, GROUPING_ID] : groupingNames;
  const columns: AggregateColumn[] = aggregates.map((aggregate, index) => {
    const column = argumentColumns[index] as string;
    return { name: aggregate.name, function: aggregate.function, argument: aggregate.argument ? (row: Row) => row[column] : undefined };
  });
  steps.push({
    kind: "aggregate",
    name: "aggregate",
    detail: `keys [${groupingNames.join(", ")}], ${aggregates.map((aggregate) => aggregate.name).join(", ")}`,
    exchangeColumns: keyColumns,
    stateId: "aggregate-0",
    signature: `${node.grouping} by [${groupingNames.join(", ")}] computing [${aggregates.map((aggregate) => `${aggregate.function}:${aggregate.name}`).join(", ")}]`,
    create: (id) => new AggregateOperator(id, { groupingColumns: groupingNames, hiddenKeyColumns: sets ? [GROUPING_ID] : [], aggregates: columns, keyColumn: ROW_KEY, stateId: "aggregate-0" }),
  });
  const fields: Field[] = [
    ...grouping.map((entry) => ({ ...entry.field, nullable: entry.field.nullable || sets !== undefined })),
    ...aggregates.map((aggregate) => ({ name: aggregate.name, type: aggregate.type, nullable: aggregate.function !== "count" })),
  ];
  return { source: child.source, steps, schema: { fields }, keyed: true };
}

function resolveAggregates(node: AggregateNode, input: Schema, groupingNames: readonly string[]): ResolvedAggregate[] {
  const context = `${node.grouping}(...).agg(...)`;
  if (!Array.isArray(node.aggregates)) {
    const spec = node.aggregates as { numericColumns: string; columns: readonly string[] };
    const fn = AGGREGATE_ALIASES[spec.numericColumns] as AggregateName;
    const fields = spec.columns.length > 0
      ? spec.columns.map((name) => numericField(input, name, spec.numericColumns))
      : input.fields.filter((field) => isNumeric(field.type) && !groupingNames.includes(field.name));
    return fields.map((field) => aggregateOf(fn, { kind: "column", name: field.name }, `${fn}(${field.name})`, input, context));
  }
  return (node.aggregates as readonly Expr[]).map((expression) => {
    const alias = expression.kind === "alias" ? expression.name : undefined;
    const call = expression.kind === "alias" ? expression.operand : expression;
    if (!isAggregateCall(call)) throw new AnalysisError(`agg() takes aggregate functions (count, sum, avg, min, max, first, last), not '${expressionName(expression)}'.`);
    const fn = AGGREGATE_ALIASES[call.name] as AggregateName;
    if (call.distinct) throw new AnalysisError(`${call.name}(DISTINCT ...) is not supported yet in ${context}.`);
    if (call.args.length !== 1) throw new AnalysisError(`Aggregate function ${call.name} takes exactly one argument, got ${call.args.length} in ${context}.`);
    const argument = call.args[0] as Expr;
    const name = alias ?? expressionName(call);
    return aggregateOf(fn, argument, name, input, context);
  });
}

function numericField(input: Schema, name: string, fn: string): Field {
  const field = resolveColumn(input, name, `${fn}()`);
  if (!isNumeric(field.type)) throw new AnalysisError(`"${field.name}" is not a numeric column (${field.type}); ${fn}() takes numeric columns only.`);
  return field;
}

function aggregateOf(fn: AggregateName, argument: Expr, name: string, input: Schema, context: string): ResolvedAggregate {
  const countsRows = fn === "count" && (argument.kind === "star" || (argument.kind === "literal" && argument.value !== null));
  if (countsRows) return { name, function: fn, argument: undefined, type: "long" };
  const compiled = compileExpression(argument, input, context);
  if ((fn === "sum" || fn === "avg") && !isNumeric(compiled.type) && compiled.type !== "null" && compiled.type !== "any") {
    throw new AnalysisError(`${fn}(${compiled.name}) needs a numeric argument, but ${compiled.name} is ${compiled.type}.`);
  }
  const type: DataType = fn === "count" ? "long" : fn === "avg" ? "double" : compiled.type;
  return { name, function: fn, argument: compiled, type };
}

/** Grouping sets of cube (every subset) and rollup (every prefix); undefined for a plain groupBy. */
function groupingSets(kind: AggregateNode["grouping"], columns: readonly string[]): string[][] | undefined {
  if (kind === "groupBy") return undefined;
  if (kind === "rollup") return columns.map((_, index) => columns.slice(0, columns.length - index)).concat([[]]);
  const sets: string[][] = [];
  for (let mask = (1 << columns.length) - 1; mask >= 0; mask--) sets.push(columns.filter((_, index) => (mask & (1 << (columns.length - 1 - index))) !== 0));
  return sets;
}
