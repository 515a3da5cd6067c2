// Analysis of union / unionByName: two streams' rows in one, columns matched as Spark matches them (by position, or by
// name), with compatible types. Each input keeps its own source and steps; they meet at the next stage.
import { AnalysisError } from "../core/errors.ts";
import { findField, isNumeric, type DataType, type Field, type Row } from "../core/types.ts";
import { ProjectOperator, type Projection } from "../operators/project.ts";
import type { UnionNode } from "./logical.ts";
import type { Analysis, Branch, Step } from "./steps.ts";

/** Where a result column comes from on one side: an input column, or nothing (null, unionByName with allowMissingColumns). */
type Source = Field | undefined;

export function analyzeUnion(node: UnionNode, left: Analysis, right: Analysis): Analysis {
  const operation = node.byName ? "unionByName" : "union";
  refuseStateful(left, "first", operation);
  refuseStateful(right, "second", operation);
  const { names, fromLeft, fromRight } = node.byName ? matchByName(left, right, node.allowMissingColumns) : matchByPosition(left, right);
  const fields = names.map((name, index): Field => {
    const first = fromLeft[index];
    const second = fromRight[index];
    const type = commonType(first?.type ?? "null", second?.type ?? "null");
    if (type === undefined) {
      throw new AnalysisError(`${operation}() needs compatible column types: column ${index + 1} ('${name}') is ${String(second?.type)} in the second input but ${String(first?.type)} in the first. Cast one of them, e.g. selectExpr("cast(${second?.name ?? name} as ${String(first?.type)}) as ${name}").`);
    }
    return { name, type, nullable: (first?.nullable ?? true) || (second?.nullable ?? true) };
  });
  const branches = [...branchesOf(left, projection(names, fromLeft, "first")), ...branchesOf(right, projection(names, fromRight, "second"))];
  // As in Spark, the result's columns are the first input's: its watermarked column stays the event time.
  const eventTime = left.eventTime && fields.some((field) => field.name === left.eventTime?.column && field.type === "timestamp") ? left.eventTime : undefined;
  const staticTables = [...(left.staticTables ?? []), ...(right.staticTables ?? [])];
  return { source: left.source, branches, steps: [], schema: { fields }, keyed: false, hasAggregate: false, appendable: false, eventTime, statefulCount: right.statefulCount, staticTables };
}

function refuseStateful(input: Analysis, side: string, operation: string): void {
  const steps = [...(input.branches ?? []).flatMap((branch) => branch.steps), ...input.steps];
  const stateful = steps.find((step) => step.kind !== "stateless");
  if (stateful) throw new AnalysisError(`${operation}() of a stream that is already aggregated, deduplicated or grouped is not supported yet (the ${side} input has ${stateful.name}): union the inputs first, then aggregate.`);
}

function matchByPosition(left: Analysis, right: Analysis): { names: string[]; fromLeft: Source[]; fromRight: Source[] } {
  const first = left.schema.fields;
  const second = right.schema.fields;
  if (first.length !== second.length) {
    throw new AnalysisError(`union() matches columns by position, so both inputs need the same number of columns: the first has ${first.length} (${first.map((field) => field.name).join(", ")}), the second ${second.length} (${second.map((field) => field.name).join(", ")}). Select the same columns on both sides, or use unionByName().`);
  }
  return { names: first.map((field) => field.name), fromLeft: [...first], fromRight: [...second] };
}

function matchByName(left: Analysis, right: Analysis, allowMissing: boolean): { names: string[]; fromLeft: Source[]; fromRight: Source[] } {
  const names = left.schema.fields.map((field) => field.name);
  const fromLeft: Source[] = [...left.schema.fields];
  const fromRight: Source[] = names.map((name) => findField(right.schema, name));
  const missing = names.filter((_, index) => fromRight[index] === undefined);
  if (missing.length > 0 && !allowMissing) {
    throw new AnalysisError(`unionByName(): the second input has no column ${missing.map((name) => `'${name}'`).join(", ")} (its columns: ${right.schema.fields.map((field) => field.name).join(", ")}). Add it, or use unionByName(other, true) to fill it with null.`);
  }
  for (const field of right.schema.fields) {
    if (findField(left.schema, field.name)) continue;
    if (!allowMissing) throw new AnalysisError(`unionByName(): the first input has no column '${field.name}' (its columns: ${names.join(", ")}). Add it, or use unionByName(other, true) to fill it with null.`);
    names.push(field.name);
    fromLeft.push(undefined);
    fromRight.push(field);
  }
  return { names, fromLeft, fromRight };
}

/** Spark's type coercion for union, on Rill's types: null takes the other type, numbers widen. */
function commonType(first: DataType, second: DataType): DataType | undefined {
  if (first === second) return first;
  if (first === "null") return second;
  if (second === "null") return first;
  if (first === "any" || second === "any") return "any";
  if (isNumeric(first) && isNumeric(second)) return "double";
  return undefined;
}

/** The projection that gives one side the result's columns, or undefined when its rows already have them. */
function projection(names: readonly string[], sources: readonly Source[], side: string): Step | undefined {
  if (sources.length === names.length && sources.every((source, index) => source?.name === names[index])) return undefined;
  const projections: Projection[] = names.map((name, index) => {
    const input = sources[index]?.name;
    return { name, evaluate: input === undefined ? () => null : (row: Row) => row[input] ?? null };
  });
  return { kind: "stateless", name: "project", detail: `union: the ${side} input's columns as ${names.join(", ")}`, create: (id) => new ProjectOperator(id, projections) };
}

/** The inputs of a union as branches; an input that is itself a union brings its own, each ending with its common steps. */
function branchesOf(input: Analysis, last: Step | undefined): Branch[] {
  const tail = last ? [...input.steps, last] : input.steps;
  return (input.branches ?? [{ source: input.source, steps: [] }]).map((branch) => ({ source: branch.source, steps: [...branch.steps, ...tail] }));
}
