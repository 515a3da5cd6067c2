// The statements of a .sql pipeline file: sources as temporary views (USING ... OPTIONS), views over queries, sinks as
// tables (USING ... OPTIONS) and INSERT INTO a sink. Queries inside are the statement grammar's own.
import type { Query } from "./ast.ts";
import { StatementParser } from "./parser.ts";

/** `CREATE [OR REPLACE] TEMPORARY VIEW name [(a INT, b STRING)] USING format [OPTIONS (key 'value', ...)]`. */
export interface CreateSourceView {
  readonly kind: "source";
  readonly name: string;
  /** OR REPLACE: an existing view of that name is replaced instead of refused. */
  readonly replace: boolean;
  /** The column list as DDL text (`a INT, b STRING`), for sources that need a schema. */
  readonly columns: string | undefined;
  readonly format: string;
  readonly options: ReadonlyMap<string, string>;
  readonly position: number;
}

/** `CREATE [OR REPLACE] TEMPORARY VIEW name AS query`. */
export interface CreateQueryView {
  readonly kind: "view";
  readonly name: string;
  readonly replace: boolean;
  readonly query: Query;
  readonly position: number;
}

/** `CREATE TABLE name USING format [OPTIONS (...)]`: a sink, with writeStream's options (outputMode, trigger, checkpointLocation). */
export interface CreateSinkTable {
  readonly kind: "sink";
  readonly name: string;
  readonly format: string;
  readonly options: ReadonlyMap<string, string>;
  readonly position: number;
}

/** `INSERT INTO [TABLE] name query`: starts a streaming query from the query into the sink. */
export interface InsertInto {
  readonly kind: "insert";
  readonly table: string;
  readonly query: Query;
  readonly position: number;
}

export type ScriptStatement = CreateSourceView | CreateQueryView | CreateSinkTable | InsertInto;

/**
 * Parses a .sql pipeline file: statements separated by `;`.
 * @throws ParseError with the line and column in the file.
 */
export function parseSqlScript(text: string): ScriptStatement[] {
  return new ScriptParser(text).parseScript();
}

class ScriptParser extends StatementParser {
  parseScript(): ScriptStatement[] {
    const statements: ScriptStatement[] = [];
    while (this.acceptOperator(";")) continue;
    while (this.peek().kind !== "eof") {
      statements.push(this.parseScriptStatement());
      const after = this.peek();
      if (after.kind !== "eof" && !this.acceptOperator(";")) throw this.unexpectedAfterAlias(after);
      while (this.acceptOperator(";")) continue;
    }
    if (statements.length === 0) throw this.errorAt(this.text, this.peek().position, "the file has no statements", "Define sources with CREATE TEMPORARY VIEW ... USING, sinks with CREATE TABLE ... USING, and start queries with INSERT INTO.");
    return statements;
  }

  private parseScriptStatement(): ScriptStatement {
    const start = this.peek();
    if (this.acceptKeyword("insert")) {
      this.expectKeyword("into");
      this.acceptKeyword("table");
      return { kind: "insert", table: this.expectName("a table name after INSERT INTO"), query: this.parseQuery(), position: start.position };
    }
    if (!this.acceptKeyword("create")) throw this.unexpected(start, "expected CREATE or INSERT");
    const replace = this.acceptKeyword("or");
    if (replace) this.expectKeyword("replace");
    if (this.acceptKeyword("table")) {
      const name = this.expectName("a table name");
      this.expectKeyword("using");
      return { kind: "sink", name, format: this.expectName("a sink format after USING"), options: this.parseOptions(), position: start.position };
    }
    if (!this.acceptKeyword("temporary") && !this.acceptKeyword("temp")) throw this.unexpected(this.peek(), "expected TEMPORARY VIEW or TABLE after CREATE");
    this.expectKeyword("view");
    const name = this.expectName("a view name");
    if (this.acceptKeyword("as")) return { kind: "view", name, replace, query: this.parseQuery(), position: start.position };
    const columns = this.isOperator(this.peek(), "(") ? this.parenthesisedText() : undefined;
    this.expectKeyword("using");
    return { kind: "source", name, replace, columns, format: this.expectName("a source format after USING"), options: this.parseOptions(), position: start.position };
  }

  /** `OPTIONS (key 'value', other.key = 10, flag true)`; keys keep their case, values are text. */
  private parseOptions(): Map<string, string> {
    const options = new Map<string, string>();
    if (!this.acceptKeyword("options")) return options;
    this.expectOperator("(");
    do {
      const keyToken = this.next();
      let key: string;
      if (keyToken.kind === "string") key = keyToken.value;
      else if (keyToken.kind === "identifier") key = keyToken.text;
      else throw this.unexpected(keyToken, "expected an option name");
      while (keyToken.kind === "identifier" && this.acceptOperator(".")) key += `.${this.expectName("an option name after '.'")}`;
      this.acceptOperator("=");
      const value = this.next();
      if (value.kind === "string") options.set(key, value.value);
      else if (value.kind === "number") options.set(key, value.text);
      else if (value.kind === "identifier") options.set(key, value.text);
      else throw this.unexpected(value, `expected a value for option '${key}'`);
    } while (this.acceptOperator(","));
    this.expectOperator(")");
    return options;
  }

  /** The raw text between a `(` and its matching `)`, for a column list given as DDL. */
  private parenthesisedText(): string {
    const open = this.next();
    let depth = 1;
    for (;;) {
      const token = this.next();
      if (token.kind === "eof") throw this.unexpected(token, "expected ')' to close the column list");
      if (this.isOperator(token, "(")) depth++;
      if (this.isOperator(token, ")") && --depth === 0) return this.text.slice(open.position + 1, token.position);
    }
  }
}
