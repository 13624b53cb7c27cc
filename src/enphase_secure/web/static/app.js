// enphase-secure dashboard: live figures over Server-Sent Events (/api/stream), charts from
// /api/history drawn by the vendored uPlot, names and units from /api/figures. No build step.
"use strict";

const COLORS = { production: "#d08a00", consumption: "#2459a8", import: "#b3261e", export: "#1e7a45", battery: "#6d3fb0" };
const LOST_AFTER_MS = 4000;
const RETRY_MS = 1000;
const SILENT_AFTER_S = 3600;
const TOKEN_KEY = "enphase-secure.api-token";
const LANG_KEY = "enphase-secure.lang";

const state = { lang: "en", doc: null, figures: null, status: null, lastEventAt: 0, charts: {}, tiles: new Map(), stages: new Map() };
const $ = (sel, root = document) => root.querySelector(sel);

function t(key, vars = {}) {
  const text = (STR[state.lang] && STR[state.lang][key]) || STR.en[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name]));
}
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value; else if (name === "text") node.textContent = value; else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}
function resolve(doc, path) {
  let node = doc;
  for (const part of path.split(".")) {
    if (node === null || node === undefined) return null;
    node = node[part];
  }
  return node === undefined ? null : node;
}
function num(value, digits = 0) {
  return new Intl.NumberFormat(state.lang, { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(value);
}
function power(w) {
  if (w === null || w === undefined) return "—";
  return Math.abs(w) >= 1000 ? `${num(w / 1000, 2)} kW` : `${num(w)} W`;
}
function energy(wh) {
  if (wh === null || wh === undefined) return "—";
  return Math.abs(wh) >= 1000 ? `${num(wh / 1000, wh >= 100000 ? 0 : 2)} kWh` : `${num(wh)} Wh`;
}
function formatFigure(value, figure) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return t(value ? "yes" : "no");
  if (figure.unit === "W") return power(value);
  if (figure.unit === "Wh") return energy(value);
  return `${num(value, figure.precision)}${figure.unit ? ` ${figure.unit}` : ""}`;
}
function duration(s) {
  if (s === null || s === undefined) return "—";
  if (Math.abs(s) < 120) return `${num(s)} s`;
  if (Math.abs(s) < 7200) return `${num(s / 60)} min`;
  return Math.abs(s) < 172800 ? `${num(s / 3600)} h` : `${num(s / 86400)} d`;
}
function secondsBetween(laterIso, earlierIso) {
  return Math.round((Date.parse(laterIso) - Date.parse(earlierIso)) / 1000);
}

// --- language ------------------------------------------------------------------------------------
function pickLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && STR[saved]) return saved;
  return (navigator.languages || [navigator.language]).some((l) => String(l).toLowerCase().startsWith("fr")) ? "fr" : "en";
}
function applyLanguage(lang) {
  state.lang = lang;
  document.documentElement.lang = lang;
  $("#lang").value = lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  document.title = t("title");
  state.tiles.clear(); $("#inverters").replaceChildren();
  state.stages.clear(); $("#stages").replaceChildren();
  $("#blocks").replaceChildren();
  if (state.doc) render(state.doc);
  if (state.status) renderOutputs(state.status);
  refreshCharts();
}

