// Analysis of select()/withColumn() with a generator (explode, posexplode and their _outer forms): Spark's Generate.
import { ROW_KEY } from "../actors/sink-actor.ts";
import { positionalRead } from "../core/column-read.ts";
import { AnalysisError } from "../core/errors.ts";
import { findField, nestedOf, type Field, type PositionalRow } from "../core/types.ts";
import { generatorCall, type Expr } from "../expr/ast.ts";
import { compileExpression, compilePositional, expressionName, resolveColumn } from "../expr/compile.ts";
import { GenerateOperator, type GeneratedColumn } from "../operators/generate.ts";
import { PositionalGenerateOperator, type PositionalGeneratedColumn } from "../operators/generate-positional.ts";
import type { ProjectNode } from "./logical.ts";
import { checkDuplicates, extend, isNestedReference, passThrough, type Analysis, type PositionalStep } from "./steps.ts";

/** An output column, named and by position (the input field it copies by index, or the expression compiled by position). */
type Output = { field: Field; column: GeneratedColumn; byPosition: PositionalGeneratedColumn };

/** The generator calls among a projection's columns: Spark allows one per select. */
export function generatorsOf(node: ProjectNode): Expr[] {
  if (node.drop) return [];
  return node.columns.filter((column) => generatorCall(column) !== undefined);
}

export function analyzeGenerate(node: ProjectNode, child: Analysis): Analysis {
  const generators = generatorsOf(node);
  if (generators.length > 1) {
    throw new AnalysisError(`Only one generator is allowed per select clause but found ${generators.length}: ${generators.map(expressionName).join(", ")}`);
  }
  const generatorExpr = generators[0] as Expr;
  const call = generatorCall(generatorExpr);
  if (call === undefined || call.args.length !== 1) throw new AnalysisError(`${call?.name ?? "explode"}() takes exactly one array argument`);
  const input = child.schema;
  const array = compileExpression(call.args[0] as Expr, input, node.operation);
  // Compiled now, as the named expressions are: param() takes its declared type only while the query is analysed.
  const arrayByPosition = compilePositional(call.args[0] as Expr, input, node.operation).evaluate;
  if (array.type !== "array" && array.type !== "any" && array.type !== "null") {
    throw new AnalysisError(`${call.name}() needs an array, but ${array.name} is ${array.type} in ${node.operation}`);
  }
  const element: Field = array.element ?? { name: "element", type: "any", nullable: true };
  const outer = call.name.endsWith("_outer");
  const withPosition = call.name.startsWith("pos");
  const alias = generatorExpr.kind === "alias" ? generatorExpr.name : node.withColumn;
  const position = { name: "pos", generated: "position" as const };
  const elementColumn = { name: alias ?? "col", generated: "element" as const };
  const generated: Output[] = [
    ...(withPosition ? [{ field: { name: "pos", type: "long" as const, nullable: outer }, column: position, byPosition: position }] : []),
    { field: { ...nestedOf(element), name: alias ?? "col", type: element.type, nullable: element.nullable || outer }, column: elementColumn, byPosition: elementColumn },
  ];
  const projected = (field: Field): Output => {
    const { name, evaluate } = passThrough(field);
    const index = input.fields.indexOf(field);
    return { field, column: { name, evaluate }, byPosition: { name, evaluate: positionalRead(index) as unknown as (row: PositionalRow) => unknown } };
  };
  const compiledOutput = (expression: Expr): Output[] => {
    if (expression === generatorExpr) return generated;
    if (expression.kind === "star") return input.fields.map(projected);
    if (expression.kind === "column" && !isNestedReference(input, expression.name)) return [projected(resolveColumn(input, expression.name, node.operation))];
    const compiled = compileExpression(expression, input, node.operation);
    const field: Field = { name: compiled.name, type: compiled.type, nullable: compiled.nullable, ...nestedOf(compiled) };
    const byPosition = compilePositional(expression, input, node.operation).evaluate;
    return [{ field, column: { name: field.name, evaluate: compiled.evaluate }, byPosition: { name: field.name, evaluate: byPosition } }];
  };
  let outputs: Output[];
  if (node.withColumn !== undefined) {
    const replaced = findField(input, node.withColumn);
    outputs = input.fields.flatMap((field) => (field === replaced ? generated : [projected(field)]));
    if (!replaced) outputs.push(...generated);
  } else {
    outputs = node.columns.flatMap(compiledOutput);
  }
  checkDuplicates(outputs.map((output) => output.field.name), node.operation);
  const columns = outputs.map((output) => output.column);
  const keyColumn = child.keyed ? ROW_KEY : undefined;
  const spec = { evaluate: array.evaluate, outer, columns, keyColumn };
  const detail = `${call.name}(${array.name})`;
  // Keyed rows (after an update/complete aggregation) carry ROW_KEY last by position, after the schema's fields.
  const keyed = (names: readonly string[]): readonly string[] => (child.keyed ? [...names, ROW_KEY] : names);
  const positionalSpec = { evaluate: arrayByPosition, outer, columns: outputs.map((output) => output.byPosition), keyIndex: child.keyed ? input.fields.length : undefined };
  const positional: PositionalStep = {
    inputColumns: keyed(input.fields.map((field) => field.name)),
    outputColumns: keyed(outputs.map((output) => output.field.name)),
    create: (id) => new PositionalGenerateOperator(id, positionalSpec),
  };
  return extend(child, { kind: "stateless", name: "generate", detail, create: (id) => new GenerateOperator(id, spec), positional }, { fields: outputs.map((output) => output.field) }, { eventTime: undefined });
}
