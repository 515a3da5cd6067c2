// Recursive-descent parser for SQL queries: SELECT, FROM (views, subqueries, joins), WHERE, GROUP BY, HAVING, UNION,
// ORDER BY, LIMIT. It extends the expression parser, so every expression in a statement is the expression language's.
import { closestName } from "../core/errors.ts";
import type { Expr } from "../expr/ast.ts";
import type { Token } from "../expr/lexer.ts";
import { ExpressionParser } from "../expr/parser.ts";
import type { GroupingKind } from "../plan/logical.ts";
import type { CommonTableExpression, GroupBy, JoinType, Located, OrderItem, Query, QueryBody, Relation, Select, SelectItem } from "./ast.ts";
import { sqlErrorAt } from "./position.ts";

/** Words that start or continue a clause, so they are never read as a bare alias. */
const CLAUSE_KEYWORDS = new Set([
  "select", "from", "where", "group", "by", "having", "order", "limit", "union", "all", "distinct", "join", "inner",
  "left", "right", "full", "outer", "cross", "semi", "anti", "on", "using", "as", "asc", "desc", "nulls", "with",
  "except", "intersect", "minus", "natural", "lateral", "sort", "cluster", "distribute",
]);
/** Clause keywords that can never start a select item, so `SELECT FROM t` fails where the item is missing. */
const CLAUSE_STARTS = new Set(["select", "from", "where", "group", "having", "order", "limit", "union"]);
/** Keywords a misspelt word after a select item or a table was probably meant to be. */
const HINT_KEYWORDS = ["from", "where", "group", "having", "order", "limit", "union", "join", "select"];

/**
 * Parses one SQL query (an optional `;` may end it).
 * @example parseSql("SELECT gt, count(*) AS n FROM events WHERE gt IS NOT NULL GROUP BY gt")
 * @throws ParseError with the line and column, the line itself and a caret under the fault.
 */
export function parseSql(text: string): Query {
  return new StatementParser(text).parseStatement();
}

/** The statement grammar; src/sql/script.ts extends it with the statements of a .sql file. */
export class StatementParser extends ExpressionParser {
  /** A word just read as a bare alias: if the statement breaks right after it, it was more likely a misspelt keyword. */
  private lastBareAlias: Token | undefined;

  constructor(text: string) {
    super(text, sqlErrorAt);
  }

  parseStatement(): Query {
    if (this.peek().kind === "eof") throw this.errorAt(this.text, this.peek().position, "empty statement", "Write a query such as SELECT * FROM my_view.");
    const query = this.parseQuery();
    this.acceptOperator(";");
    const after = this.peek();
    if (after.kind !== "eof") throw this.unexpectedAfterAlias(after);
    return query;
  }

  protected parseQuery(): Query {
    const ctes = this.acceptKeyword("with") ? this.parseWith() : [];
    let body = this.parseQueryTerm();
    for (;;) {
      const token = this.peek();
      if (this.acceptKeyword("union")) {
        const all = this.acceptKeyword("all");
        if (!all) this.acceptKeyword("distinct");
        body = { kind: "union", all, left: body, right: this.parseQueryTerm(), position: token.position };
      } else if (this.isKeyword(token, "except") || this.isKeyword(token, "intersect") || this.isKeyword(token, "minus")) {
        throw this.errorAt(this.text, token.position, `${token.kind === "identifier" ? token.text.toUpperCase() : ""} is not supported`, "Rill's SQL combines queries with UNION [ALL] only.");
      } else {
        break;
      }
    }
    const orderBy = this.parseOrderBy();
    const limit = this.parseLimit();
    return { with: ctes, body, orderBy, limit };
  }

