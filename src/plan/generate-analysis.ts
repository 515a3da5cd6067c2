// Analysis of select()/withColumn() with a generator (explode, posexplode and their _outer forms): Spark's Generate.
import { ROW_KEY } from "../actors/sink-actor.ts";
import { AnalysisError } from "../core/errors.ts";
import { findField, nestedOf, type Field } from "../core/types.ts";
import { generatorCall, type Expr } from "../expr/ast.ts";
import { compileExpression, expressionName, resolveColumn } from "../expr/compile.ts";
import { GenerateOperator, type GeneratedColumn } from "../operators/generate.ts";
import type { ProjectNode } from "./logical.ts";
import { checkDuplicates, extend, isNestedReference, passThrough, type Analysis } from "./steps.ts";

type Output = { field: Field; column: GeneratedColumn };

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
  if (array.type !== "array" && array.type !== "any" && array.type !== "null") {
    throw new AnalysisError(`${call.name}() needs an array, but ${array.name} is ${array.type} in ${node.operation}`);
  }
  const element: Field = array.element ?? { name: "element", type: "any", nullable: true };
  const outer = call.name.endsWith("_outer");
  const withPosition = call.name.startsWith("pos");
  const alias = generatorExpr.kind === "alias" ? generatorExpr.name : node.withColumn;
  const generated: Output[] = [
    ...(withPosition ? [{ field: { name: "pos", type: "long" as const, nullable: outer }, column: { name: "pos", generated: "position" as const } }] : []),
    { field: { ...nestedOf(element), name: alias ?? "col", type: element.type, nullable: element.nullable || outer }, column: { name: alias ?? "col", generated: "element" } },
  ];
  const compiledOutput = (expression: Expr): Output[] => {
    if (expression === generatorExpr) return generated;
    if (expression.kind === "star") return input.fields.map(projected);
    if (expression.kind === "column" && !isNestedReference(input, expression.name)) return [projected(resolveColumn(input, expression.name, node.operation))];
    const compiled = compileExpression(expression, input, node.operation);
    const field: Field = { name: compiled.name, type: compiled.type, nullable: compiled.nullable, ...nestedOf(compiled) };
    return [{ field, column: { name: field.name, evaluate: compiled.evaluate } }];
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
  return extend(child, { kind: "stateless", name: "generate", detail, create: (id) => new GenerateOperator(id, spec) }, { fields: outputs.map((output) => output.field) }, { eventTime: undefined });
}

function projected(field: Field): Output {
  const { name, evaluate } = passThrough(field);
  return { field, column: { name, evaluate } };
}
