// The scalar function table: math, null handling and conditionals here, string and time functions beside it.
import { AnalysisError } from "../core/errors.ts";
import { doubleToLongValue, longOfBigInt } from "../core/long.ts";
import { isIntegral, type DataType } from "../core/types.ts";
import { asBoolean, asNumber, coerceTo, commonType } from "./coerce.ts";
import { argumentAt, isMissing, type Compiled, type CompiledValue, type Evaluator, type ScalarFunction } from "./compiled.ts";
import { COLLECTION_FUNCTIONS } from "./collection-functions.ts";
import { DATETIME_FUNCTIONS } from "./datetime-functions.ts";
import { JSON_FUNCTIONS } from "./json-functions.ts";
import { paramFunction } from "./param-function.ts";
import { STRING_FUNCTIONS } from "./string-functions.ts";

type NumberMap = (value: number) => number | null;

/** A one-argument math function; `keepLong` keeps an integral argument's type (abs; an int wraps as Java's does), otherwise the result is `type`. */
function math1(map: NumberMap, type: "double" | "long", keepLong = false): ScalarFunction {
  return {
    minArgs: 1,
    maxArgs: 1,
    compile: (args, site) => {
      const arg = argumentAt(args, 0);
      const value = asNumber(arg, site.text);
      const wrapsInt = keepLong && arg.type === "int";
      if (keepLong && arg.type === "long") {
        // abs of a long past 2^53 (a bigint) stays exact.
        const raw = arg.evaluate;
        return {
          evaluate: (row) => {
            const v = raw(row);
            if (isMissing(v)) return null;
            return typeof v === "bigint" ? longOfBigInt(v < 0n ? -v : v) : map(v as number);
          },
          type: "long",
          nullable: true,
        };
      }
      return {
        evaluate: wrapsInt
          ? (row) => {
            const v = value(row);
            return isMissing(v) ? null : (map(v as number) as number) | 0;
          }
          : (row) => {
            const v = value(row);
            return isMissing(v) ? null : map(v as number);
          },
        type: keepLong && isIntegral(arg.type) ? arg.type : type,
        nullable: true,
      };
    },
  };
}

function math2(map: (a: number, b: number) => number | null): ScalarFunction {
  return {
    minArgs: 2,
    maxArgs: 2,
    compile: (args, site) => numeric2(args, site.text, map),
  };
}

function numeric2(args: readonly Compiled[], text: string, map: (a: number, b: number) => number | null): CompiledValue {
  const left = asNumber(argumentAt(args, 0), text);
  const right = asNumber(argumentAt(args, 1), text);
  return {
    evaluate: (row) => {
      const a = left(row);
      if (isMissing(a)) return null;
      const b = right(row);
      return isMissing(b) ? null : map(a as number, b as number);
    },
    type: "double",
    nullable: true,
  };
}

function naturalLog(value: number): number | null {
  return value <= 0 ? null : Math.log(value);
}

/** log(x) is ln(x); log(base, x) as Spark: null for a non-positive base or argument. */
const log: ScalarFunction = {
  minArgs: 1,
  maxArgs: 2,
  compile: (args, site) => {
    if (args.length === 1) return math1(naturalLog, "double").compile(args, site);
    return numeric2(args, site.text, (base, value) => (base <= 0 || value <= 0 ? null : Math.log(value) / Math.log(base)));
  },
};

/** Moves the decimal point by `places` through the decimal text, so 2.675 shifted by 2 is exactly 267.5. */
function shiftDecimal(value: number, places: number): number {
  const [mantissa = "0", exponent = "0"] = String(value).split("e");
  return Number(`${mantissa}e${Number(exponent) + places}`);
}

/** Spark's round: HALF_UP on the decimal value (2.675 -> 2.68, -2.5 -> -3), not on the binary double. */
export function roundHalfUp(value: number, scale: number): number {
  if (!Number.isFinite(value)) return value;
  const rounded = Math.floor(shiftDecimal(Math.abs(value), scale) + 0.5);
  if (rounded === 0) return 0;
  return Math.sign(value) * shiftDecimal(rounded, -scale);
}

/** round(x[, scale]): the scale must be an integer literal, as in Spark. */
const round: ScalarFunction = {
  minArgs: 1,
  maxArgs: 2,
  compile: (args, site) => {
    const scaleExpr = site.args[1];
    let scale = 0;
    if (scaleExpr !== undefined) {
      if (scaleExpr.kind !== "literal" || !isIntegral(scaleExpr.type)) {
        throw new AnalysisError(`The scale of '${site.text}' must be an integer literal`);
      }
      scale = scaleExpr.value as number;
    }
    const arg = argumentAt(args, 0);
    const value = asNumber(arg, site.text);
    const keepsValue = isIntegral(arg.type) && scale >= 0;
    return {
      evaluate: keepsValue ? arg.evaluate : (row) => {
        const v = value(row);
        return isMissing(v) ? null : roundHalfUp(v as number, scale);
      },
      type: isIntegral(arg.type) ? arg.type : "double",
      nullable: arg.nullable || !isIntegral(arg.type),
    };
  },
};

