// Analysis of withWatermark, dropDuplicates and the *GroupsWithState operators: event time and the keyed state it bounds.
import { parseDuration } from "../core/duration.ts";
import { AnalysisError } from "../core/errors.ts";
import { resolveColumn } from "../expr/compile.ts";
import { ROW_KEY } from "../actors/sink-actor.ts";
import { DeduplicateOperator } from "../operators/deduplicate.ts";
import { groupStatePositionalInput } from "../operators/group-state-positional.ts";
import { PositionalDeduplicateOperator } from "../operators/deduplicate-positional.ts";
import { GroupStateOperator } from "../operators/group-state.ts";
import { MapOperator } from "../operators/map.ts";
import { WatermarkOperator } from "../operators/watermark.ts";
import { PositionalWatermarkOperator } from "../operators/watermark-positional.ts";
import type { DeduplicateNode, GroupStateNode, WatermarkNode } from "./logical.ts";
import { extend, hasWatermark, type Analysis, type AnalysisOptions, type PositionalStep } from "./steps.ts";

export function analyzeWatermark(node: WatermarkNode, child: Analysis, options: AnalysisOptions): Analysis {
  const field = resolveColumn(child.schema, node.column, `withWatermark("${node.column}", "${node.delay}")`);
  if (field.type !== "timestamp" && field.type !== "any") {
    throw new AnalysisError(`withWatermark("${node.column}", ...) needs a timestamp column, but ${field.name} is ${field.type}. Convert it first, e.g. selectExpr("*", "cast(cast(Creation_Time as double)/1000000000 as timestamp) as event_time").`);
  }
  // As in Spark, a month of delay counts as 31 days, and a negative delay is refused.
  const delayMs = parseDuration(node.delay, `withWatermark("${node.column}", delay)`, { months: "31 days" });
  const stateId = `watermark-${child.statefulCount}`;
  const column = field.name;
  // A withWatermark after another one: the watermark is their minimum (or maximum), as Spark's global watermark is.
  const combine = hasWatermark(child) ? (options.multipleWatermarkPolicy ?? "min") : undefined;
  // By position the rows pass unchanged; the named operator keeps the state (keyed rows carry ROW_KEY: they stay named).
  const names = child.schema.fields.map((input) => input.name);
  const timeIndex = child.schema.fields.indexOf(field);
  const positional: PositionalStep | undefined = child.keyed || timeIndex < 0 ? undefined : { inputColumns: names, outputColumns: names, create: (id) => new PositionalWatermarkOperator(id, timeIndex) };
  return extend(child, {
    kind: "stateless",
    name: "watermark",
    detail: `${column} minus ${delayMs} ms`,
    stateId,
    signature: `watermark on ${column}`,
    create: (id, partition) => new WatermarkOperator(id, { column, delayMs, maxFutureMs: options.maxFutureMs, stateId, partition, combine }),
    ...(positional ? { positional } : {}),
  }, child.schema, { eventTime: { column, delayMs }, statefulCount: child.statefulCount + 1 });
}

export function analyzeDeduplicate(node: DeduplicateNode, child: Analysis): Analysis {
  const operation = node.withinWatermark ? "dropDuplicatesWithinWatermark" : "dropDuplicates";
  if (child.keyed) throw new AnalysisError(`${operation}() after an aggregation in update or complete mode is not supported: its rows are updates of one result row, not new records.`);
  const keyColumns = node.columns === undefined ? child.schema.fields.map((field) => field.name) : node.columns.map((name) => resolveColumn(child.schema, name, `${operation}(...)`).name);
  const eventTime = child.eventTime;
  if (node.withinWatermark && !eventTime) throw new AnalysisError(`${operation}() needs a watermark: call withWatermark(column, delay) before it; duplicates are dropped within the delay.`);
  const bounded = eventTime !== undefined && (node.withinWatermark || keyColumns.includes(eventTime.column));
  // As in Spark, a watermark makes rows late whatever the key; only a key with the event time (or within-watermark) expires.
  const eventTimeColumn = eventTime?.column;
  const keepForMs = node.withinWatermark ? (eventTime?.delayMs ?? 0) : 0;
  const stateId = `deduplicate-${child.statefulCount}`;
  const names = child.schema.fields.map((field) => field.name);
  // By position the rows pass unchanged, the key and event time read by index; the named operator keeps the state.
  const readable = [...keyColumns, ...(eventTimeColumn === undefined ? [] : [eventTimeColumn])].every((column) => names.includes(column));
  const positional: PositionalStep | undefined = readable ? { inputColumns: names, outputColumns: names, create: (id) => new PositionalDeduplicateOperator(id, names, keyColumns, eventTimeColumn) } : undefined;
  return extend(child, {
    kind: "keyed",
    name: "deduplicate",
    detail: `keys [${keyColumns.join(", ")}]${bounded ? `, state kept until the watermark passes ${eventTimeColumn}${keepForMs > 0 ? ` + ${keepForMs} ms` : ""}` : ", state unbounded (no watermark on a key column)"}`,
    exchangeColumns: keyColumns,
    stateId,
    signature: `${operation} by [${keyColumns.join(", ")}]`,
    stateSchema: `keys [${keyColumns.map((name) => `${name}: ${child.schema.fields.find((field) => field.name === name)?.type ?? "?"}`).join(", ")}]`,
    create: (id) => new DeduplicateOperator(id, { keyColumns, eventTimeColumn, expires: bounded, keepForMs, stateId }),
    ...(positional ? { positional } : {}),
  }, child.schema, { statefulCount: child.statefulCount + 1 });
}

