// Recursive-descent parser for Spark SQL expressions (the text of expr(), filter() and selectExpr()).
import { parseDuration } from "../core/duration.ts";
import { ConfigError } from "../core/errors.ts";
import { negateLong } from "../core/long.ts";
import { closestName } from "../core/errors.ts";
import { GET_FIELD, INTERVAL, type BinaryOperator, type CaseBranch, type DecimalType, type Expr, type WindowFrame, type WindowOrder } from "./ast.ts";
import { parseErrorAt, tokenize, type ErrorAt, type Token } from "./lexer.ts";
import { knownTypeNames, parseDataType, parseDecimalType } from "./typenames.ts";
import { parseTimestamp } from "./values.ts";

/** Words that end or continue an expression, so they can never be a bare alias. */
const RESERVED = new Set([
  "and", "or", "not", "is", "null", "true", "false", "like", "rlike", "regexp", "in", "between",
  "case", "when", "then", "else", "end", "as", "distinct", "from", "cast",
]);
/** The unit words of an interval literal (Spark's, singular or plural). */
const INTERVAL_UNIT = /^(years?|months?|weeks?|days?|hours?|minutes?|seconds?|milliseconds?|microseconds?)$/i;
/** Keywords an unknown word after an expression was probably meant to be, for "Did you mean" hints. */
const OPERATOR_KEYWORDS = ["and", "or", "not", "is", "like", "rlike", "regexp", "in", "between", "as"];

const COMPARISONS: ReadonlyMap<string, BinaryOperator> = new Map<string, BinaryOperator>([
  ["=", "="], ["==", "="], ["!=", "!="], ["<>", "!="], ["<", "<"], ["<=", "<="], [">", ">"], [">=", ">="], ["<=>", "<=>"],
]);
const ADDITIVE: ReadonlyMap<string, BinaryOperator> = new Map<string, BinaryOperator>([["+", "+"], ["-", "-"], ["||", "||"]]);
const MULTIPLICATIVE: ReadonlyMap<string, BinaryOperator> = new Map<string, BinaryOperator>([["*", "*"], ["/", "/"], ["%", "%"]]);

/**
 * The deepest nesting an expression may have (parentheses, calls, CASE, IN lists, NOT and unary minus).
 * Analysis and compilation recurse over the tree, so the parser refuses what they could not walk.
 */
export const MAX_EXPRESSION_DEPTH = 256;
/** The most operators (binary, NOT, unary minus) one expression may chain; a longer chain is a tree too deep to compile. */
export const MAX_EXPRESSION_TERMS = 1_000;

/**
 * Parses one Spark SQL expression, with an optional trailing alias (`x AS y` or `x y`).
 * @example parseExpression("cast(x as double) / 1000 AS seconds")
 * @throws ParseError naming the position, with a caret under it.
 */
export function parseExpression(text: string): Expr {
  return new ExpressionParser(text).parseTopLevel();
}

/**
 * The expression grammar over a token cursor. The SQL statement parser (src/sql/parser.ts) extends it, so a statement's
 * expressions are this grammar and nothing else; `errorAt` renders failures for the kind of text being parsed.
 */
export class ExpressionParser {
  protected readonly tokens: Token[];
  protected index = 0;
  private depth = 0;
  private terms = 0;

  constructor(protected readonly text: string, protected readonly errorAt: ErrorAt = parseErrorAt) {
    this.tokens = tokenize(text, errorAt);
  }

  /** One expression without an alias, stopping at the first token that cannot continue it. */
  parseExpression(): Expr {
    return this.parseOr();
  }

  /** One expression with an optional alias, then the end of the text. */
  parseTopLevel(): Expr {
    const expr = this.parseOr();
    let bareAlias: Token | undefined;
    let result = expr;
    if (this.acceptKeyword("as")) {
      result = { kind: "alias", operand: expr, name: this.expectName("an alias after AS") };
    } else {
      const candidate = this.peek();
      if (candidate.kind === "identifier" && (candidate.quoted || !RESERVED.has(candidate.text.toLowerCase()))) {
        bareAlias = this.next();
        result = { kind: "alias", operand: expr, name: candidate.text };
      }
    }
    const after = this.peek();
    if (after.kind !== "eof") {
      // "gt likee 1": the word read as an alias was more likely a misspelt operator, so point at it.
      throw this.unexpected(bareAlias ?? after);
    }
    return result;
  }

