// Spark's auto-generated column names for expressions: `(a + b)`, `CAST(x AS DOUBLE)`, `count(1)`.
import type { DataType } from "../core/types.ts";
import { GET_FIELD, GET_ITEM, INTERVAL, type BinaryOperator, type Expr, type WindowSpec } from "./ast.ts";
import { sqlTypeName } from "./typenames.ts";
import { formatDouble, formatTimestamp, valueToString } from "./values.ts";

const OPERATOR_TEXT: Readonly<Record<BinaryOperator, string>> = {
  "+": "+", "-": "-", "*": "*", "/": "/", "%": "%",
  "=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "<=>": "<=>",
  and: "AND", or: "OR", "||": "||",
};

/** The name Spark gives an unaliased column computed from this expression. */
export function expressionName(expr: Expr): string {
  switch (expr.kind) {
    case "column":
      return expr.name;
    case "star":
      return "*";
    case "literal":
      return literalText(expr.value, expr.type);
    case "unary":
      return expr.op === "-" ? `(- ${expressionName(expr.operand)})` : `(NOT ${expressionName(expr.operand)})`;
    case "binary":
      return binaryName(expr.op, expressionName(expr.left), expressionName(expr.right));
    case "isNull":
      return `(${expressionName(expr.operand)} IS ${expr.negated ? "NOT " : ""}NULL)`;
    case "like": {
      const operand = expressionName(expr.operand);
      const pattern = expressionName(expr.pattern);
      return negate(expr.regex ? `RLIKE(${operand}, ${pattern})` : `${operand} LIKE ${pattern}`, expr.negated);
    }
    case "in": {
      const list = expr.list.map(expressionName).join(", ");
      return negate(`(${expressionName(expr.operand)} IN (${list}))`, expr.negated);
    }
    case "between": {
      // Spark rewrites BETWEEN into two comparisons, and names the rewritten expression.
      const operand = expressionName(expr.operand);
      const range = `((${operand} >= ${expressionName(expr.low)}) AND (${operand} <= ${expressionName(expr.high)}))`;
      return negate(range, expr.negated);
    }
    case "case":
      return caseName(expr);
    case "cast":
      return `CAST(${expressionName(expr.operand)} AS ${expr.decimal === undefined ? sqlTypeName(expr.to) : `DECIMAL(${expr.decimal.precision},${expr.decimal.scale})`})`;
    case "call":
      return callName(expr);
    case "alias":
      return expr.name;
    case "over":
      return `${expressionName(expr.function)} OVER (${windowSpecText(expr.window)})`;
  }
}

/** Spark's text of a window spec: `PARTITION BY a ORDER BY b ASC NULLS FIRST ROWS BETWEEN ...`, the default frame spelt out. */
function windowSpecText(window: WindowSpec): string {
  const parts: string[] = [];
  if (window.partitionBy.length > 0) parts.push(`PARTITION BY ${window.partitionBy.map(expressionName).join(", ")}`);
  if (window.orderBy.length > 0) parts.push(`ORDER BY ${window.orderBy.map((order) => `${expressionName(order.expr)} ${order.descending ? "DESC" : "ASC"} NULLS ${order.nullsFirst ? "FIRST" : "LAST"}`).join(", ")}`);
  const frame = window.frame ?? (window.orderBy.length > 0 ? { unit: "range", start: -Infinity, end: 0 } : { unit: "rows", start: -Infinity, end: Infinity });
  parts.push(`${frame.unit.toUpperCase()} BETWEEN ${boundText(frame.start)} AND ${boundText(frame.end)}`);
  return parts.join(" ");
}

function boundText(bound: number): string {
  if (bound === -Infinity) return "UNBOUNDED PRECEDING";
  if (bound === Infinity) return "UNBOUNDED FOLLOWING";
  if (bound === 0) return "CURRENT ROW";
  return bound < 0 ? `${-bound} PRECEDING` : `${bound} FOLLOWING`;
}

/** A literal as Spark prints it in a column name: strings without quotes, doubles in Java's notation. */
export function literalText(value: unknown, type: DataType): string {
  if (value === null || value === undefined) return "NULL";
  switch (type) {
    case "double":
      return formatDouble(value as number);
    case "timestamp":
      return `TIMESTAMP '${formatTimestamp(value as number)}'`;
    case "binary":
      return `X'${Buffer.from(value as Uint8Array).toString("hex").toUpperCase()}'`;
    default:
      return valueToString(value);
  }
}

function binaryName(op: BinaryOperator, left: string, right: string): string {
  if (op === "||") return `concat(${left}, ${right})`;
  if (op === "!=") return `(NOT (${left} = ${right}))`;
  return `(${left} ${OPERATOR_TEXT[op]} ${right})`;
}

function negate(text: string, negated: boolean): string {
  return negated ? `(NOT ${text})` : text;
}

function caseName(expr: Extract<Expr, { kind: "case" }>): string {
  const operand = expr.operand === undefined ? undefined : expressionName(expr.operand);
  const branches = expr.branches.map((branch) => {
    const when = expressionName(branch.when);
    const condition = operand === undefined ? when : `(${operand} = ${when})`;
    return ` WHEN ${condition} THEN ${expressionName(branch.then)}`;
  });
  const otherwise = expr.otherwise === undefined ? "" : ` ELSE ${expressionName(expr.otherwise)}`;
  return `CASE${branches.join("")}${otherwise} END`;
}

function callName(expr: Extract<Expr, { kind: "call" }>): string {
  // Spark names count(*) `count(1)`.
  if (expr.name === "count" && expr.args.length === 1 && expr.args[0]?.kind === "star") {
    return expr.distinct ? "count(DISTINCT 1)" : "count(1)";
  }
  if (expr.name === INTERVAL && expr.args[0]?.kind === "literal") return `INTERVAL '${String(expr.args[0].value)}' MILLISECOND`;
  const args = expr.args.map(expressionName);
  // round(x) is round(x, 0) in Spark, and named so.
  if (expr.name === "round" && args.length === 1) args.push("0");
  // Spark turns these calls into operators and names them as such.
  if (expr.name === "if" && args.length === 3) return `(IF(${args.join(", ")}))`;
  if (expr.name === GET_FIELD && args.length === 2) return `${args[0]}.${args[1]}`;
  if (expr.name === GET_ITEM && args.length === 2) return `${args[0]}[${args[1]}]`;
  if (expr.name === "isnull" && args.length === 1) return `(${args[0]} IS NULL)`;
  if (expr.name === "isnotnull" && args.length === 1) return `(${args[0]} IS NOT NULL)`;
  return `${expr.name}(${expr.distinct ? "DISTINCT " : ""}${args.join(", ")})`;
}
