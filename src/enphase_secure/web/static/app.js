// enphase-secure dashboard: live figures over Server-Sent Events (/api/stream), charts from
// /api/history drawn by the vendored uPlot, names and units from /api/figures. No build step.
"use strict";

const STR = {
  en: {
    title: "Solar installation", language: "Language", flow: "Power flow", solar: "Solar", grid: "Grid",
    house: "House", battery: "Battery", per_phase: "Per phase", phase: "Phase", import: "Import",
    export: "Export", today: "Today", self_consumption: "Self-consumption", self_sufficiency: "Self-sufficiency",
    day_chart: "Today and yesterday (1 min)", last_days: "Last days", last_7: "Last 7 days", last_30: "Last 30 days",
    inverters: "Panels", control: "Self-consumption control", no_stages: "No stage configured.",
    health: "Health", outputs: "Outputs", output: "Output", state: "State", published: "Published", error: "Error",
    token_needed: "API token needed", token_why: "This change needs the API token of the daemon.",
    token: "API token", cancel: "Cancel", ok: "OK", api: "API routes",
    live: "Live", stale: "Stale", stale_for: "Stale for {s} s: {reason}", connecting: "Connecting…",
    lost: "No data for {s} s: reconnecting…", charging: "charging", discharging: "discharging", idle: "idle",
    importing: "importing", exporting: "exporting", production: "Production", consumption: "Consumption",
    yesterday: "yesterday", on: "On", off: "Off", auto: "Auto", mode: "Mode", reason: "Reason",
    start_timer: "On in {s} s if it holds", stop_timer: "Off in {s} s if it holds", last_action: "Last action",
    ok_outcome: "succeeded", failed_outcome: "failed", skipped_outcome: "skipped", none: "none", in_flight: "running…",
    gateway_online: "Gateway online", yes: "yes", no: "no", firmware: "Firmware", token_days: "Token days left",
    last_poll: "Last poll", ago: "{s} ago", max: "max", last_report: "report", low: "far below the others",
    silent: "silent for over 1 h", temperature: "temperature", block_all: "All figures",
    prod: "Production", conso_net: "Net consumption", conso_total: "Total consumption", bat: "Storage",
    refused: "Refused: {error}", battery_in: "Battery in", battery_out: "Battery out",
  },
  fr: {
    title: "Installation solaire", language: "Langue", flow: "Flux de puissance", solar: "Solaire", grid: "Réseau",
    house: "Maison", battery: "Batterie", per_phase: "Par phase", phase: "Phase", import: "Import",
    export: "Export", today: "Aujourd'hui", self_consumption: "Autoconsommation", self_sufficiency: "Autoproduction",
    day_chart: "Aujourd'hui et hier (1 min)", last_days: "Derniers jours", last_7: "7 derniers jours",
    last_30: "30 derniers jours", inverters: "Panneaux", control: "Pilotage de l'autoconsommation",
    no_stages: "Aucun étage configuré.", health: "État", outputs: "Sorties", output: "Sortie", state: "État",
    published: "Publiés", error: "Erreur", token_needed: "Jeton API requis",
    token_why: "Cette modification demande le jeton API du démon.", token: "Jeton API", cancel: "Annuler",
    ok: "Valider", api: "Routes de l'API", live: "En direct", stale: "Périmé", stale_for: "Périmé depuis {s} s : {reason}",
    connecting: "Connexion…", lost: "Pas de données depuis {s} s : reconnexion…", charging: "en charge",
    discharging: "en décharge", idle: "au repos", importing: "import", exporting: "export",
    production: "Production", consumption: "Consommation", yesterday: "hier", on: "Marche", off: "Arrêt",
    auto: "Auto", mode: "Mode", reason: "Raison", start_timer: "Marche dans {s} s si cela dure",
    stop_timer: "Arrêt dans {s} s si cela dure", last_action: "Dernière action", ok_outcome: "réussie",
    failed_outcome: "échouée", skipped_outcome: "ignorée", none: "aucune", in_flight: "en cours…", gateway_online: "Passerelle en ligne",
    yes: "oui", no: "non", firmware: "Micrologiciel", token_days: "Jours de jeton restants", last_poll: "Dernière lecture",
    ago: "il y a {s}", max: "max", last_report: "relevé", low: "très en dessous des autres",
    silent: "muet depuis plus d'1 h", temperature: "température", block_all: "Toutes les mesures",
    prod: "Production", conso_net: "Consommation nette", conso_total: "Consommation totale", bat: "Stockage",
    refused: "Refusé : {error}", battery_in: "Batterie entrée", battery_out: "Batterie sortie",
  },
};
const COLORS = { production: "#d08a00", consumption: "#2459a8", import: "#b3261e", export: "#1e7a45", battery: "#6d3fb0" };
const LOST_AFTER_MS = 4000;
const RETRY_MS = 1000;
const SILENT_AFTER_S = 3600;
const GAP_S = 900;
const DAY_INCRS = [86400, 2 * 86400, 7 * 86400];
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
  setNode("grid", gridNet, gridNet === null ? "—" : t(gridNet > 0 ? "importing" : gridNet < 0 ? "exporting" : "idle"));
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
  const rows = [];
  for (let i = 0; i < count; i++) {
    const cells = [resolve(doc, `production.phases_w.${i}`), resolve(doc, `consumption.phases_w.${i}`),
      resolve(doc, `grid.phases.${i}.import_w`), resolve(doc, `grid.phases.${i}.export_w`)];
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
    const silent = inv.last_report !== null && typical > 20 && (newest - Date.parse(inv.last_report)) / 1000 > SILENT_AFTER_S;
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
function setBadge(kind, text) {
  const badge = $("#live");
  badge.dataset.state = kind;
  badge.textContent = text;
  document.body.classList.toggle("stale", kind !== "live");
}
function render(doc) {
  renderFlow(doc);
  renderToday(doc);
  renderInverters(doc);
  renderStages((doc.control && doc.control.stages) || [], doc.time);
  renderHealth(doc);
  if (doc.stale) setBadge("stale", t("stale_for", { s: num(doc.age_s || 0), reason: doc.stale_reason || "—" }));
  else setBadge("live", `${t("live")} · ${new Date(doc.time).toLocaleTimeString(state.lang, { timeZone: siteZone() })}`);
}
function onUpdate(data) {
  const first = state.doc === null;
  state.doc = JSON.parse(data);
  state.lastEventAt = Date.now();
  render(state.doc);
  if (first) refreshCharts();
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
    setBadge("stale", t("lost", { s: num((Date.now() - state.lastEventAt) / 1000) }));
  }
}