// --- live figures --------------------------------------------------------------------------------
function setNode(name, value, sub) {
  const node = $(`#flow [data-node="${name}"]`);
  const text = $(".value", node);
  text.textContent = power(value);
  text.dataset.w = value === null || value === undefined ? "" : String(Math.round(value));
  if (sub !== undefined) $(".sub", node).textContent = sub;
}
function setLink(id, w) {
  const link = $(`#link-${id}`);
  const active = w !== null && w > 5;
  link.classList.toggle("active", active);
  link.dataset.w = active ? String(Math.round(w)) : "0";
  if (active) link.style.setProperty("--period", `${Math.max(0.4, Math.min(6, 3000 / w)).toFixed(2)}s`);
}
function renderFlow(doc) {
  const prod = resolve(doc, "production.power_w");
  const house = resolve(doc, "consumption.power_w");
  const imp = resolve(doc, "grid.import_w");
  const exp = resolve(doc, "grid.export_w");
  const bat = doc.storage ? doc.storage.power_w : null; // > 0: discharging
  setNode("solar", prod);
  setNode("house", house);
  const gridNet = imp === null || exp === null ? null : imp - exp;
  // three-phase sites can import on one phase while exporting on another: both shown then
  const both = gridNet !== null && imp > 5 && exp > 5;
  setNode("grid", gridNet, gridNet === null ? "—" : both ? `${t("import")} ${power(imp)}`
    : t(gridNet > 5 ? "importing" : gridNet < -5 ? "exporting" : "idle"));
  $('#flow [data-node="grid"] .sub2').textContent = both ? `${t("export")} ${power(exp)}` : "";
  $('#flow [data-node="battery"]').style.display = doc.storage ? "" : "none";
  $("#link-solar-battery").style.display = $("#link-battery-house").style.display = doc.storage ? "" : "none";
  if (doc.storage) {
    const soc = doc.storage.soc_pct;
    const mode = bat === null ? "—" : t(bat > 5 ? "discharging" : bat < -5 ? "charging" : "idle");
    setNode("battery", bat === null ? null : Math.abs(bat), `${soc === null ? "—" : `${num(soc)} %`} · ${mode}`);
    $('#flow [data-node="battery"]').dataset.soc = soc === null ? "" : String(soc);
  }
  const p = prod || 0;
  const toGrid = Math.min(p, exp || 0);
  const toBattery = Math.min(p - toGrid, bat !== null && bat < 0 ? -bat : 0);
  setLink("solar-grid", prod === null ? null : toGrid);
  setLink("solar-battery", prod === null ? null : toBattery);
  setLink("solar-house", prod === null ? null : Math.max(p - toGrid - toBattery, 0));
  setLink("grid-house", imp);
  setLink("battery-house", bat !== null && bat > 0 ? bat : 0);
  renderPhases(doc);
}
function renderPhases(doc) {
  const table = $("#phases");
  const count = doc.phase_count || 1;
  table.hidden = count < 2;
  if (count < 2) return;
  const battery = Boolean(doc.storage);
  $("#phase-battery").hidden = !battery;
  const rows = [];
  for (let i = 0; i < count; i++) {
    const cells = [resolve(doc, `production.phases_w.${i}`), resolve(doc, `consumption.phases_w.${i}`),
      resolve(doc, `grid.phases.${i}.import_w`), resolve(doc, `grid.phases.${i}.export_w`)];
    if (battery) cells.push(resolve(doc, `storage.phases_w.${i}`)); // > 0: discharging
    rows.push(el("tr", {}, el("th", { scope: "row", text: `L${i + 1}` }), ...cells.map((w) => el("td", { text: power(w) }))));
  }
  $("tbody", table).replaceChildren(...rows);
}
function ratio(id, part, whole) {
  const meter = $(`#${id}`);
  const out = $(`output[for="${id}"]`);
  if (part === null || whole === null || whole <= 0) { meter.value = 0; out.textContent = "—"; delete out.dataset.pct; return; }
  const pct = Math.max(0, Math.min(100, (100 * part) / whole));
  meter.value = pct;
  out.textContent = `${num(pct)} %`;
  out.dataset.pct = pct.toFixed(1);
}
function renderToday(doc) {
  const prod = resolve(doc, "production.today_wh");
  const cons = resolve(doc, "consumption.today_wh");
  const imp = resolve(doc, "grid.import_today_wh");
  const exp = resolve(doc, "grid.export_today_wh");
  ratio("self-consumption", prod === null || exp === null ? null : prod - exp, prod);
  ratio("self-sufficiency", cons === null || imp === null ? null : cons - imp, cons);
  const totals = [["production", prod], ["consumption", cons], ["import", imp], ["export", exp]];
  if (doc.storage) totals.push(["battery_in", doc.storage.charged_today_wh], ["battery_out", doc.storage.discharged_today_wh]);
  $("#today-summary").replaceChildren(...totals.flatMap(([key, wh]) => [el("dt", { text: t(key) }), el("dd", { "data-key": key, text: energy(wh) })]));
  renderBlocks(doc);
}
function siteHas(doc, figure) {
  const types = new Set((doc.meters || []).map((m) => m.type));
  if (figure.needs === "consumption_ct") return types.has("net-consumption") || types.has("total-consumption");
  if (figure.needs === "storage") return doc.storage !== null && doc.storage !== undefined;
  return true;
}
function renderBlocks(doc) {
  if (!state.figures) return;
  const split = state.status && state.status.dashboard && state.status.dashboard.layout === "split";
  const container = $("#blocks");
  container.dataset.layout = split ? "split" : "single";
  const groups = new Map();
  for (const figure of state.figures.site) {
    if (figure.diagnostic || !siteHas(doc, figure)) continue;
    const key = split ? figure.device : "all";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(figure);
  }
  const blocks = [];
  for (const [key, figures] of groups) {
    const list = el("dl");
    for (const figure of figures) {
      const name = state.lang === "fr" ? figure.name_fr : figure.name_en;
      list.append(el("dt", { text: name }), el("dd", { class: figure.instant ? "instant" : "", "data-key": figure.key, text: formatFigure(resolve(doc, figure.path), figure) }));
    }
    blocks.push(el("section", { class: "block", "data-device": key, "aria-label": t(key === "all" ? "block_all" : key) }, el("h3", { text: t(key === "all" ? "block_all" : key) }), list));
  }
  container.replaceChildren(...blocks);
}
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
}
function renderInverters(doc) {
  const list = $("#inverters");
  const inverters = doc.inverters || [];
  const powers = inverters.map((i) => i.power_w).filter((w) => w !== null);
  const typical = median(powers);
  const peak = Math.max(1, ...inverters.map((i) => i.max_power_w || 0));
  const newest = Math.max(...inverters.map((i) => (i.last_report ? Date.parse(i.last_report) : 0)));
  for (const inv of inverters) {
    let tile = state.tiles.get(inv.serial);
    if (!tile) {
      tile = el("li", { class: "tile", "data-serial": inv.serial });
      state.tiles.set(inv.serial, tile);
      list.append(tile);
    }
    const age = inv.last_report ? Math.round((Date.parse(doc.time) - Date.parse(inv.last_report)) / 1000) : null;
    const low = inv.power_w !== null && typical > 20 && inv.power_w < 0.5 * typical;
    // silent: no report for over an hour while its peers produce and report
    const silent = typical > 20 && inv.last_report !== null && (newest - Date.parse(inv.last_report)) / 1000 > SILENT_AFTER_S;
    const share = inv.power_w === null ? 0 : Math.max(0, Math.min(1, inv.power_w / peak));
    tile.style.background = `hsl(${40 + 10 * share} ${Math.round(30 + 60 * share)}% ${Math.round(92 - 40 * share)}%)`;
    tile.classList.toggle("flagged", low || silent);
    tile.dataset.flag = silent ? "silent" : low ? "low" : "";
    tile.dataset.w = inv.power_w === null ? "" : String(inv.power_w);
    const lines = [el("span", { text: `…${inv.serial.slice(-6)}` }), el("strong", { text: power(inv.power_w) }),
      el("span", { text: `${t("max")} ${power(inv.max_power_w)} · ${energy(inv.today_wh)}` }), el("br"),
      el("span", { text: `${t("last_report")} ${age === null ? "—" : t("ago", { s: duration(age) })}` })];
    if (inv.temperature_c !== undefined && inv.temperature_c !== null) lines.push(el("br"), el("span", { text: `${t("temperature")} ${num(inv.temperature_c)} °C` }));
    if (low || silent) lines.push(el("br"), el("span", { class: "flag", text: t(silent ? "silent" : "low") }));
    tile.setAttribute("aria-label", `${inv.serial}: ${power(inv.power_w)}${low || silent ? `, ${t(silent ? "silent" : "low")}` : ""}`);
    tile.replaceChildren(...lines);
  }
}