/** mapGroupsWithState / flatMapGroupsWithState: keyed by the user's key function, hashed over the partitions. */
export function analyzeGroupState(node: GroupStateNode, child: Analysis, options: AnalysisOptions): Analysis {
  const operation = node.single ? "mapGroupsWithState" : "flatMapGroupsWithState";
  checkGroupStateModes(node, child, options);
  if (node.timeout === "eventTime" && !child.eventTime) throw new AnalysisError(`${operation}() with an eventTime timeout needs a watermark: call withWatermark(column, delay) before groupByKey().`);
  const keyFn = node.keyFn;
  // Spark drops rows older than the watermark before the function only with an eventTime timeout.
  const eventTimeColumn = node.timeout === "eventTime" ? child.eventTime?.column : undefined;
  // Update mode replaces a key's earlier rows; in append mode (also before an aggregation) every row is new.
  const updates = node.outputMode === "update";
  const stateId = `group-state-${child.statefulCount}`;
  const fn = node.fn;
  const withKey = extend(child, {
    kind: "stateless",
    name: "map",
    detail: "group key",
    create: (id) => new MapOperator(id, (row) => ({ ...row, [GROUP_KEY]: String(keyFn(row)) })),
  }, child.schema);
  return extend(withKey, {
    kind: "keyed",
    name: "group-state",
    detail: `${operation}, timeout ${node.timeout}`,
    exchangeColumns: [GROUP_KEY],
    stateId,
    signature: `${operation} with ${node.timeout} timeout`,
    create: (id) => new GroupStateOperator(id, { keyColumn: GROUP_KEY, fn, timeout: node.timeout, rowKeyColumn: updates ? ROW_KEY : undefined, stateId, eventTimeColumn }),
    // Its input by position: the rows as the key function's map writes them, the schema's fields then the group key.
    ...(child.keyed ? {} : { positionalInput: groupStatePositionalInput([...child.schema.fields.map((field) => field.name), GROUP_KEY], GROUP_KEY, eventTimeColumn) }),
  }, node.schema, { keyed: updates, eventTime: undefined, statefulCount: child.statefulCount + 1 });
}

/**
 * Spark's UnsupportedOperationChecker rules: mapGroupsWithState only in update mode and with no aggregation in the
 * query; flatMapGroupsWithState's mode equals the query's when there is no aggregation, and is append when an
 * aggregation follows it (the aggregation then decides the query's modes); neither comes after an aggregation.
 */
function checkGroupStateModes(node: GroupStateNode, child: Analysis, options: AnalysisOptions): void {
  const operation = node.single ? "mapGroupsWithState" : "flatMapGroupsWithState";
  const declared: string = node.outputMode;
  const query = options.outputMode;
  if (declared !== "append" && declared !== "update") throw new AnalysisError(`${operation}() takes the output mode "append" or "update", not "${declared}" (as in Spark).`);
  if (child.hasAggregate) throw new AnalysisError(`${operation}() after an aggregation is not supported on a streaming DataFrame (as in Spark). Put it before the aggregation.`);
  if (node.single) {
    if (options.queryHasAggregate) throw new AnalysisError("mapGroupsWithState() is not supported with an aggregation on a streaming DataFrame (as in Spark). Use flatMapGroupsWithState(\"append\", ...) before the aggregation.");
    if (query !== "update") throw new AnalysisError(`mapGroupsWithState() supports only the update output mode (as in Spark); the query uses ${query}. Use outputMode("update"), or flatMapGroupsWithState() for append.`);
    return;
  }
  if (options.queryHasAggregate) {
    if (declared === "update") throw new AnalysisError("flatMapGroupsWithState() in update mode is not supported with an aggregation on a streaming DataFrame (as in Spark): the aggregation would count a key's replaced rows again. Declare it flatMapGroupsWithState(\"append\", ...).");
    return;
  }
  if (declared !== query) {
    const fix = query === "complete" ? "Complete mode needs an aggregation; write flatMapGroupsWithState's rows in append or update mode" : `Use outputMode("${declared}") or declare flatMapGroupsWithState("${query}", ...)`;
    throw new AnalysisError(`flatMapGroupsWithState() in ${declared} mode is not supported with the ${query} output mode on a streaming DataFrame (as in Spark). ${fix}.`);
  }
}

const GROUP_KEY = "__rill_group_key";
