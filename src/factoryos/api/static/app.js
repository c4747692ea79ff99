// factoryos dashboard: plain JS over /api/v1 (session cookie + CSRF header), live over SSE.
"use strict";

const COLORS = {
  producing: "#2e9d4f", setup: "#d9a400", minor_stop: "#f08c00", fault: "#d32f2f",
  idle: "#9e9e9e", starved: "#7b8fa3", blocked: "#8e44ad", off: "#424242",
  maintenance: "#1e6fd9", none: "#cfd4da",
};
const S = { lang: localStorage.getItem("lang") || "en", site: null, plant: null, view: "overview",
  live: null, plans: [] };

const t = (key) => (I18N[S.lang][key] ?? I18N.en[key] ?? key);



// Times shown in the plant's zone, whatever the browser's zone is.
function plantTime(iso, withDate = true) {
  const opts = { timeZone: S.plant.timezone, hour: "2-digit", minute: "2-digit", hour12: false };
  if (withDate) Object.assign(opts, { year: "numeric", month: "2-digit", day: "2-digit" });
  return new Intl.DateTimeFormat(S.lang === "zh" ? "zh-CN" : "en-GB", opts).format(new Date(iso));
}
// "YYYY-MM-DD HH:MM:SS" in the plant's zone, for plotly date axes.
function plantStamp(iso) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: S.plant.timezone, hourCycle: "h23",
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
    .formatToParts(new Date(iso)).reduce((o, p) => (o[p.type] = p.value, o), {});
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}
const pct = (v) => (v == null ? "–" : (100 * v).toFixed(1) + " %");
const num = (v, d = 1) => (v == null ? "–" : v.toLocaleString(S.lang === "zh" ? "zh-CN" : "en", { maximumFractionDigits: d }));

function translate() {
  document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  $("lang").textContent = S.lang === "zh" ? "English" : "中文";
  $("legend").innerHTML = Object.keys(COLORS).map((k) =>
    `<span><i style="background:${COLORS[k]}"></i>${t(k === "none" ? "no_state" : k)}</span>`).join("");
}

function showLogin() {
  document.querySelectorAll(".view").forEach((v) => (v.hidden = true));
  $("login").hidden = false;
}


async function start() {
  const me = await api("/auth/me");
  $("user").textContent = me.user;
  const sites = await api("/sites");
  $("site").innerHTML = sites.map((s) => `<option value="${s.id}">${s.name || s.id}</option>`).join("");
  await openSite(sites[0].id);
}

async function openSite(id) {
  S.site = id;
  S.lines = null;
  S.plant = await api(`/sites/${id}`);
  $("line-pick").innerHTML = S.plant.areas.flatMap((a) => a.lines.map((l) =>
    `<option value="${l.path}">${l.name || l.id}</option>`)).join("");
  renderTree();
  connectLive();
  show(S.view);
}

function renderTree() {
  $("tree").innerHTML = S.plant.areas.map((a) => `<div class="area"><h3>${a.name || a.id}</h3>` +
    a.lines.map((l) => `<div class="line" data-line="${l.path}"><span class="name">${l.name || l.id}</span>` +
      `<span class="oee" id="oee-${l.path}">${t("oee")} –</span>` +
      l.equipment.map((e) => `<span class="equipment"><small>${e.id}</small>` +
        Array.from({ length: e.units }, (_, i) => {
          const path = e.units === 1 ? `${l.path}/${e.id}` : `${l.path}/${e.id}/${i + 1}`;
          return `<span class="unit" data-path="${path}" style="background:${COLORS.none}">${e.units === 1 ? "" : i + 1}</span>`;
        }).join("") + "</span>").join("") + "</div>").join("") + "</div>").join("");
  if (S.lines) paintLines(S.lines);
  refreshUnits();
  refreshLines();
}

function paintUnit(path, state, since, reason) {
  const el = document.querySelector(`.unit[data-path="${CSS.escape(path)}"]`);
  if (!el) return;
  el.style.background = COLORS[state || "none"];
  el.dataset.state = state || "";
  el.title = `${path}\n${t(state || "no_state")}${reason ? " (" + reason + ")" : ""}` +
    (since ? `\n${plantTime(since)}` : "");
}

async function refreshUnits() {
  const doc = await api(`/sites/${S.site}/units`);
  $("clock").textContent = plantTime(doc.now);
  doc.units.forEach((u) => paintUnit(u.path, u.state, u.since, u.reason));
}