  /** `WITH a AS (query), b [AS] (query)`: Spark's common table expressions (a column list after the name is refused). */
  private parseWith(): CommonTableExpression[] {
    const ctes: CommonTableExpression[] = [];
    do {
      const token = this.peek();
      const name = this.expectName("a name for the common table expression after WITH");
      if (this.isOperator(this.peek(), "(") && !this.startsQuery(this.tokens[this.index + 1])) throw this.unexpected(this.peek(), "column lists after a common table expression's name are not supported; expected AS");
      this.acceptKeyword("as");
      this.expectOperator("(");
      const query = this.parseQuery();
      this.expectOperator(")");
      if (ctes.some((cte) => cte.name.toLowerCase() === name.toLowerCase())) throw this.errorAt(this.text, token.position, `CTE definition can't have duplicate names: '${name}'`);
      ctes.push({ name, query, position: token.position });
    } while (this.acceptOperator(","));
    return ctes;
  }

  private startsQuery(token: Token | undefined): boolean {
    return token !== undefined && (this.isKeyword(token, "select") || this.isKeyword(token, "with") || this.isOperator(token, "("));
  }

  private parseQueryTerm(): QueryBody {
    if (this.isOperator(this.peek(), "(")) {
      this.next();
      const query = this.parseQuery();
      this.expectOperator(")");
      return query.orderBy.length === 0 && query.limit === undefined ? query.body : { kind: "nested", query };
    }
    return this.parseSelect();
  }

  private parseSelect(): Select {
    const start = this.peek();
    if (!this.acceptKeyword("select")) throw this.unexpected(start, "expected SELECT");
    const distinct = this.acceptKeyword("distinct");
    if (!distinct) this.acceptKeyword("all");
    const items = [this.parseSelectItem()];
    while (this.acceptOperator(",")) items.push(this.parseSelectItem());
    const from = this.acceptKeyword("from") ? this.parseRelation() : undefined;
    const where = this.acceptKeyword("where") ? this.located(() => this.parseExpression()) : undefined;
    const groupBy = this.isKeyword(this.peek(), "group") ? this.parseGroupBy() : undefined;
    const having = this.acceptKeyword("having") ? this.located(() => this.parseExpression()) : undefined;
    return { kind: "select", distinct, items, from, where, groupBy, having, position: start.position };
  }

  private parseSelectItem(): SelectItem {
    const token = this.peek();
    if (this.isOperator(token, "*")) {
      this.next();
      return { kind: "star", qualifier: undefined, position: token.position };
    }
    const dot = this.tokens[this.index + 1];
    const star = this.tokens[this.index + 2];
    if (token.kind === "identifier" && dot && star && this.isOperator(dot, ".") && this.isOperator(star, "*")) {
      this.index += 3;
      return { kind: "star", qualifier: token.text, position: token.position };
    }
    this.refuseKeywordAsExpression(token, "a column or expression");
    const expr = this.parseExpression();
    return { kind: "expression", expr, alias: this.parseAlias(), position: token.position };
  }

  /** `[AS] name`; a bare word is an alias unless it is a clause keyword. */
  private parseAlias(): string | undefined {
    if (this.acceptKeyword("as")) return this.expectName("an alias after AS");
    const token = this.peek();
    if (token.kind === "identifier" && (token.quoted || !CLAUSE_KEYWORDS.has(token.text.toLowerCase()))) {
      this.next();
      this.lastBareAlias = token;
      return token.text;
    }
    return undefined;
  }

  // ---- FROM ----