// --- charts --------------------------------------------------------------------------------------
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
  return {
    width: Math.max(240, container.clientWidth), height: 220, series: [{}, ...series],
    tzDate: zone ? (ts) => uPlot.tzDate(new Date(ts * 1e3), zone) : undefined,
    axes: [{ stroke: getComputedStyle(document.body).color, ...(extra.incrs ? { incrs: extra.incrs } : {}) }, { stroke: getComputedStyle(document.body).color, size: 80, values: (u, vals) => vals.map((v) => extra.unit === "Wh" ? energy(v) : power(v)) }],
    legend: { live: true }, ...extra.options,
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
  draw("day", $("#day-chart"), series, data, { unit: "W" });
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
    draw(name, $(`#${name}-chart`), series, data, { unit: "Wh", incrs: DAY_INCRS, options: { scales } });
  }
}
async function refreshCharts() {
  if (!state.doc || typeof uPlot === "undefined") return;
  try { await refreshDayChart(); await refreshDayBars(); } catch (err) { console.warn("charts:", err); }
}

async function main() {
  $("#lang").addEventListener("change", (event) => { localStorage.setItem(LANG_KEY, event.target.value); applyLanguage(event.target.value); });
  state.lang = pickLanguage();
  const [figures] = await Promise.all([api("/api/figures").then((r) => r.json()), refreshStatus()]);
  state.figures = figures;
  applyLanguage(state.lang);
  setBadge("connecting", t("connecting"));
  connect();
  setInterval(watchdog, 1000);
  setInterval(refreshStatus, 10000);
  setInterval(refreshCharts, 60000);
  window.addEventListener("resize", () => {
    for (const [name, chart] of Object.entries(state.charts)) chart.setSize({ width: Math.max(240, $(`#${name}-chart`).clientWidth), height: 220 });
  });
}
main();
