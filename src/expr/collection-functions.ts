// Array and struct functions: size, array, struct, named_struct, element_at, split, array_contains; Spark's null rules.
import { AnalysisError } from "../core/errors.ts";
import { nestedOf, type Field } from "../core/types.ts";
import { GET_ITEM } from "./ast.ts";
import { asNumber, asString, coerceTo, commonType } from "./coerce.ts";
import { argumentAt, constantValue, isMissing, type Compiled, type ScalarFunction } from "./compiled.ts";
import { compileRegex, regexCache } from "./regex.ts";

/** The element field of an array (Spark's ArrayType(elementType, containsNull)). */
export function elementField(type: Compiled["type"], nullable: boolean, nested: Partial<Field> = {}): Field {
  return { name: "element", type, nullable, ...nestedOf(nested) };
}

/** size(x): the length of an array (or map); -1 for null, Spark's default (spark.sql.legacy.sizeOfNull=true). */
const size: ScalarFunction = {
  minArgs: 1,
  maxArgs: 1,
  compile: (args, site) => {
    const arg = argumentAt(args, 0);
    if (arg.type !== "array" && arg.type !== "any" && arg.type !== "null") {
      throw new AnalysisError(`'${site.text}' needs an array or map, but ${arg.name} is ${arg.type}`);
    }
    const evaluate = arg.evaluate;
    return {
      evaluate: (row) => {
        const value = evaluate(row);
        if (isMissing(value)) return -1;
        if (Array.isArray(value)) return value.length;
        if (value instanceof Map) return value.size;
        return typeof value === "object" ? Object.keys(value).length : -1;
      },
      type: "int",
      nullable: false,
    };
  },
};

/** array(a, b, ...): the arguments in one array, coerced to their common type; null elements stay. */
const array: ScalarFunction = {
  minArgs: 0,
  maxArgs: Number.POSITIVE_INFINITY,
  compile: (args, site) => {
    const type = args.length === 0 ? "null" : commonType(args, site.text);
    const values = args.map((arg) => coerceTo(arg, type, site.text));
    const first = args[0];
    return {
      evaluate: (row) => values.map((value) => value(row)),
      type: "array",
      nullable: false,
      element: elementField(type === "null" ? "string" : type, args.some((arg) => arg.nullable), args.length === 1 && first !== undefined ? first : {}),
    };
  },
};

/** struct(a, b, ...): fields named after named arguments (columns, aliases), `colN` for the others, as Spark does. */
const struct: ScalarFunction = {
  minArgs: 1,
  maxArgs: Number.POSITIVE_INFINITY,
  compile: (args, site) => {
    const names = args.map((arg, index) => {
      const tree = site.args[index];
      return tree !== undefined && (tree.kind === "column" || tree.kind === "alias") ? arg.name : `col${index + 1}`;
    });
    return structOf(names, args);
  },
};

/** named_struct('a', x, 'b', y): names given as string literals. */
const namedStruct: ScalarFunction = {
  minArgs: 2,
  maxArgs: Number.POSITIVE_INFINITY,
  compile: (args, site) => {
    if (args.length % 2 !== 0) throw new AnalysisError(`'${site.text}' needs an even number of arguments: name, value, name, value, ...`);
    const names: string[] = [];
    const values: Compiled[] = [];
    for (let index = 0; index < args.length; index += 2) {
      const name = argumentAt(args, index);
      if (name.constant !== true || name.type !== "string") throw new AnalysisError(`The field names of '${site.text}' must be string literals`);
      names.push(constantValue(name) as string);
      values.push(argumentAt(args, index + 1));
    }
    return structOf(names, values);
  },
};

function structOf(names: readonly string[], args: readonly Compiled[]): ReturnType<ScalarFunction["compile"]> {
  // `out["__proto__"] = value` below would set the struct's prototype, not a field: the field would be lost.
  if (names.includes("__proto__")) throw new AnalysisError("A struct field named `__proto__` is not supported: structs are JavaScript objects, where that name is not a property. Give the field another name.");
  const evaluators = args.map((arg) => arg.evaluate);
  const fields: Field[] = args.map((arg, index) => ({ name: names[index] as string, type: arg.type, nullable: arg.nullable, ...nestedOf(arg) }));
  return {
    evaluate: (row) => {
      const out: Record<string, unknown> = {};
      for (let index = 0; index < evaluators.length; index++) out[names[index] as string] = (evaluators[index] as (row: unknown) => unknown)(row);
      return out;
    },
    type: "struct",
    nullable: false,
    fields,
  };
}