  private parseRelation(): Relation {
    let relation = this.parsePrimaryRelation();
    for (;;) {
      const token = this.peek();
      if (this.acceptOperator(",")) {
        relation = { kind: "join", left: relation, right: this.parsePrimaryRelation(), how: "cross", on: undefined, using: undefined, natural: false, position: token.position };
        continue;
      }
      const natural = this.acceptKeyword("natural");
      const how = this.parseJoinType();
      if (how === undefined) {
        if (natural) throw this.unexpected(this.peek(), "expected JOIN after NATURAL");
        return relation;
      }
      if (natural && how === "cross") throw this.errorAt(this.text, token.position, "NATURAL CROSS JOIN is not supported", "Write NATURAL JOIN, or CROSS JOIN without NATURAL.");
      const right = this.parsePrimaryRelation();
      let on: Expr | undefined;
      let using: string[] | undefined;
      if (natural) {
        const after = this.peek();
        if (this.isKeyword(after, "on") || this.isKeyword(after, "using")) throw this.errorAt(this.text, after.position, `a NATURAL JOIN takes no ${after.kind === "identifier" ? after.text.toUpperCase() : "condition"}`, "It joins on every column name both sides have; write JOIN ... ON or JOIN ... USING without NATURAL to choose the columns.");
      } else if (this.acceptKeyword("on")) {
        on = this.parseExpression();
      } else if (this.acceptKeyword("using")) {
        this.expectOperator("(");
        using = [this.expectName("a column name")];
        while (this.acceptOperator(",")) using.push(this.expectName("a column name"));
        this.expectOperator(")");
      } else if (how !== "cross") {
        throw this.unexpected(this.peek(), "expected ON or USING after the joined relation");
      }
      relation = { kind: "join", left: relation, right, how, on, using, natural, position: token.position };
    }
  }

  /** `[INNER] JOIN`, `LEFT [OUTER|SEMI|ANTI] JOIN`, `RIGHT [OUTER] JOIN`, `FULL [OUTER] JOIN`, `CROSS JOIN`, `[LEFT] SEMI|ANTI JOIN`. */
  private parseJoinType(): JoinType | undefined {
    const start = this.index;
    let how: JoinType | undefined;
    if (this.acceptKeyword("join")) return "inner";
    if (this.acceptKeyword("inner")) how = "inner";
    else if (this.acceptKeyword("cross")) how = "cross";
    else if (this.acceptKeyword("semi")) how = "left_semi";
    else if (this.acceptKeyword("anti")) how = "left_anti";
    else if (this.acceptKeyword("left")) how = this.acceptKeyword("semi") ? "left_semi" : this.acceptKeyword("anti") ? "left_anti" : (this.acceptKeyword("outer"), "left_outer");
    else if (this.acceptKeyword("right")) how = (this.acceptKeyword("outer"), "right_outer");
    else if (this.acceptKeyword("full")) how = (this.acceptKeyword("outer"), "full_outer");
    if (how === undefined) return undefined;
    if (!this.acceptKeyword("join")) {
      this.index = start;
      throw this.unexpected(this.tokens[start + 1] ?? this.peek(), "expected JOIN");
    }
    return how;
  }

  private parsePrimaryRelation(): Relation {
    const token = this.peek();
    if (this.acceptOperator("(")) {
      const query = this.parseQuery();
      this.expectOperator(")");
      return { kind: "subquery", query, alias: this.parseRelationAlias(), position: token.position };
    }
    if (token.kind !== "identifier" || (!token.quoted && CLAUSE_KEYWORDS.has(token.text.toLowerCase()))) {
      throw this.unexpected(token, "expected a view name or a subquery in FROM");
    }
    this.next();
    let name = token.text;
    while (this.acceptOperator(".")) name += `.${this.expectName("a name after '.'")}`;
    return { kind: "table", name, alias: this.parseRelationAlias(), position: token.position };
  }

  private parseRelationAlias(): string | undefined {
    const alias = this.parseAlias();
    if (alias !== undefined && this.isOperator(this.peek(), "(")) throw this.unexpected(this.peek(), "column aliases after a table alias are not supported; expected");
    return alias;
  }

  // ---- GROUP BY, ORDER BY, LIMIT ----

