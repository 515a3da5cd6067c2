// The Rill dashboard in the browser: a snapshot then live updates from /events, drawn with uPlot and SVG.
/* global document, window, EventSource, uPlot, setInterval, fetch */

const HISTORY = 600;
const queries = new Map();
const alertState = { firing: [], history: [] };

// `empty`: why a chart has nothing to draw (shown instead of bare axes); `zeroIsEmpty`: zeros alone are nothing to draw either.
const NO_EPOCH = "No epoch has completed yet.";
const CHARTS = [
  { key: "rates", title: "Rows per second", empty: NO_EPOCH, series: [["input", "inputRate", "#2563eb"], ["processed", "processedRate", "#16a34a"]] },
  { key: "latency", title: "Latency (ms)", empty: "No row has reached the sink yet.", series: [["p50", "p50", "#0891b2", 3], ["p99", "p99", "#d97706", 2], ["max", "max", "#dc2626", 1.5, [6, 4]]] },
  { key: "watermark", title: "Watermark lag (s)", empty: "No watermark: the query has no withWatermark, or no event time has arrived yet.", series: [["lag", "watermarkLag", "#7c3aed"]] },
  { key: "state", title: "State rows", empty: "No state: the query has no stateful operator (groupBy, dropDuplicates, ...).", series: [["state rows", "stateRows", "#475569"]] },
  { key: "epochs", title: "Epoch duration (ms)", empty: NO_EPOCH, series: [["duration", "durationMs", "#0f766e"]] },
  { key: "late", title: "Dead letters and late rows per epoch", empty: "No dead letters and no late rows so far.", zeroIsEmpty: true, series: [["dead letters", "deadLetters", "#be123c"], ["late rows", "dropped", "#a16207"]] },
];

const NUMBERS = [
  ["input-total", "input rows"], ["input-rate", "input rows/s"], ["processed-rate", "processed rows/s"],
  ["p50", "latency p50 ms"], ["p99", "latency p99 ms"], ["max", "latency max ms"],
  ["watermark", "watermark (UTC)"], ["watermark-lag", "watermark lag"], ["state-rows", "state rows"],
  ["dead-letters", "dead letters"], ["late-rows", "late rows (dropped)"], ["recoveries", "recoveries"],
];