/** The arguments coerced to their common type, for functions whose result is one of them. */
function coerceAll(args: readonly Compiled[], text: string): { type: DataType; values: Evaluator[] } {
  const type = commonType(args, text);
  return { type, values: args.map((arg) => coerceTo(arg, type, text)) };
}

const coalesce: ScalarFunction = {
  minArgs: 1,
  maxArgs: Number.POSITIVE_INFINITY,
  compile: (args, site) => {
    const { type, values } = coerceAll(args, site.text);
    return {
      evaluate: (row) => {
        for (const value of values) {
          const v = value(row);
          if (!isMissing(v)) return v;
        }
        return null;
      },
      type,
      nullable: args.every((arg) => arg.nullable),
    };
  },
};

/** greatest / least: skip nulls; null only when every argument is null. */
function extreme(wantGreater: boolean): ScalarFunction {
  return {
    minArgs: 2,
    maxArgs: Number.POSITIVE_INFINITY,
    compile: (args, site) => {
      const { type, values } = coerceAll(args, site.text);
      return {
        evaluate: (row) => {
          let best: unknown = null;
          for (const value of values) {
            const v = value(row);
            if (isMissing(v)) continue;
            // NaN is greater than every other double, as Spark orders it (v !== v only for NaN).
            if (best === null || (wantGreater ? (v as number) > (best as number) || (v !== v && best === best) : (v as number) < (best as number) || (best !== best && v === v))) best = v;
          }
          return best;
        },
        type,
        nullable: args.every((arg) => arg.nullable),
      };
    },
  };
}

function nullTest(wantNull: boolean): ScalarFunction {
  return {
    minArgs: 1,
    maxArgs: 1,
    compile: (args) => {
      const evaluate = argumentAt(args, 0).evaluate;
      return { evaluate: (row) => isMissing(evaluate(row)) === wantNull, type: "boolean", nullable: false };
    },
  };
}

/** if(condition, a, b): b when the condition is false or null. */
const ifFunction: ScalarFunction = {
  minArgs: 3,
  maxArgs: 3,
  compile: (args, site) => {
    const condition = asBoolean(argumentAt(args, 0), site.text);
    const { type, values } = coerceAll(args.slice(1), site.text);
    const [whenTrue = () => null, whenFalse = () => null] = values;
    return {
      evaluate: (row) => (condition(row) === true ? whenTrue(row) : whenFalse(row)),
      type,
      nullable: argumentAt(args, 1).nullable || argumentAt(args, 2).nullable,
    };
  },
};

/** floor / ceil give a long, as in Spark; a long argument is returned as it is. */
function toLong(map: (value: number) => number): ScalarFunction {
  // `+ 0` turns -0 into 0: a long has no negative zero.
  return math1((value) => doubleToLongValue(map(value)) as number | null, "long");
}

const MATH_FUNCTIONS: ReadonlyArray<readonly [string, ScalarFunction]> = [
  ["abs", math1(Math.abs, "double", true)],
  ["sqrt", math1(Math.sqrt, "double")],
  ["exp", math1(Math.exp, "double")],
  ["ln", math1(naturalLog, "double")],
  ["log", log],
  ["pow", math2(Math.pow)],
  ["power", math2(Math.pow)],
  ["round", round],
  ["floor", toLong(Math.floor)],
  ["ceil", toLong(Math.ceil)],
  ["ceiling", toLong(Math.ceil)],
  ["greatest", extreme(true)],
  ["least", extreme(false)],
  ["coalesce", coalesce],
  ["nvl", { ...coalesce, minArgs: 2, maxArgs: 2 }],
  ["ifnull", { ...coalesce, minArgs: 2, maxArgs: 2 }],
  ["isnull", nullTest(true)],
  ["isnotnull", nullTest(false)],
  ["if", ifFunction],
  ["param", paramFunction],
];

/** Every scalar function by lower-case name. Aggregates (ast.ts AGGREGATE_FUNCTIONS) are the planner's. */
export const SCALAR_FUNCTIONS: ReadonlyMap<string, ScalarFunction> = new Map([
  ...MATH_FUNCTIONS, ...STRING_FUNCTIONS, ...DATETIME_FUNCTIONS, ...COLLECTION_FUNCTIONS, ...JSON_FUNCTIONS,
]);