  private parseGroupBy(): GroupBy {
    this.expectKeyword("group");
    this.expectKeyword("by");
    const kind = this.groupingFunction();
    if (kind !== undefined) {
      this.next();
      this.expectOperator("(");
      const keys = [this.located(() => this.parseExpression())];
      while (this.acceptOperator(",")) keys.push(this.located(() => this.parseExpression()));
      this.expectOperator(")");
      return { grouping: kind, keys };
    }
    const keys = [this.located(() => this.parseExpression())];
    while (this.acceptOperator(",")) keys.push(this.located(() => this.parseExpression()));
    let grouping: GroupingKind = "groupBy";
    if (this.acceptKeyword("with")) {
      if (this.acceptKeyword("cube")) grouping = "cube";
      else if (this.acceptKeyword("rollup")) grouping = "rollup";
      else throw this.unexpected(this.peek(), "expected CUBE or ROLLUP after WITH");
    }
    return { grouping, keys };
  }

  /** `GROUP BY CUBE(a, b)` / `ROLLUP(a, b)`; GROUPING SETS is refused by name. */
  private groupingFunction(): GroupingKind | undefined {
    const token = this.peek();
    const following = this.tokens[this.index + 1];
    if (this.isKeyword(token, "grouping") && following && this.isKeyword(following, "sets")) {
      throw this.errorAt(this.text, token.position, "GROUPING SETS is not supported", "Use GROUP BY CUBE(...) or ROLLUP(...), or a UNION ALL of GROUP BYs.");
    }
    if (!following || !this.isOperator(following, "(")) return undefined;
    if (this.isKeyword(token, "cube")) return "cube";
    if (this.isKeyword(token, "rollup")) return "rollup";
    return undefined;
  }

  private parseOrderBy(): OrderItem[] {
    const token = this.peek();
    if (!this.isKeyword(token, "order") && !this.isKeyword(token, "sort")) return [];
    this.next();
    this.expectKeyword("by");
    const items = [this.parseOrderItem()];
    while (this.acceptOperator(",")) items.push(this.parseOrderItem());
    return items;
  }

  /** Spark's defaults: ascending puts nulls first, descending last. */
  private parseOrderItem(): OrderItem {
    const position = this.peek().position;
    const expr = this.parseExpression();
    const descending = this.acceptKeyword("desc") ? true : (this.acceptKeyword("asc"), false);
    let nullsFirst = !descending;
    if (this.acceptKeyword("nulls")) {
      if (this.acceptKeyword("first")) nullsFirst = true;
      else if (this.acceptKeyword("last")) nullsFirst = false;
      else throw this.unexpected(this.peek(), "expected FIRST or LAST after NULLS");
    }
    return { expr, descending, nullsFirst, position };
  }

  private parseLimit(): number | undefined {
    if (!this.acceptKeyword("limit")) return undefined;
    const token = this.next();
    if (this.isKeyword(token, "all")) return undefined;
    if (token.kind !== "number" || token.isDouble || typeof token.value !== "number" || token.value < 0) {
      throw this.unexpected(token, "expected a non-negative integer after LIMIT");
    }
    return token.value;
  }

  // ---- helpers ----

  private located<T>(parse: () => T): Located<T> {
    const position = this.peek().position;
    return { value: parse(), position };
  }

  /** `SELECT FROM t`: a clause keyword where an expression should be. */
  private refuseKeywordAsExpression(token: Token, what: string): void {
    if (token.kind === "identifier" && !token.quoted && CLAUSE_STARTS.has(token.text.toLowerCase())) throw this.unexpected(token, `expected ${what}`);
  }

  /** A statement that breaks right after a bare alias: the alias was more likely a misspelt keyword (`SELECT a FORM t`). */
  protected unexpectedAfterAlias(token: Token): Error {
    const alias = this.lastBareAlias;
    const previous = this.tokens[this.index - 1];
    if (alias && previous === alias && alias.kind === "identifier" && !alias.quoted) {
      const suggestion = closestName(alias.text, HINT_KEYWORDS);
      if (suggestion !== undefined) return this.errorAt(this.text, alias.position, `unexpected identifier '${alias.text}'`, `Did you mean '${suggestion.toUpperCase()}'?`);
    }
    return this.unexpected(token);
  }
}