function element(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function format(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString("en-US", { maximumFractionDigits: digits });
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const total = Math.max(0, Math.round(seconds));
  const parts = [[Math.floor(total / 86400), "d"], [Math.floor(total / 3600) % 24, "h"], [Math.floor(total / 60) % 60, "m"], [total % 60, "s"]];
  const shown = parts.filter(([amount], index) => amount > 0 || index === parts.length - 1).slice(0, 2);
  return shown.map(([amount, unit]) => `${amount}${unit}`).join(" ");
}

function clock(iso) {
  return iso ? new Date(iso).toISOString().slice(11, 19) : "–";
}

function setField(card, field, value, text) {
  const node = card.querySelector(`[data-field="${field}"]`);
  if (!node) return;
  node.textContent = text ?? format(value);
  node.setAttribute("data-value", value === null || value === undefined ? "" : String(value));
}

function createCard(view) {
  const card = element("section", { class: "panel query", "data-query-id": view.id, "data-query-name": view.name ?? view.id });
  const head = element("div", { class: "query-head" });
  head.append(element("h2", {}, view.name ?? "(unnamed query)"), element("span", { class: "badge", "data-field": "state" }), element("span", { class: "badge alert-badge", "data-field": "alerts", hidden: "" }), element("span", { class: "query-id" }, `id ${view.id}`));
  const status = element("div", { class: "status-line", "data-field": "status" });
  // The store-and-forward queue of an mqtt sink (sink.metrics of the progress): shown only for such a sink.
  const queue = element("div", { class: "status-line", "data-field": "sink-queue", hidden: "" });
  const numbers = element("div", { class: "numbers" });
  for (const [field, label] of NUMBERS) {
    const box = element("div", { class: "number" });
    box.append(element("div", { class: "label" }, label), element("div", { class: "value", "data-field": field }, "–"));
    numbers.append(box);
  }
  const charts = element("div", { class: "charts" });
  const lower = element("div", { class: "lower" });
  const planBox = element("div", {});
  planBox.append(element("h3", {}, "Plan: stages, actors and their subjects"), element("div", { class: "plan", "data-field": "plan" }));
  const checkpoints = element("div", {});
  checkpoints.append(element("h3", {}, "Checkpoints and epochs"), element("div", { class: "number" }), element("table", { class: "epochs" }), element("ul", { class: "recoveries" }));
  checkpoints.children[1].append(element("div", { class: "label" }, "checkpoint location"), element("div", { class: "value small", "data-field": "checkpoint" }, "–"));
  const workers = element("div", { class: "workers", hidden: "" });
  workers.append(element("h3", {}, "Workers"), element("table", { class: "workers" }));
  lower.append(planBox, checkpoints, workers);
  card.append(head, status, queue, numbers, charts, lower);
  document.getElementById("queries").append(card);
  const entry = { view, history: [], card, charts: new Map(), planKey: "" };
  for (const spec of CHARTS) {
    const holder = element("div", { class: "chart", "data-chart": spec.key, "data-points": "0" });
    charts.append(holder);
    entry.charts.set(spec.key, { spec, holder, plot: null });
  }
  return entry;
}

function chartData(history, spec) {
  return [history.map((point) => point.t / 1000), ...spec.series.map(([, field]) => history.map((point) => point[field]))];
}

function drawCharts(entry) {
  for (const chart of entry.charts.values()) {
    const data = chartData(entry.history, chart.spec);
    const width = Math.max(300, chart.holder.clientWidth - 8);
    if (!chart.plot) {
      chart.plot = new uPlot({
        title: chart.spec.title, width, height: 170,
        scales: { x: { time: true } },
        legend: { live: false },
        // Lines that coincide (p50 = p99 = max when an epoch has few rows) stay visible: wider below, dashed on top.
        series: [{}, ...chart.spec.series.map(([label, , color, width = 2, dash]) => ({ label, stroke: color, width, dash, spanGaps: true, points: { size: 5, fill: color } }))],
        axes: [{ stroke: "#64748b" }, { stroke: "#64748b", size: 60 }],
      }, data, chart.holder);
    } else {
      if (Math.abs(chart.plot.width - width) > 4) chart.plot.setSize({ width, height: 170 });
      chart.plot.setData(data);
    }
    chart.holder.setAttribute("data-points", String(entry.history.length));
    const hasData = data.slice(1).some((values) => values.some((value) => value !== null && value !== undefined && !(chart.spec.zeroIsEmpty && value === 0)));
    let note = chart.holder.querySelector(".chart-empty");
    if (!note) {
      note = element("p", { class: "chart-empty" });
      chart.holder.append(note);
    }
    note.textContent = entry.history.length === 0 ? NO_EPOCH : chart.spec.empty;
    note.hidden = hasData;
    chart.holder.setAttribute("data-empty", String(!hasData));
  }
}

function drawPlan(entry) {
  const plan = entry.view.plan;
  const key = JSON.stringify(plan);
  if (key === entry.planKey) return;
  entry.planKey = key;
  const holder = entry.card.querySelector('[data-field="plan"]');
  holder.replaceChildren();
  if (!plan) {
    holder.append(element("p", { class: "empty" }, "The plan appears with the query's first epoch."));
    return;
  }
  const stageWidth = 250, gap = 84, actorHeight = 36, stepHeight = 14;
  const stepCharacters = Math.floor((stageWidth - 20) / 5.6), subjectCharacters = Math.floor((stageWidth - 36) / 5.5);
  const fit = (text, characters) => (text.length > characters ? `${text.slice(0, characters - 1)}…` : text);
  const heights = plan.stages.map((stage) => 34 + Math.min(stage.steps.length, 5) * stepHeight + stage.actors.length * (actorHeight + 6) + 8);
  const height = Math.max(...heights, 60) + 10;
  const width = plan.stages.length * (stageWidth + gap) - gap + 10;
  const drawing = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "query plan" });
  const defs = svg("defs");
  const marker = svg("marker", { id: `arrow-${entry.view.id}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#475569" }));
  defs.append(marker);
  drawing.append(defs);
  plan.stages.forEach((stage, index) => {
    const x = 5 + index * (stageWidth + gap);
    const group = svg("g", { "data-stage": stage.id });
    group.append(svg("rect", { x, y: 5, width: stageWidth, height: heights[index], rx: 8, fill: "#f8fafc", stroke: "#94a3b8" }));
    group.append(svg("text", { x: x + 10, y: 24, "font-weight": 600, "font-size": 13 }, `${stage.id}  ×${stage.parallelism}`));
    let y = 24;
    for (const step of stage.steps.slice(0, 5)) {
      y += stepHeight;
      const line = svg("text", { x: x + 10, y, "font-size": 10, fill: "#475569" }, fit(step, stepCharacters));
      line.append(svg("title", {}, step));
      group.append(line);
    }
    y += 10;
    for (const actor of stage.actors) {
      group.append(svg("rect", { x: x + 10, y, width: stageWidth - 20, height: actorHeight, rx: 5, fill: "#e0f2fe", stroke: "#0284c7", "data-actor": actor.id }));
      group.append(svg("text", { x: x + 18, y: y + 15, "font-size": 11, "font-weight": 600 }, `actor ${actor.id}`));
      const subject = actor.subject ?? "";
      const subjectText = svg("text", { x: x + 18, y: y + 29, "font-size": 9, fill: "#334155", "font-family": "ui-monospace, monospace" }, subject.length > subjectCharacters ? `…${subject.slice(1 - subjectCharacters)}` : subject);
      subjectText.append(svg("title", {}, subject));
      group.append(subjectText);
      y += actorHeight + 6;
    }
    drawing.append(group);
    if (index < plan.stages.length - 1) {
      const middle = 5 + heights[index] / 2;
      drawing.append(svg("line", { x1: x + stageWidth, y1: middle, x2: x + stageWidth + gap - 2, y2: middle, stroke: "#475569", "stroke-width": 2, "marker-end": `url(#arrow-${entry.view.id})` }));
      const exchange = svg("text", { x: x + stageWidth + gap / 2, y: middle - 6, "font-size": 10, "text-anchor": "middle", fill: "#334155" }, fit(stage.exchange || "", 14));
      exchange.append(svg("title", {}, stage.exchange || ""));
      drawing.append(exchange);
    }
  });
  holder.append(drawing);
  if (plan.guarantee) holder.append(element("p", { class: "guarantee" }, plan.guarantee));
}