  /** A nested expression (inside parentheses, call arguments, CASE, IN): one level deeper. */
  private parseOr(): Expr {
    return this.nested(() => {
      let left = this.parseAnd();
      while (this.acceptTerm(() => this.acceptKeyword("or"))) left = { kind: "binary", op: "or", left, right: this.parseAnd() };
      return left;
    });
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.acceptTerm(() => this.acceptKeyword("and"))) left = { kind: "binary", op: "and", left, right: this.parseNot() };
    return left;
  }

  private parseNot(): Expr {
    if (this.acceptTerm(() => this.acceptKeyword("not") || this.acceptOperator("!"))) {
      return this.nested(() => ({ kind: "unary", op: "not", operand: this.parseNot() }));
    }
    return this.parsePredicate();
  }

  /** Runs `parse` one nesting level deeper, refusing to go past MAX_EXPRESSION_DEPTH. */
  private nested(parse: () => Expr): Expr {
    if (this.depth >= MAX_EXPRESSION_DEPTH) {
      throw this.errorAt(this.text, this.peek().position, `expression nested deeper than ${MAX_EXPRESSION_DEPTH} levels`,
        "Split it into several columns (withColumn) or simplify it.");
    }
    this.depth++;
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  /** Accepts an operator token and counts it, refusing more than MAX_EXPRESSION_TERMS in one expression. */
  private acceptTerm(accept: () => boolean): boolean {
    const position = this.peek().position;
    if (!accept()) return false;
    this.countTerm(position);
    return true;
  }

  private countTerm(position: number): void {
    if (++this.terms > MAX_EXPRESSION_TERMS) {
      throw this.errorAt(this.text, position, `expression has more than ${MAX_EXPRESSION_TERMS} operators`,
        "Split it into several columns (withColumn) or simplify it.");
    }
  }

  /** `x IS [NOT] NULL`, `x [NOT] LIKE|RLIKE|REGEXP p`, `x [NOT] IN (...)`, `x [NOT] BETWEEN a AND b`. */
  private parsePredicate(): Expr {
    let operand = this.parseComparison();
    for (;;) {
      if (this.acceptKeyword("is")) {
        const negated = this.acceptKeyword("not");
        this.expectKeyword("null");
        operand = { kind: "isNull", operand, negated };
        continue;
      }
      const start = this.index;
      const negated = this.acceptKeyword("not");
      if (this.acceptKeyword("like")) {
        operand = { kind: "like", operand, pattern: this.parseAdditive(), negated, regex: false };
      } else if (this.acceptKeyword("rlike") || this.acceptKeyword("regexp")) {
        operand = { kind: "like", operand, pattern: this.parseAdditive(), negated, regex: true };
      } else if (this.acceptKeyword("in")) {
        operand = { kind: "in", operand, list: this.parseInList(), negated };
      } else if (this.acceptKeyword("between")) {
        const low = this.parseAdditive();
        this.expectKeyword("and");
        operand = { kind: "between", operand, low, high: this.parseAdditive(), negated };
      } else {
        if (negated) throw this.unexpected(this.peek(), "expected LIKE, RLIKE, IN or BETWEEN after NOT");
        this.index = start;
        return operand;
      }
    }
  }

  private parseInList(): Expr[] {
    this.expectOperator("(");
    const list = [this.parseOr()];
    while (this.acceptOperator(",")) list.push(this.parseOr());
    this.expectOperator(")");
    return list;
  }

  private parseComparison(): Expr {
    return this.parseBinaryLevel(COMPARISONS, () => this.parseAdditive());
  }

  private parseAdditive(): Expr {
    return this.parseBinaryLevel(ADDITIVE, () => this.parseMultiplicative());
  }

  private parseMultiplicative(): Expr {
    return this.parseBinaryLevel(MULTIPLICATIVE, () => this.parseUnary());
  }

  /** One left-associative precedence level. */
  private parseBinaryLevel(operators: ReadonlyMap<string, BinaryOperator>, parseOperand: () => Expr): Expr {
    let left = parseOperand();
    for (;;) {
      const token = this.peek();
      const op = token.kind === "operator" ? operators.get(token.text) : undefined;
      if (op === undefined) return left;
      this.countTerm(token.position);
      this.next();
      left = { kind: "binary", op, left, right: parseOperand() };
    }
  }

  private parseUnary(): Expr {
    if (this.acceptTerm(() => this.acceptOperator("+"))) return this.nested(() => this.parseUnary());
    if (!this.acceptTerm(() => this.acceptOperator("-"))) return this.parseFieldAccess(this.parsePrimary());
    const operand = this.nested(() => this.parseUnary());
    // Spark folds `-1` into a negative literal (named `-1`, not `(- 1)`).
    if (operand.kind === "literal" && typeof operand.value === "number") {
      return { kind: "literal", value: -operand.value, type: operand.type };
    }
    if (operand.kind === "literal" && typeof operand.value === "bigint") {
      return { kind: "literal", value: negateLong(operand.value), type: operand.type };
    }
    return { kind: "unary", op: "-", operand };
  }

  /** `from_json(...).a`: a field of a computed struct (a column's `s.a` is read as one dotted name instead). */
  private parseFieldAccess(base: Expr): Expr {
    let expr = base;
    while (expr.kind !== "column" && this.isOperator(this.peek(), ".")) {
      this.next();
      const name = this.expectName("a field name after '.'");
      expr = { kind: "call", name: GET_FIELD, args: [expr, { kind: "literal", value: name, type: "string" }], distinct: false };
    }
    return expr;
  }

  private parsePrimary(): Expr {
    const token = this.next();
    switch (token.kind) {
      case "number":
        // As in Spark, an integer literal is an int when it fits in 32 bits, else a bigint; with the suffix L a bigint.
        return { kind: "literal", value: token.value, type: token.isDouble ? "double" : isInt32(token.value) && !token.isLong ? "int" : "long" };
      case "string":
        return { kind: "literal", value: token.value, type: "string" };
      case "identifier":
        return this.parseIdentifierStart(token);
      case "operator":
        if (token.text === "*") return { kind: "star" };
        if (token.text === "(") {
          const inner = this.parseOr();
          this.expectOperator(")");
          return inner;
        }
        throw this.unexpected(token);
      case "eof":
        throw this.unexpected(token);
    }
  }

  private parseIdentifierStart(token: Extract<Token, { kind: "identifier" }>): Expr {
    const word = token.quoted ? undefined : token.text.toLowerCase();
    const following = this.peek();
    if (word === "true" || word === "false") return { kind: "literal", value: word === "true", type: "boolean" };
    if (word === "null") return { kind: "literal", value: null, type: "null" };
    if (word === "case") return this.parseCase();
    if (word === "cast" && this.isOperator(following, "(")) return this.parseCast();
    if (word === "timestamp" && following.kind === "string") return this.parseTimestampLiteral(following);
    if (word === "interval" && (following.kind === "string" || following.kind === "number")) return this.parseIntervalLiteral(token);
    if (word !== undefined && RESERVED.has(word)) throw this.unexpected(token);
    if (word !== undefined && this.isOperator(following, "(")) return this.parseCall(word);
    let name = token.text;
    while (this.isOperator(this.peek(), ".")) {
      this.next();
      name += `.${this.expectName("a name after '.'")}`;
    }
    return { kind: "column", name };
  }

  private parseCall(name: string): Expr {
    this.expectOperator("(");
    const distinct = this.acceptKeyword("distinct");
    const args: Expr[] = [];
    if (!this.acceptOperator(")")) {
      args.push(this.parseOr());
      while (this.acceptOperator(",")) args.push(this.parseOr());
      this.expectOperator(")");
    }
    const call: Expr = { kind: "call", name, args, distinct };
    return this.isKeyword(this.peek(), "over") ? this.parseOver(call) : call;
  }

  /** `f(...) OVER ([PARTITION BY ...] [ORDER BY ...] [ROWS | RANGE frame])`, Spark's window function syntax. */
  private parseOver(call: Expr): Expr {
    this.next();
    if (!this.isOperator(this.peek(), "(")) throw this.unexpected(this.peek(), "expected '(' after OVER (named windows and the WINDOW clause are not supported)");
    this.next();
    const partitionBy: Expr[] = [];
    if (this.acceptKeyword("partition") || this.acceptKeyword("distribute")) {
      this.expectKeyword("by");
      do partitionBy.push(this.parseOr());
      while (this.acceptOperator(","));
    }
    const orderBy: WindowOrder[] = [];
    if (this.acceptKeyword("order") || this.acceptKeyword("sort")) {
      this.expectKeyword("by");
      do orderBy.push(this.parseWindowOrder());
      while (this.acceptOperator(","));
    }
    let frame: WindowFrame | undefined;
    const unitToken = this.peek();
    if (this.acceptKeyword("rows") || this.acceptKeyword("range")) {
      const unit = this.isKeyword(unitToken, "rows") ? "rows" : "range";
      const between = this.acceptKeyword("between");
      const startToken = this.peek();
      const start = this.parseFrameBound();
      const end = between ? (this.expectKeyword("and"), this.parseFrameBound()) : 0;
      if (start === Infinity || end === -Infinity || start > end) {
        throw this.errorAt(this.text, startToken.position, "the lower bound of a window frame must be less than or equal to the upper bound", "Write the bounds in order, e.g. ROWS BETWEEN 2 PRECEDING AND CURRENT ROW.");
      }
      frame = { unit, start, end };
    }
    this.expectOperator(")");
    return { kind: "over", function: call, window: { partitionBy, orderBy, frame } };
  }

  private parseWindowOrder(): WindowOrder {
    const expr = this.parseOr();
    const descending = this.acceptKeyword("desc") ? true : (this.acceptKeyword("asc"), false);
    let nullsFirst = !descending;
    if (this.acceptKeyword("nulls")) {
      if (this.acceptKeyword("first")) nullsFirst = true;
      else if (this.acceptKeyword("last")) nullsFirst = false;
      else throw this.unexpected(this.peek(), "expected FIRST or LAST after NULLS");
    }
    return { expr, descending, nullsFirst };
  }

  /** `UNBOUNDED PRECEDING`, `UNBOUNDED FOLLOWING`, `CURRENT ROW`, or `n PRECEDING` / `n FOLLOWING` with n a number. */
  private parseFrameBound(): number {
    if (this.acceptKeyword("unbounded")) {
      if (this.acceptKeyword("preceding")) return -Infinity;
      if (this.acceptKeyword("following")) return Infinity;
      throw this.unexpected(this.peek(), "expected PRECEDING or FOLLOWING after UNBOUNDED");
    }
    if (this.acceptKeyword("current")) {
      if (!this.acceptKeyword("row")) throw this.unexpected(this.peek(), "expected ROW after CURRENT");
      return 0;
    }
    const token = this.next();
    if (token.kind !== "number" || typeof token.value !== "number" || token.value < 0) throw this.unexpected(token, "expected UNBOUNDED, CURRENT ROW or a non-negative number for a window frame bound");
    const value = token.value;
    if (this.acceptKeyword("preceding")) return -value;
    if (this.acceptKeyword("following")) return value;
    throw this.unexpected(this.peek(), "expected PRECEDING or FOLLOWING after the frame offset");
  }

  private parseCast(): Expr {
    this.expectOperator("(");
    const operand = this.parseOr();
    this.expectKeyword("as");
    const typeToken = this.peek();
    let typeName = this.expectName("a type name");
    const parameters: string[] = [];
    if (this.acceptOperator("(")) {
      // decimal(10, 2) rounds to its scale (below); varchar(20): the length does not change the Rill type.
      while (!this.acceptOperator(")")) {
        const parameter = this.next();
        if (parameter.kind === "eof") throw this.unexpected(parameter, "expected ')'");
        if (parameter.kind === "number") parameters.push(parameter.text);
      }
      typeName += "()";
    }
    let decimal: DecimalType | undefined;
    try {
      const baseName = typeName.endsWith("()") ? typeName.slice(0, -2) : typeName;
      decimal = parseDecimalType(parameters.length > 0 ? `${baseName}(${parameters.join(",")})` : baseName);
    } catch (error) {
      throw this.errorAt(this.text, typeToken.position, (error as Error).message);
    }
    const to = parseDataType(typeName);
    if (to === undefined) {
      const suggestion = closestName(typeName, knownTypeNames());
      const hint = suggestion === undefined ? `Known types: ${knownTypeNames().join(", ")}` : `Did you mean '${suggestion}'?`;
      throw this.errorAt(this.text, typeToken.position, `unknown type '${typeName}'`, hint);
    }
    this.expectOperator(")");
    return decimal === undefined ? { kind: "cast", operand, to } : { kind: "cast", operand, to, decimal };
  }

  private parseTimestampLiteral(token: Extract<Token, { kind: "string" }>): Expr {
    this.next();
    const value = parseTimestamp(token.value);
    if (value === null) throw this.errorAt(this.text, token.position, `invalid timestamp '${token.value}'`);
    return { kind: "literal", value, type: "timestamp" };
  }

  /** `interval 1 hour`, `INTERVAL 2 HOURS 30 MINUTES`, `interval '3' day`, `interval '1 hour'`: a day-time interval in ms. */
  private parseIntervalLiteral(start: Token): Expr {
    while (this.peek().kind === "number" || this.peek().kind === "string") {
      this.next();
      const unit = this.peek();
      if (unit.kind === "identifier" && !unit.quoted && INTERVAL_UNIT.test(unit.text)) this.next();
    }
    const text = this.text.slice(start.position, this.peek().position).trim();
    let milliseconds: number;
    try {
      milliseconds = parseDuration(text, "interval literal", { negative: "allow" });
    } catch (error) {
      if (error instanceof ConfigError) throw this.errorAt(this.text, start.position, error.message);
      throw error;
    }
    return { kind: "call", name: INTERVAL, args: [{ kind: "literal", value: milliseconds, type: "double" }], distinct: false };
  }

  private parseCase(): Expr {
    if (this.isKeyword(this.peek(), "end")) throw this.unexpected(this.peek(), "expected WHEN");
    const operand = this.isKeyword(this.peek(), "when") ? undefined : this.parseOr();
    const branches: CaseBranch[] = [];
    while (this.acceptKeyword("when")) {
      const when = this.parseOr();
      this.expectKeyword("then");
      branches.push({ when, then: this.parseOr() });
    }
    if (branches.length === 0) throw this.unexpected(this.peek(), "expected WHEN");
    const otherwise = this.acceptKeyword("else") ? this.parseOr() : undefined;
    this.expectKeyword("end");
    return { kind: "case", operand, branches, otherwise };
  }

  // ---- token helpers ----

  protected peek(): Token {
    return this.tokens[this.index] ?? { kind: "eof", position: this.text.length };
  }

  protected next(): Token {
    const token = this.peek();
    if (token.kind !== "eof") this.index++;
    return token;
  }

  protected isKeyword(token: Token, keyword: string): boolean {
    return token.kind === "identifier" && !token.quoted && token.text.toLowerCase() === keyword;
  }

  protected isOperator(token: Token, operator: string): boolean {
    return token.kind === "operator" && token.text === operator;
  }

  protected acceptKeyword(keyword: string): boolean {
    if (!this.isKeyword(this.peek(), keyword)) return false;
    this.index++;
    return true;
  }

  protected acceptOperator(operator: string): boolean {
    if (!this.isOperator(this.peek(), operator)) return false;
    this.index++;
    return true;
  }

  protected expectKeyword(keyword: string): void {
    if (!this.acceptKeyword(keyword)) throw this.unexpected(this.peek(), `expected ${keyword.toUpperCase()}`);
  }

  protected expectOperator(operator: string): void {
    if (!this.acceptOperator(operator)) throw this.unexpected(this.peek(), `expected '${operator}'`);
  }

  protected expectName(what: string): string {
    const token = this.peek();
    if (token.kind !== "identifier") throw this.unexpected(token, `expected ${what}`);
    this.index++;
    return token.text;
  }

  protected unexpected(token: Token, expectation?: string): Error {
    const found = describe(token);
    const detail = expectation === undefined ? `unexpected ${found}` : `${expectation} but found ${found}`;
    let hint: string | undefined;
    if (token.kind === "identifier" && !token.quoted && token.text.length >= 3 && !RESERVED.has(token.text.toLowerCase())) {
      const suggestion = closestName(token.text, OPERATOR_KEYWORDS);
      if (suggestion !== undefined && suggestion !== token.text.toLowerCase()) hint = `Did you mean '${suggestion.toUpperCase()}'?`;
    }
    return this.errorAt(this.text, token.position, detail, hint);
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case "number":
      return `number '${token.text}'`;
    case "string":
      return `string '${token.value}'`;
    case "identifier":
      return token.quoted ? `identifier '\`${token.text}\`'` : RESERVED.has(token.text.toLowerCase())
        ? `keyword '${token.text.toUpperCase()}'` : `identifier '${token.text}'`;
    case "operator":
      return `'${token.text}'`;
    case "eof":
      return "end of input";
  }
}

function isInt32(value: number | bigint): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= -2_147_483_648 && value <= 2_147_483_647;
}
