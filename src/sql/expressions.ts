// Walking and rewriting the expression tree for SQL planning: qualifiers, aggregate calls, structural equality.
import { isAggregateCall, type Expr } from "../expr/ast.ts";

/** The expression with each direct child replaced by `map(child)`. */
export function mapChildren(expr: Expr, map: (child: Expr) => Expr): Expr {
  switch (expr.kind) {
    case "column":
    case "star":
    case "literal":
      return expr;
    case "unary":
    case "isNull":
    case "cast":
    case "alias":
      return { ...expr, operand: map(expr.operand) };
    case "binary":
      return { ...expr, left: map(expr.left), right: map(expr.right) };
    case "like":
      return { ...expr, operand: map(expr.operand), pattern: map(expr.pattern) };
    case "in":
      return { ...expr, operand: map(expr.operand), list: expr.list.map(map) };
    case "between":
      return { ...expr, operand: map(expr.operand), low: map(expr.low), high: map(expr.high) };
    case "case":
      return {
        ...expr,
        operand: expr.operand === undefined ? undefined : map(expr.operand),
        branches: expr.branches.map((branch) => ({ when: map(branch.when), then: map(branch.then) })),
        otherwise: expr.otherwise === undefined ? undefined : map(expr.otherwise),
      };
    case "call":
      return { ...expr, args: expr.args.map(map) };
    case "over":
      return {
        ...expr,
        function: map(expr.function),
        window: { ...expr.window, partitionBy: expr.window.partitionBy.map(map), orderBy: expr.window.orderBy.map((order) => ({ ...order, expr: map(order.expr) })) },
      };
  }
}

/** Every sub-expression, parents before children. */
export function* walk(expr: Expr): Generator<Expr> {
  yield expr;
  const children: Expr[] = [];
  mapChildren(expr, (child) => {
    children.push(child);
    return child;
  });
  for (const child of children) yield* walk(child);
}

/**
 * The outermost aggregate calls in the expression (an aggregate inside another is refused by the planner). The function
 * of a window (`sum(x) OVER (...)`) is no aggregate of the query's: only aggregates inside it and its spec are.
 */
export function aggregateCalls(expr: Expr): Expr[] {
  if (isAggregateCall(expr)) return [expr];
  if (expr.kind === "over") {
    const inner = expr.function.kind === "call" ? expr.function.args : [expr.function];
    return [...inner, ...expr.window.partitionBy, ...expr.window.orderBy.map((order) => order.expr)].flatMap(aggregateCalls);
  }
  const found: Expr[] = [];
  mapChildren(expr, (child) => {
    found.push(...aggregateCalls(child));
    return child;
  });
  return found;
}

export function containsAggregate(expr: Expr): boolean {
  return aggregateCalls(expr).length > 0;
}

/** An aggregate call nested in another one's arguments (`sum(count(x))`), which SQL refuses. */
export function nestedAggregate(expr: Expr): Expr | undefined {
  for (const call of aggregateCalls(expr)) {
    if (call.kind !== "call") continue;
    for (const argument of call.args) for (const node of walk(argument)) if (isAggregateCall(node)) return node;
  }
  return undefined;
}

/** A key equal for expressions that mean the same (names compare case-insensitively, as Spark resolves them). */
export function structuralKey(expr: Expr): string {
  return JSON.stringify(expr, (key, value: unknown) => {
    if (typeof value === "bigint") return `${value}n`;
    if (key === "name" && typeof value === "string") return value.toLowerCase();
    return value;
  });
}