function drawCheckpoints(entry) {
  const view = entry.view;
  setField(entry.card, "checkpoint", view.checkpointLocation, view.checkpointLocation ?? "none: state is not persisted");
  const table = entry.card.querySelector("table.epochs");
  const rows = [["epoch", "ended", "rows", "duration ms", "since prev. ms"]];
  for (const epoch of [...view.epochs].reverse().slice(0, 12)) rows.push([String(epoch.epoch), clock(epoch.at), format(epoch.rows), format(epoch.durationMs), format(epoch.sincePreviousMs)]);
  table.replaceChildren(...rows.map((cells, index) => {
    const row = element("tr");
    row.append(...cells.map((cell) => element(index === 0 ? "th" : "td", {}, cell)));
    return row;
  }));
  const list = entry.card.querySelector("ul.recoveries");
  list.replaceChildren(...view.recoveryLog.map((recovery) => element("li", {}, `recovery ${recovery.recoveries}: rolled back to the last committed epoch, resumed at epoch ${recovery.epoch} (${clock(recovery.at)})`)));
}

function drawWorkers(entry) {
  const workers = entry.view.workers ?? [];
  const holder = entry.card.querySelector("div.workers");
  holder.hidden = workers.length === 0;
  const rows = [["worker", "host / pid", "actors", "heartbeat", "CPU", "memory"]];
  for (const worker of workers) rows.push([worker.name, `${worker.host} / ${worker.pid}`, worker.actors.join(", "), `${format(worker.heartbeatAgeMs, 0)} ms ago`, worker.cpuPercent === null ? `${format(worker.cpuSeconds)} s` : `${format(worker.cpuPercent, 0)} %`, `${format(worker.rssBytes / 2 ** 20, 0)} MiB`]);
  holder.querySelector("table").replaceChildren(...rows.map((cells, index) => {
    const row = element("tr", index === 0 ? {} : { "data-worker": cells[0] });
    row.append(...cells.map((cell) => element(index === 0 ? "th" : "td", {}, cell)));
    return row;
  }));
}