function paintLines(lines) {
  S.lines = lines;
  lines.forEach((l) => {
    const el = document.getElementById(`oee-${l.path}`);
    if (el) el.textContent = `${t("today_oee")} ${pct(l.oee)}`;
  });
}
async function refreshLines() { paintLines((await api(`/sites/${S.site}/lines/today`)).lines); }

function connectLive() {
  if (S.live) S.live.close();
  S.live = new EventSource(`${API}/sites/${S.site}/live`);
  S.live.addEventListener("state", (ev) => {
    const m = JSON.parse(ev.data);
    paintUnit(m.path, m.state, m.since, m.reason);
    $("clock").textContent = plantTime(m.since);
  });
  S.live.addEventListener("kpi", (ev) => paintLines(JSON.parse(ev.data).lines));
}

function show(view) {
  S.view = view;
  document.querySelectorAll(".view").forEach((v) => (v.hidden = v.id !== view));
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.view === view));
  if (view === "line") showLine();
  if (view === "plan") showPlans();
  if (view === "energy") showEnergy();
  if (view === "dead") showDead();
}

function windowParams() {
  const p = new URLSearchParams();
  if ($("line-from").value) p.set("from", $("line-from").value);
  if ($("line-to").value) p.set("to", $("line-to").value);
  return p;
}

async function showLine() {
  const node = $("line-pick").value;
  const p = windowParams(); p.set("node", node);
  const by = new URLSearchParams(p); by.set("by", $("line-by").value);
  const [doc, losses, neck] = await Promise.all([api(`/sites/${S.site}/kpis?${by}`),
    api(`/sites/${S.site}/losses?${p}`), api(`/sites/${S.site}/bottleneck?${p}`).catch(() => null)]);
  const k = doc.total.kpis;
  $("line-summary").innerHTML = ["oee_index", "availability", "effectiveness", "quality_ratio"].map((n) =>
    `<div class="card">${t(n === "oee_index" ? "oee" : n)}<b>${pct(k[n])}</b></div>`).join("") +
    `<div class="card">${plantTime(doc.from)} – ${plantTime(doc.to)}</div>`;
  const labels = doc.groups.map((g) => g.group.local_day + (g.group.shift ? " " + g.group.shift : ""));
  Plotly.react("line-oee", ["oee_index", "availability", "effectiveness", "quality_ratio"].map((n) => ({
    type: n === "oee_index" ? "bar" : "scatter", name: t(n === "oee_index" ? "oee" : n), x: labels,
    y: doc.groups.map((g) => g.kpis[n]) })), { title: t("oee"), xaxis: { type: "category" }, yaxis: { tickformat: ".0%", range: [0, 1.05] },
    margin: { t: 40, b: 80 } }, { displaylogo: false });
  const lk = Object.keys(losses.losses_s).filter((x) => x !== "fully_productive_s");
  Plotly.react("line-losses", [{ type: "bar", x: lk.map(t), y: lk.map((x) => losses.losses_s[x] / 3600) }],
    { title: t("losses"), margin: { t: 40, b: 90 } }, { displaylogo: false });
  const par = losses.downtime_pareto;
  Plotly.purge("line-pareto");
  $("line-pareto").innerHTML = par.length ? "" : `<p class="empty">${t("pareto")}: ${t("no_downtime")}</p>`;
  if (par.length) Plotly.react("line-pareto", [
    { type: "bar", name: "h", x: par.map((r) => r.reason || t(r.state)), y: par.map((r) => r.seconds / 3600) },
    { type: "scatter", name: "%", yaxis: "y2", x: par.map((r) => r.reason || t(r.state)), y: par.map((r) => r.cumulative_share) }],
    { title: t("pareto"), yaxis2: { overlaying: "y", side: "right", tickformat: ".0%", range: [0, 1.05] },
      showlegend: false, margin: { t: 40, b: 90 } }, { displaylogo: false });
  $("line-bottleneck").innerHTML = neck && neck.bottleneck ? `<div class="card">${t("bottleneck")} ` +
    `(${t("bottleneck_method")})<b>${neck.bottleneck}</b>${t("active_period")}: ` +
    neck.pools.map((x) => `${x.equipment} ${num(x.mean_active_period_s / 60)}`).join(" · ") + "</div>" : "";
  S.lastDoc = doc;
}
async function showPlans() {
  S.plans = await api(`/sites/${S.site}/schedules`);
  const done = S.plans.filter((p) => p.status === "done");
  $("plan-pick").innerHTML = done.map((p) => `<option value="${p.id}">${p.id}${p.parent ? " ← " + p.parent : ""} · ` +
    `${p.objective_name} ${num(p.objective, 0)}</option>`).join("");
  if (!done.length) { $("plan-info").textContent = t("no_plan").replace("{site}", S.site); Plotly.purge("gantt"); return; }
  await showGantt($("plan-pick").value);
}

