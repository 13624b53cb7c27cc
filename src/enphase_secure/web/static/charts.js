// The dashboard's charts, drawn by the vendored uPlot from /api/history: the day at 1 min against
// the day before, and the last 7 and 30 days as daily bars. Uses app.js's state and helpers.
"use strict";

const GAP_S = 900; // a longer hole in the day's series is drawn as a gap
const DAY_INCRS = [86400, 2 * 86400, 7 * 86400];

function siteZone() {
  return (state.status && state.status.dashboard && state.status.dashboard.timezone) || undefined;
}
function localMidnight(epochS) {
  const parts = new Intl.DateTimeFormat("en-GB", { timeZone: siteZone(), hourCycle: "h23", hour: "numeric", minute: "numeric", second: "numeric" })
    .formatToParts(new Date(epochS * 1000));
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  return epochS - (get("hour") * 3600 + get("minute") * 60 + get("second"));
}
async function history(fields, startS, endS, resolution) {
  const query = new URLSearchParams({ fields: fields.join(","), start: new Date(startS * 1000).toISOString(), end: new Date(endS * 1000).toISOString(), resolution });
  const response = await api(`/api/history?${query}`);
  if (!response.ok) throw new Error(`history: ${response.status}`);
  return (await response.json()).points;
}
function chartOptions(container, series, extra = {}) {
  const zone = siteZone();
  const ink = getComputedStyle(document.body).color;
  // times in the site's zone and the page's language (uPlot's own labels are American English)
  const when = new Intl.DateTimeFormat(state.lang, { timeZone: zone, ...extra.when });
  const xAxis = { stroke: ink, values: (u, splits) => splits.map((ts) => when.format(ts * 1000)), ...(extra.incrs ? { incrs: extra.incrs } : {}) };
  const yAxis = { stroke: ink, size: 80, values: (u, vals) => vals.map((v) => (extra.unit === "Wh" ? energy(v) : power(v))) };
  return {
    width: Math.max(240, container.clientWidth), height: 220,
    series: [{ label: t("time"), value: (u, ts) => (ts === null ? "—" : when.format(ts * 1000)) }, ...series],
    tzDate: zone ? (ts) => uPlot.tzDate(new Date(ts * 1e3), zone) : undefined,
    axes: [xAxis, yAxis], legend: { live: true }, ...extra.options,
  };
}
function draw(name, container, series, data, extra) {
  const old = state.charts[name];
  if (old) old.destroy();
  container.replaceChildren();
  state.charts[name] = new uPlot(chartOptions(container, series, extra), data, container);
  container.dataset.points = String(data[0].length);
}
async function refreshDayChart() {
  const now = Date.parse(state.doc.time) / 1000;
  const today = localMidnight(now);
  const yesterday = localMidnight(today - 12 * 3600);
  const fields = ["production_w", "consumption_w", "grid_import_w", "grid_export_w"];
  if (state.doc.storage) fields.push("storage_w");
  const points = await history(fields, yesterday, now, "1min");
  const minutes = Math.round((localMidnight(today + 36 * 3600) - today) / 60);
  const xs = Array.from({ length: minutes }, (_, i) => today + 60 * i);
  // undefined: a minute without a bucket, drawn across; null: a gap of more than GAP_S, left open
  const columns = Object.fromEntries(fields.map((f) => [f, new Array(minutes).fill(undefined)]));
  const before = { production_w: new Array(minutes).fill(undefined), consumption_w: new Array(minutes).fill(undefined) };
  const last = { true: null, false: null };
  for (const point of points) {
    const ts = Date.parse(point.time) / 1000;
    const isToday = ts >= today;
    const index = Math.floor((ts - (isToday ? today : yesterday)) / 60);
    if (index < 0 || index >= minutes) continue;
    const into = isToday ? columns : before;
    if (last[isToday] !== null && index - last[isToday] > GAP_S / 60) for (const f of Object.keys(into)) into[f][index - 1] = null;
    last[isToday] = index;
    for (const f of Object.keys(into)) into[f][index] = point[f] ? point[f].value : null;
  }
  const series = [
    { label: t("production"), stroke: COLORS.production, width: 2 },
    { label: t("consumption"), stroke: COLORS.consumption, width: 2 },
    { label: t("import"), stroke: COLORS.import, width: 1 },
    { label: t("export"), stroke: COLORS.export, width: 1 },
  ];
  const data = [xs, columns.production_w, columns.consumption_w, columns.grid_import_w, columns.grid_export_w];
  if (state.doc.storage) { series.push({ label: t("battery"), stroke: COLORS.battery, width: 1 }); data.push(columns.storage_w); }
  series.push({ label: `${t("production")} (${t("yesterday")})`, stroke: COLORS.production, dash: [4, 4], width: 1 },
    { label: `${t("consumption")} (${t("yesterday")})`, stroke: COLORS.consumption, dash: [4, 4], width: 1 });
  data.push(before.production_w, before.consumption_w);
  draw("day", $("#day-chart"), series, data, { unit: "W", when: { hour: "2-digit", minute: "2-digit" } });
  const count = (values) => String(values.filter((v) => v !== null && v !== undefined).length);
  $("#day-chart").dataset.today = count(columns.consumption_w);
  $("#day-chart").dataset.yesterday = count(before.consumption_w);
}
async function refreshDayBars() {
  const now = Date.parse(state.doc.time) / 1000;
  const fields = ["production_today_wh", "consumption_today_wh", "grid_import_today_wh", "grid_export_today_wh"];
  const today = localMidnight(now);
  const points = await history(fields, localMidnight(now - 29 * 86400), now, "1day");
  const bars = (align) => uPlot.paths.bars({ size: [0.4, 40], align });
  const series = [
    { label: t("production"), stroke: COLORS.production, fill: COLORS.production, paths: bars(-1), points: { show: false } },
    { label: t("consumption"), stroke: COLORS.consumption, fill: COLORS.consumption, paths: bars(1), points: { show: false } },
    { label: t("import"), stroke: COLORS.import, paths: () => null, points: { show: true, size: 7, fill: COLORS.import } },
    { label: t("export"), stroke: COLORS.export, paths: () => null, points: { show: true, size: 7, fill: COLORS.export } },
  ];
  for (const [name, days] of [["week", 7], ["month", 30]]) {
    const first = localMidnight(today - (days - 1) * 86400 + 43200);
    const recent = points.filter((p) => Date.parse(p.time) / 1000 >= first);
    const data = [recent.map((p) => Date.parse(p.time) / 1000), ...fields.map((f) => recent.map((p) => (p[f] ? p[f].value : null)))];
    const range = [first - 43200, today + 43200];
    const scales = { x: { time: true, range: () => range }, y: { range: (u, lo, hi) => [0, Math.max(1000, hi * 1.1)] } };
    draw(name, $(`#${name}-chart`), series, data, { unit: "Wh", incrs: DAY_INCRS, when: { day: "numeric", month: "short" }, options: { scales } });
  }
}
async function refreshCharts() {
  if (!state.doc || typeof uPlot === "undefined") return;
  try { await refreshDayChart(); await refreshDayBars(); } catch (err) { console.warn("charts:", err); }
}