// --- the API token: asked once when the daemon refuses a request, then sent as a Bearer token -----
function authHeaders() {
  const token = localStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}
let tokenAsked = null; // one dialog for every request refused at the same time
function askToken() {
  if (tokenAsked) return tokenAsked;
  const dialog = $("#token-dialog");
  const input = $("#token-input");
  input.value = "";
  tokenAsked = new Promise((done) => {
    dialog.addEventListener("close", () => {
      tokenAsked = null;
      const token = dialog.returnValue === "ok" && input.value.trim() ? input.value.trim() : null;
      if (token) localStorage.setItem(TOKEN_KEY, token);
      done(token);
    }, { once: true });
    dialog.showModal();
  });
  return tokenAsked;
}
async function api(path, options = {}) {
  const send = () => fetch(path, { ...options, headers: { ...(options.headers || {}), ...authHeaders() } });
  const response = await send();
  if (response.status !== 401) return response;
  return (await askToken()) === null ? response : send();
}

// --- controller ----------------------------------------------------------------------------------
async function setMode(stage, mode, box) {
  const response = await api(`/api/control/${encodeURIComponent(stage)}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ mode }),
  });
  const message = $(".message", box);
  if (response.ok) { message.textContent = ""; renderStages((await response.json()).stages || []); return; }
  let error = response.statusText;
  try { error = (await response.json()).error || error; } catch { /* not JSON */ }
  message.textContent = t("refused", { error });
}
function stageBox(stage) {
  const box = el("article", { class: "stage", "data-stage": stage.name, "aria-label": stage.name });
  const buttons = el("div", { class: "buttons", role: "group", "aria-label": `${t("mode")}: ${stage.name}` });
  for (const mode of ["on", "off", "auto"]) {
    const button = el("button", { type: "button", "data-mode": mode, text: t(mode) });
    button.addEventListener("click", () => setMode(stage.name, mode, box));
    buttons.append(button);
  }
  box.append(el("h3", { text: stage.name }), el("p", { class: "summary" }), el("p", { class: "timers" }), el("p", { class: "outcome" }), buttons, el("p", { class: "message error", role: "alert" }));
  return box;
}
function renderStages(stages, now) {
  $("#control-empty").hidden = stages.length > 0;
  for (const stage of stages) {
    let box = state.stages.get(stage.name);
    if (!box) { box = stageBox(stage); state.stages.set(stage.name, box); $("#stages").append(box); }
    const st = stage.state || {};
    box.dataset.on = String(Boolean(st.on));
    box.dataset.mode = st.mode || "auto";
    const summary = $(".summary", box);
    summary.replaceChildren(el("span", { class: st.on ? "state-on" : "state-off", text: t(st.on ? "on" : "off") }),
      ` · ${t("mode")} ${t(st.mode || "auto")} · ${t("reason")}: ${st.reason || "—"}`);
    const timers = [];
    const at = now || (state.doc && state.doc.time);
    if (at && st.start_timer_since) timers.push(t("start_timer", { s: num(Math.max(0, stage.start_delay_s - secondsBetween(at, st.start_timer_since))) }));
    if (at && st.stop_timer_since) timers.push(t("stop_timer", { s: num(Math.max(0, stage.stop_delay_s - secondsBetween(at, st.stop_timer_since))) }));
    box.dataset.delivery = st.delivery || "confirmed";
    if (stage.runtime_today_h !== undefined && stage.runtime_today_h !== null) {
      const target = stage.min_daily_runtime_h ? ` / ${num(stage.min_daily_runtime_h, 1)} h min` : "";
      timers.push(t("runtime_today", { h: num(stage.runtime_today_h, 1), target, energy: energy(stage.energy_today_wh) }));
    }
    if (st.delivery === "pending") timers.push(t("delivery_pending"));
    if (st.delivery === "failed") {
      const retry = at && st.next_retry_at ? Math.max(0, -secondsBetween(at, st.next_retry_at)) : null;
      timers.push(t("delivery_failed", { n: st.attempts || 1, error: st.last_error || "—" }) + (retry === null ? "" : ` · ${t("retry_in", { s: duration(retry) })}`));
    }
    $(".timers", box).textContent = timers.join(" · ");
    const outcomes = stage.last_outcomes || [];
    const last = outcomes[outcomes.length - 1];
    const outcome = $(".outcome", box);
    const status = last ? last.status || (last.ok ? "ok" : "failed") : null;
    outcome.className = `outcome${status === "failed" ? " outcome-error" : ""}`;
    outcome.dataset.status = stage.in_flight ? "running" : status || "";
    const what = last ? `${t(last.action)} (${last.kind}) ${t(`${status}_outcome`)}${last.error ? `: ${last.error}` : ""}` : t("none");
    outcome.textContent = `${t("last_action")}: ${stage.in_flight ? t("in_flight") : what}`;
    for (const button of box.querySelectorAll("button[data-mode]")) button.setAttribute("aria-pressed", String(button.dataset.mode === (st.mode || "auto")));
  }
}

// --- health --------------------------------------------------------------------------------------
function renderHealth(doc) {
  const health = doc.health || {};
  const days = health.token_days_left;
  const pollAge = health.last_poll ? secondsBetween(doc.time, health.last_poll) : null;
  const rows = [
    ["gateway_online", t(health.gateway_online ? "yes" : "no"), health.gateway_online ? "" : "bad"],
    ["firmware", health.firmware || "—", ""],
    ["token_days", days === null || days === undefined ? "—" : num(days, 1), days !== null && days !== undefined && days < 14 ? "warn" : ""],
    ["last_poll", pollAge === null ? "—" : t("ago", { s: duration(pollAge) }), doc.stale ? "warn" : ""],
  ];
  $("#health").replaceChildren(...rows.flatMap(([key, value, cls]) => [el("dt", { text: t(key) }), el("dd", { class: cls, "data-key": key, text: value })]));
}
function renderOutputs(status) {
  const outputs = status.outputs || {};
  $("#outputs tbody").replaceChildren(...Object.entries(outputs).map(([name, out]) => el("tr", { "data-output": name },
    el("td", { text: name }), el("td", { text: out.state }), el("td", { text: num(out.published || 0) }), el("td", { class: "error", text: out.error || "" }))));
}
async function refreshStatus() {
  try {
    const response = await api("/api/status");
    if (!response.ok) return;
    state.status = await response.json();
    renderOutputs(state.status);
    if (state.doc) renderBlocks(state.doc);
  } catch { /* the daemon is restarting: the badge already says so */ }
}

// --- the stream ----------------------------------------------------------------------------------
function setBadge(kind, text, detail = "") {
  // only the state is announced to screen readers (when it changes), not the ticking seconds
  const badge = $("#live");
  badge.dataset.state = kind;
  const said = $("#live-state");
  if (said.textContent !== text) said.textContent = text;
  $("#live-detail").textContent = detail;
  document.body.classList.toggle("stale", kind !== "live");
}
function render(doc) {
  renderFlow(doc);
  renderToday(doc);
  renderInverters(doc);
  renderStages((doc.control && doc.control.stages) || [], doc.time);
  renderHealth(doc);
  if (doc.stale) setBadge("stale", t("stale_for", { reason: doc.stale_reason || "—" }), t("for_s", { s: duration(doc.age_s || 0) }));
  else setBadge("live", t("live"), new Date(doc.time).toLocaleTimeString(state.lang, { timeZone: siteZone() }));
}
function onUpdate(data) {
  const first = state.doc === null;
  state.doc = JSON.parse(data);
  state.lastEventAt = Date.now();
  render(state.doc);
  if (first && state.figures) refreshCharts(); // else main() draws them once it has the site's zone
}
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
function connect() {
  const source = new EventSource("/api/stream");
  source.addEventListener("update", (event) => onUpdate(event.data));
  source.addEventListener("open", () => refreshStatus());
  source.addEventListener("error", () => {
    // EventSource gives up on an answer that is not a stream (401: the token is needed; 503: too many)
    if (source.readyState === EventSource.CLOSED) streamWithFetch();
  });
}
async function streamWithFetch() {
  // the same stream read with fetch, which can send the token; reconnects after RETRY_MS like EventSource
  for (;;) {
    try {
      const response = await api("/api/stream", { cache: "no-store" });
      if (response.status === 401) await sleep(30 * RETRY_MS); // token refused or not given: ask later
      if (response.ok) {
        refreshStatus();
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
            const lines = buffer.slice(0, end).split("\n");
            buffer = buffer.slice(end + 2);
            const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
            if (data) onUpdate(data);
          }
        }
      }
    } catch { /* the daemon went away */ }
    await sleep(RETRY_MS);
  }
}
function watchdog() {
  if (state.lastEventAt && Date.now() - state.lastEventAt > LOST_AFTER_MS) {
    setBadge("stale", t("lost"), t("for_s", { s: duration(Math.round((Date.now() - state.lastEventAt) / 1000)) }));
  }
}

async function main() {
  $("#lang").addEventListener("change", (event) => { localStorage.setItem(LANG_KEY, event.target.value); applyLanguage(event.target.value); });
  applyLanguage(pickLanguage());
  setBadge("connecting", t("connecting"));
  connect(); // figures show as soon as the stream's first event comes; names and charts follow
  const [figures] = await Promise.all([api("/api/figures").then((r) => r.json()), refreshStatus()]);
  state.figures = figures;
  applyLanguage(state.lang);
  setInterval(watchdog, 1000);
  setInterval(refreshStatus, 10000);
  setInterval(refreshCharts, 60000);
  window.addEventListener("resize", () => {
    for (const [name, chart] of Object.entries(state.charts)) chart.setSize({ width: Math.max(240, $(`#${name}-chart`).clientWidth), height: 220 });
  });
}
document.addEventListener("DOMContentLoaded", main); // after charts.js