function drawNumbers(entry) {
  const { view, card } = entry;
  const last = view.lastProgress;
  const latest = entry.history[entry.history.length - 1];
  const latency = [...entry.history].reverse().find((point) => point.p50 !== null);
  setField(card, "state", view.state, view.state);
  card.querySelector('[data-field="state"]').setAttribute("data-state", view.state);
  setField(card, "input-total", view.totals.inputRows);
  setField(card, "input-rate", last?.inputRowsPerSecond);
  setField(card, "processed-rate", last?.processedRowsPerSecond);
  setField(card, "p50", latency?.p50, format(latency?.p50, 2));
  setField(card, "p99", latency?.p99, format(latency?.p99, 2));
  setField(card, "max", latency?.max, format(latency?.max, 2));
  const watermark = latest?.watermark ?? null;
  setField(card, "watermark", watermark, watermark === null ? "none yet" : new Date(watermark).toISOString().slice(5, 19).replace("T", " "));
  setField(card, "state-rows", latest?.stateRows ?? 0);
  setField(card, "dead-letters", view.totals.deadLetters);
  setField(card, "late-rows", view.totals.droppedByWatermark);
  setField(card, "recoveries", view.recoveries);
  const status = card.querySelector('[data-field="status"]');
  const plan = view.plan;
  const parts = [view.message, last ? `epoch ${last.batchId}` : "no epoch yet", `up ${duration(((view.endedAt ? Date.parse(view.endedAt) : Date.now()) - Date.parse(view.startedAt)) / 1000)}`];
  if (plan?.trigger) parts.push(`trigger ${plan.trigger}`);
  if (plan?.transport) parts.push(`transport ${plan.transport}`);
  status.replaceChildren(element("span", {}, parts.join(" · ")));
  if (view.exception) status.append(element("div", { class: "exception" }, view.exception));
  drawQueue(card, last?.sink?.metrics);
  tickLag(entry);
}

function drawQueue(card, metrics) {
  const node = card.querySelector('[data-field="sink-queue"]');
  if (!metrics || metrics.queuedMessages === undefined) return;
  node.hidden = false;
  const megabytes = (bytes) => (bytes / (1024 * 1024)).toFixed(bytes < 1024 * 1024 ? 3 : 1);
  const percent = metrics.capacityBytes > 0 ? ` (${((metrics.queuedBytes / metrics.capacityBytes) * 100).toFixed(1)}%)` : "";
  const oldest = metrics.queuedMessages > 0 ? `, oldest ${duration(metrics.oldestQueuedAgeMs / 1000)}` : "";
  setField(card, "sink-queue", metrics.queuedMessages, `uplink queue: ${format(metrics.queuedMessages)} messages, ${megabytes(metrics.queuedBytes)} of ${megabytes(metrics.capacityBytes)} MB${percent}${oldest}; ${format(metrics.deliveredMessages)} delivered this run`);
}

function tickLag(entry) {
  const latest = entry.history[entry.history.length - 1];
  const watermark = latest?.watermark ?? null;
  const end = entry.view.state === "active" ? Date.now() : latest?.t ?? Date.now();
  const lag = watermark === null ? null : Math.max(0, (end - watermark) / 1000);
  setField(entry.card, "watermark-lag", lag, lag === null ? "–" : duration(lag));
}

function render(view, point) {
  let entry = queries.get(view.id);
  if (!entry || entry.view.runId !== view.runId) {
    if (entry) entry.card.remove();
    entry = createCard(view);
    queries.set(view.id, entry);
  }
  entry.view = view;
  if (view.history.length > 0) entry.history = [...view.history];
  if (point) entry.history.push(point);
  if (entry.history.length > HISTORY) entry.history.splice(0, entry.history.length - HISTORY);
  document.getElementById("no-queries").hidden = true;
  drawNumbers(entry);
  drawPlan(entry);
  drawCheckpoints(entry);
  drawWorkers(entry);
  drawCharts(entry);
  drawAlertBadges();
}

