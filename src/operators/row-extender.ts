// Copies of a row with one column set, as `{ ...row, [column]: value }` gives them, built from a template per key set.
import type { Row } from "../core/types.ts";

/**
 * `extend(row, value)` returns a new row: the row's keys in their order, then `column` (or `column` where the row has
 * it), with `value` there. V8 builds `{ ...row, [column]: value }` by copying the row and then adding a property to
 * the copy, a slow path that took 850 bytes and several microseconds a row (bench/micro/window-copy.ts); this clones a
 * template of the row's shape, which V8 does in one allocation, and stores the values. The template is rebuilt when a
 * row's keys differ from the last one's (checked per row, in order), so any row gives the same result as the spread.
 */
export function rowExtender(column: string): (row: Row, value: unknown) => Row {
  let keys: string[] = [];
  let template: Row | undefined;
  const sameKeys = (row: Row): boolean => {
    let index = 0;
    for (const key in row) {
      if (keys[index] !== key) return false;
      index++;
    }
    return index === keys.length;
  };
  return (row, value) => {
    if (template === undefined || !sameKeys(row)) {
      keys = Object.keys(row);
      // Every key is the template's own data property, so storing into the clone never reaches a setter ('__proto__').
      template = { ...row, [column]: null };
    }
    const out: Row = { ...template };
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index] as string;
      out[key] = row[key];
    }
    out[column] = value;
    return out;
  };
}