async function showGantt(id) {
  const g = await api(`/sites/${S.site}/schedules/${id}/gantt`);
  const units = [...new Set(g.bars.map((b) => b.unit))].sort();
  const products = [...new Set(g.bars.map((b) => b.product))].sort();
  const traces = products.map((prod) => {
    const bars = g.bars.filter((b) => b.product === prod);
    return { type: "bar", orientation: "h", name: prod, y: bars.map((b) => b.unit),
      base: bars.map((b) => plantStamp(b.start)),
      x: bars.map((b) => new Date(b.end) - new Date(b.start)),
      text: bars.map((b) => `${b.order} ${b.operation}`), textposition: "none", hovertemplate: "%{text}<extra>" + prod + "</extra>",
      marker: { line: { width: bars.map((b) => (b.moved ? 2 : 0)), color: "#d32f2f" } } };
  });
  const now = plantStamp(g.now);
  Plotly.react("gantt", traces, { barmode: "overlay", xaxis: { type: "date" },
    yaxis: { categoryorder: "array", categoryarray: units.slice().reverse() },
    shapes: [{ type: "line", xref: "x", yref: "paper", x0: now, x1: now, y0: 0, y1: 1, line: { color: "#d32f2f", width: 2 } }],
    annotations: [{ x: now, y: 1, yref: "paper", text: t("now"), showarrow: false, font: { color: "#d32f2f" } }],
    margin: { l: 140, t: 20 } }, { displaylogo: false });
  const moved = g.bars.filter((b) => b.moved).length;
  $("plan-info").textContent = `${g.bars.length} ops · ${units.length} units` + (g.parent ? ` · ${t("moved")}: ${moved}` : "");
}

async function showEnergy() {
  const e = await api(`/sites/${S.site}/energy?${windowParams()}`);
  $("energy-summary").innerHTML = [["energy_kwh", e.energy_kwh, 0], ["cost", e.energy_cost_cny, 0],
    ["kwh_per_unit", e.energy_per_finished_unit_kwh, 1], ["kwh_per_10k", e.energy_per_10k_cny_value_added_kwh, 1]]
    .map(([k, v, d]) => `<div class="card">${t(k)}<b>${num(v, d)}</b></div>`).join("");
  const x = e.hours.map((h) => plantStamp(h.hour));
  Plotly.react("energy-load", [{ type: "bar", name: t("load"), x, y: e.hours.map((h) => h.kwh) },
    { type: "scatter", mode: "lines", line: { shape: "hv" }, name: t("price"), yaxis: "y2", x, y: e.hours.map((h) => h.price_cny_per_kwh) }],
    { xaxis: { type: "date" }, yaxis: { title: t("load") }, yaxis2: { title: t("price"), overlaying: "y", side: "right" },
      margin: { t: 20, b: 60 }, legend: { orientation: "h", y: -0.25 } }, { displaylogo: false });
}

const esc = (text) => String(text ?? "").replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

async function showDead() {
  try {
    const d = await api(`/sites/${S.site}/dead-letters`);
    $("dead-info").textContent = `${d.count} ${t("pending")}`;
    $("dead-table").innerHTML = `<tr><th>${t("received")}</th><th>${t("topic")}</th><th>${t("reason")}</th></tr>` +
      d.items.map((x) => `<tr><td>${plantTime(x.received_at)}</td><td>${esc(x.topic)}</td><td>${esc(x.reason)}</td></tr>`).join("");
  } catch (err) {
    $("dead-info").textContent = String(err.message).replace(/^\d+ /, "");
    $("dead-table").innerHTML = "";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  translate();
  $("login").addEventListener("submit", login);
  $("lang").addEventListener("click", () => {
    S.lang = S.lang === "zh" ? "en" : "zh"; localStorage.setItem("lang", S.lang); translate();
    if (S.plant) { renderTree(); show(S.view); }
  });
  $("logout").addEventListener("click", async () => { await api("/auth/logout", { method: "POST" }); location.reload(); });
  document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.view)));
  $("site").addEventListener("change", (ev) => openSite(ev.target.value));
  $("line-go").addEventListener("click", showLine);
  $("line-pick").addEventListener("change", showLine);
  $("plan-pick").addEventListener("change", (ev) => showGantt(ev.target.value));
  setInterval(() => { if (S.plant && S.view === "overview") refreshLines().catch(() => {}); }, 15000);
  start().catch(() => showLogin());
});