function drawAlerts() {
  const firing = document.getElementById("alerts-firing");
  firing.replaceChildren(...alertState.firing.map((alert) => element("li", { class: "alert-firing", "data-rule": alert.rule, "data-query": alert.query }, `${alert.rule} on ${alert.query}: ${alert.message} (since ${clock(alert.at)})`)));
  document.getElementById("alerts-none").hidden = alertState.firing.length > 0;
  document.getElementById("alerts-count").textContent = String(alertState.history.length);
  document.getElementById("alerts-history").replaceChildren(...alertState.history.slice(0, 50).map((alert) => element("li", { class: `alert-${alert.state}` }, `${clock(alert.at)} ${alert.state} ${alert.rule} on ${alert.query}: ${alert.message}`)));
  drawAlertBadges();
}

function drawAlertBadges() {
  for (const entry of queries.values()) {
    const count = alertState.firing.filter((alert) => alert.query === entry.view.id || alert.query === entry.view.name).length;
    const badge = entry.card.querySelector('[data-field="alerts"]');
    badge.hidden = count === 0;
    badge.textContent = `${count} alert${count === 1 ? "" : "s"} firing`;
  }
}

function onAlert(alert) {
  const same = (other) => other.query === alert.query && other.rule === alert.rule;
  alertState.firing = alertState.firing.filter((other) => !same(other));
  if (alert.state === "firing") alertState.firing.push(alert);
  alertState.history.unshift(alert);
  drawAlerts();
}

function onMessage(message) {
  if (message.type === "snapshot") {
    for (const entry of queries.values()) entry.card.remove();
    queries.clear();
    alertState.firing = message.alerts.firing;
    alertState.history = message.alerts.history;
    for (const view of message.queries) render(view, null);
    document.getElementById("no-queries").hidden = message.queries.length > 0;
    drawAlerts();
  } else if (message.type === "query") {
    render(message.query, message.point);
  } else if (message.type === "alert") {
    onAlert(message.alert);
  }
}

function connect() {
  const connection = document.getElementById("connection");
  const events = new EventSource("/events");
  events.onopen = () => {
    connection.dataset.state = "live";
    connection.textContent = "live";
  };
  events.onerror = () => {
    connection.dataset.state = "lost";
    connection.textContent = "reconnecting…";
  };
  events.onmessage = (event) => onMessage(JSON.parse(event.data));
}

// Parameters (README "Parameters"): the values in force per query and their history, from /api/params.
async function drawParameters() {
  const response = await fetch("/api/params");
  if (!response.ok) return;
  const { parameters } = await response.json();
  document.getElementById("parameters").hidden = parameters.length === 0;
  const now = [];
  const history = [];
  for (const view of parameters) {
    const bucket = view.status.connected ? "reachable" : `unreachable: ${view.status.message ?? ""}`;
    for (const [name, value] of Object.entries(view.status.values)) {
      now.push([view.query, name, JSON.stringify(value), String(view.status.revision), bucket]);
    }
    for (const entry of view.history) history.push([entry.time, view.query, entry.name, JSON.stringify(entry.value), String(entry.revision), String(entry.fromEpoch), entry.origin]);
  }
  document.getElementById("parameters-now").replaceChildren(...now.map((cells) => row(cells)));
  history.sort((a, b) => b[0].localeCompare(a[0]));
  document.getElementById("parameters-count").textContent = String(history.length);
  document.getElementById("parameters-history").replaceChildren(...history.slice(0, 200).map((cells) => row(cells)));
}

function row(cells) {
  const tr = element("tr");
  for (const cell of cells) tr.append(element("td", {}, cell));
  return tr;
}

setInterval(() => {
  for (const entry of queries.values()) tickLag(entry);
}, 1000);
setInterval(() => void drawParameters().catch(() => undefined), 2000);
void drawParameters().catch(() => undefined);
window.addEventListener("resize", () => {
  for (const entry of queries.values()) drawCharts(entry);
});
connect();