/** An array argument's element field, or an "any" element when the array's type is not known statically. */
function arrayArgument(arg: Compiled, text: string): Field {
  if (arg.type === "array") return arg.element ?? elementField("any", true);
  if (arg.type === "any" || arg.type === "null") return elementField("any", true);
  throw new AnalysisError(`'${text}' needs an array, but ${arg.name} is ${arg.type}`);
}

/** element_at(array, n): 1-based, negative from the end; null when out of range (Spark without ANSI). */
const elementAt: ScalarFunction = {
  minArgs: 2,
  maxArgs: 2,
  compile: (args, site) => itemAccess(args, site.text, true),
};

/** get(array, n) and Column.getItem(n): 0-based; null when out of range. */
const getItem: ScalarFunction = {
  minArgs: 2,
  maxArgs: 2,
  compile: (args, site) => itemAccess(args, site.text, false),
};

function itemAccess(args: readonly Compiled[], text: string, oneBased: boolean): ReturnType<ScalarFunction["compile"]> {
  const arrayArg = argumentAt(args, 0);
  const element = arrayArgument(arrayArg, text);
  const values = arrayArg.evaluate;
  const index = asNumber(argumentAt(args, 1), text);
  return {
    evaluate: (row) => {
      const list = values(row);
      const at = index(row);
      if (!Array.isArray(list) || isMissing(at)) return null;
      const position = Math.trunc(at as number);
      if (oneBased && position === 0) throw new AnalysisError(`SQL array indices start at 1 in '${text}'`);
      const offset = oneBased ? (position > 0 ? position - 1 : list.length + position) : position;
      const item: unknown = list[offset];
      return item === undefined ? null : item;
    },
    type: element.type,
    nullable: true,
    ...nestedOf(element),
  };
}

/** array_contains(array, value): null if the array is null, or if the value is not found and the array has a null. */
const arrayContains: ScalarFunction = {
  minArgs: 2,
  maxArgs: 2,
  compile: (args, site) => {
    const values = argumentAt(args, 0).evaluate;
    arrayArgument(argumentAt(args, 0), site.text);
    const probe = argumentAt(args, 1).evaluate;
    return {
      evaluate: (row) => {
        const list = values(row);
        const wanted = probe(row);
        if (!Array.isArray(list) || isMissing(wanted)) return null;
        if (list.includes(wanted)) return true;
        return list.some(isMissing) ? null : false;
      },
      type: "boolean",
      nullable: true,
    };
  },
};

/**
 * split(str, regex[, limit]): Java's String.split with Spark's limit (<= 0: no limit, trailing empty strings kept),
 * matched by RE2 (linear time). A literal separator compiles once; one read from a record is cached, and an invalid
 * one is a RecordError, which sends that record to the dead letter.
 */
const split: ScalarFunction = {
  minArgs: 2,
  maxArgs: 3,
  compile: (args, site) => {
    const text = asString(argumentAt(args, 0), site.text);
    const pattern = asString(argumentAt(args, 1), site.text);
    const limit = args.length === 3 ? asNumber(argumentAt(args, 2), site.text) : () => -1;
    const patternArg = argumentAt(args, 1);
    const literal = patternArg.constant === true ? constantValue(patternArg) : undefined;
    const fixed = typeof literal === "string" ? compileRegex(literal, site.text) : undefined;
    const lookup = regexCache(site.text);
    return {
      evaluate: (row) => {
        const value = text(row);
        const regex = pattern(row);
        const most = limit(row);
        if (isMissing(value) || isMissing(regex) || isMissing(most)) return null;
        const wanted = Math.trunc(most as number);
        // An empty pattern splits into characters with no trailing empty string (Spark's UTF8String.split), unless
        // the text is empty; with a limit the last part holds the rest.
        if (regex === "" && value !== "") {
          const characters = Array.from(value as string);
          const parts = wanted > 0 && wanted < characters.length ? wanted : characters.length;
          return [...characters.slice(0, parts - 1), characters.slice(parts - 1).join("")];
        }
        const compiled = fixed ?? lookup(regex as string);
        return compiled.split(value as string, wanted > 0 ? wanted : -1);
      },
      type: "array",
      nullable: true,
      element: elementField("string", false),
    };
  },
};

export const COLLECTION_FUNCTIONS: ReadonlyArray<readonly [string, ScalarFunction]> = [
  ["size", size],
  ["cardinality", size],
  ["array", array],
  ["struct", struct],
  ["named_struct", namedStruct],
  ["element_at", elementAt],
  ["get", getItem],
  [GET_ITEM, getItem],
  ["array_contains", arrayContains],
  ["split", split],
];
