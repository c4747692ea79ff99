// factoryos programme pages: the city view and a factory's report for the programme officer,
// a plant's own assessment for its site's users. Plain JS over /api/v1, offline (plotly served
// by the server), English / 中文.
"use strict";

const L = {
  en: {
    dashboard: "Dashboard", city: "City view", factory: "Factory report", plant: "Our assessment",
    award_year: "Award year", sign_in: "Sign in", user: "User", password: "Password",
    wrong_login: "Wrong user name or password", shortlist: "Award shortlist",
    by_district: "Ranking by district", by_industry: "Ranking by industry", factories: "Factories",
    gaps: "Gaps to the next level", all_districts: "all districts", all_industries: "all industries",
    all_levels: "all levels", level: "Level", levels: "Factories by maturity level",
    density_industry: "Robot density by industry (per 10,000 employees)",
    density_district: "Robot density by district (per 10,000 employees)",
    gains_district: "Median productivity change by district (%)", programme: "programme",
    name: "Name", district: "District", industry: "Industry", year: "Certified", score: "Score",
    robots_10k: "Robots/10k", productivity: "Productivity %", energy: "Energy/VA %", reasons: "Reasons",
    n: "Factories", mean_level: "Mean level", l3: "Level 3+", total: "Total score",
    sub_domains: "Sub-domain scores", gains: "Gains, current vs baseline (95 % interval)",
    not_officer: "The city view is for programme officers (role program_officer).",
    no_registry: "This server has no programme registry (serve --registry FILE).",
    of: "of", met: "met", unmet: "not met", density: "Robot density", type: "Type",
    level_scores: "Level scores", requirement: "Requirement", source: "Source", points: "Points",
    no_sites: "No site to assess.", of_employees: "robots per 10,000 employees", this_factory: "this factory",
  },
  zh: {
    dashboard: "仪表盘", city: "全市总览", factory: "工厂报告", plant: "本厂评估",
    award_year: "评优年度", sign_in: "登录", user: "用户名", password: "密码",
    wrong_login: "用户名或密码错误", shortlist: "评优候选名单",
    by_district: "按区排名", by_industry: "按行业排名", factories: "工厂",
    gaps: "距下一等级的差距", all_districts: "全部区", all_industries: "全部行业",
    all_levels: "全部等级", level: "等级", levels: "各成熟度等级工厂数",
    density_industry: "各行业机器人密度（台/万人）", density_district: "各区机器人密度（台/万人）",
    gains_district: "各区劳动生产率变化中位数（%）", programme: "项目",
    name: "名称", district: "区", industry: "行业", year: "认定年份", score: "得分",
    robots_10k: "台/万人", productivity: "劳动生产率 %", energy: "万元增加值能耗 %", reasons: "理由",
    n: "工厂数", mean_level: "平均等级", l3: "三级及以上", total: "总分",
    sub_domains: "能力子域得分", gains: "成效：当前对比基线（95% 区间）",
    not_officer: "全市总览仅供项目管理人员（program_officer 角色）使用。",
    no_registry: "本服务未配置项目登记库（serve --registry FILE）。",
    of: "/", met: "已达成", unmet: "未达成", density: "机器人密度", type: "类型",
    level_scores: "各等级得分", requirement: "要求", source: "来源", points: "分值",
    no_sites: "没有可评估的工厂。", of_employees: "台/万名员工", this_factory: "本厂",
  },
};
const S = { lang: localStorage.getItem("lang") || "en", view: "city", city: null, factory: null };
const t = (k) => L[S.lang][k] ?? L.en[k] ?? k;
const zh = () => S.lang === "zh";
const esc = (x) => String(x ?? "").replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (v, d = 1) => (v == null ? "–" : Number(v).toLocaleString(zh() ? "zh-CN" : "en", { maximumFractionDigits: d }));
const pct = (v) => (v == null ? "–" : (v > 0 ? "+" : "") + num(v, 1));
const cfg = { displaylogo: false, responsive: true };

const year = () => $("year").value || "2025";

function translate() {
  document.documentElement.lang = zh() ? "zh-CN" : "en";
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  $("lang").textContent = zh() ? "English" : "中文";
}
function message(text) { $("message").textContent = text || ""; $("message").hidden = !text; }
function showLogin() {
  document.querySelectorAll(".view").forEach((v) => (v.hidden = true));
  $("login").hidden = false;
}

async function start() {
  const me = await api("/auth/me");
  $("user").textContent = me.user;
  const p = await api("/program/me");
  S.officer = p.program_officer;
  const sites = await api("/sites");
  $("site").innerHTML = sites.map((s) => `<option value="${esc(s.id)}">${esc(s.name || s.id)}</option>`).join("");
  show(location.hash.slice(1) || (S.officer ? "city" : "plant"));
}

function show(view) {
  S.view = view;
  message("");
  document.querySelectorAll(".view").forEach((v) => (v.hidden = v.id !== view));
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.view === view));
  const run = { city: showCity, factory: () => showFactory(S.factory), plant: showPlant }[view];
  if (run) run().catch((err) => {
    if (err.status === 403) message(t("not_officer"));
    else if (err.status === 404 && view !== "plant") message(t("no_registry"));
    else if (err.status !== 401) message(String(err.message));
  });
}

// -- city view ------------------------------------------------------------------------------

function options(el, all, values, current) {
  el.innerHTML = `<option value="">${esc(all)}</option>` +
    values.map((v) => `<option value="${esc(v)}"${String(v) === current ? " selected" : ""}>${esc(v)}</option>`).join("");
}

async function showCity() {
  const y = year();
  const [targets, ranks, short, dens] = await Promise.all([api(`/program/targets?year=${y}`),
    api(`/program/rankings?year=${y}`), api(`/program/shortlist?year=${y}`), api(`/program/density?year=${y}`)]);
  $("targets").innerHTML = targets.targets.map((x) => `<div class="card">${esc(zh() ? x.text_zh : x.text_en)}` +
    `<b class="${x.met ? "met" : "unmet"}">${x.share ? num(100 * x.actual, 0) + " %" : num(x.actual, 0)}` +
    ` ${t("of")} ${x.share ? num(100 * x.goal, 0) + " %" : num(x.goal, 0)}</b>${t(x.met ? "met" : "unmet")}</div>`).join("");
  const refs = dens.references;
  const refLines = (n) => ({
    shapes: refs.map((r) => ({ type: "line", xref: "paper", x0: 0, x1: 1, y0: r.per_10k, y1: r.per_10k, line: { dash: "dot", width: 1 } })),
    annotations: refs.map((r) => ({ xref: "paper", x: 1, y: r.per_10k, xanchor: "right", yanchor: "bottom", showarrow: false,
      text: `${esc(zh() ? r.name_zh : r.name_en)} ${r.per_10k}`, font: { size: 10 } })),
    title: { text: t(n) }, margin: { t: 40, b: 80 } });
  Plotly.react("chart-density", [{ type: "bar", x: dens.by_industry.map((g) => g.group), y: dens.by_industry.map((g) => g.per_10k) }],
    refLines("density_industry"), cfg);
  Plotly.react("chart-density-district", [{ type: "bar", x: dens.by_district.map((g) => g.group), y: dens.by_district.map((g) => g.per_10k) }],
    refLines("density_district"), cfg);
  const d = ranks.by_district;
  Plotly.react("chart-gains", [{ type: "bar", x: d.map((g) => g.group), y: d.map((g) => g.median_productivity_pct) }],
    { title: { text: t("gains_district") }, margin: { t: 40, b: 80 },
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 50, y1: 50, line: { dash: "dot", width: 1 } }],
      annotations: [{ xref: "paper", x: 1, y: 50, xanchor: "right", yanchor: "bottom", showarrow: false, text: `${t("programme")} +50 %` }] }, cfg);
  $("shortlist").innerHTML = `<tr><th>#</th><th>${t("name")}</th><th>${t("district")}</th><th>${t("industry")}</th>` +
    `<th>${t("level")}</th><th>${t("reasons")}</th></tr>` + short.nominees.map((n) =>
      `<tr class="pick" data-id="${esc(n.factory_id)}"><td>${n.rank}</td><td>${esc(n.name)}</td><td>${esc(n.district)}</td>` +
      `<td>${esc(n.industry)}</td><td>${n.level}</td><td>${n.reasons.map(esc).join("<br>")}</td></tr>`).join("");
  $("rank-district").innerHTML = rankTable(ranks.by_district);
  $("rank-industry").innerHTML = rankTable(ranks.by_industry);
  await showFactories();
}

function rankTable(rows) {
  return `<tr><th>#</th><th></th><th>${t("n")}</th><th>${t("mean_level")}</th><th>${t("score")}</th><th>${t("l3")}</th>` +
    `<th>${t("productivity")}</th><th>${t("energy")}</th><th>${t("robots_10k")}</th></tr>` +
    rows.map((g) => `<tr><td>${g.rank}</td><td>${esc(g.group)}</td><td class="num">${g.factories}</td>` +
      `<td class="num">${num(g.mean_level, 2)}</td><td class="num">${num(g.mean_total, 2)}</td>` +
      `<td class="num">${num(100 * g.share_level_3_plus, 0)} %</td><td class="num">${pct(g.median_productivity_pct)}</td>` +
      `<td class="num">${pct(g.median_energy_pct)}</td><td class="num">${num(g.density.per_10k, 0)}</td></tr>`).join("");
}

async function showFactories() {
  const p = new URLSearchParams({ year: year() });
  for (const [k, id] of [["district", "f-district"], ["industry", "f-industry"], ["level", "f-level"]]) {
    if ($(id).value) p.set(k, $(id).value);
  }
  const doc = await api(`/program/factories?${p}`);
  options($("f-district"), t("all_districts"), doc.districts, p.get("district") || "");
  options($("f-industry"), t("all_industries"), doc.industries, p.get("industry") || "");
  options($("f-level"), t("all_levels"), [0, 1, 2, 3, 4, 5], p.get("level") || "");
  $("f-count").textContent = `${doc.count} / ${doc.of}`;
  const lv = Object.keys(doc.levels);
  Plotly.react("chart-levels", [{ type: "bar", x: lv.map((k) => `${t("level")} ${k}`), y: lv.map((k) => doc.levels[k]) }],
    { title: { text: t("levels") }, margin: { t: 40 } }, cfg);
  $("factories").innerHTML = `<tr><th>${t("name")}</th><th>${t("district")}</th><th>${t("industry")}</th><th>${t("year")}</th>` +
    `<th>${t("level")}</th><th>${t("score")}</th><th>${t("productivity")}</th><th>${t("energy")}</th><th>${t("robots_10k")}</th></tr>` +
    doc.factories.slice(0, 500).map((f) => `<tr class="pick" data-id="${esc(f.factory_id)}"><td>${esc(f.name)}</td>` +
      `<td>${esc(f.district)}</td><td>${esc(f.industry)}</td><td>${f.certification_year ?? "–"}</td><td class="num">${f.level}</td>` +
      `<td class="num">${num(f.total_score, 2)}</td><td class="num">${pct(f.change_pct.value_added_per_labour_hour_cny)}</td>` +
      `<td class="num">${pct(f.change_pct.energy_per_10k_cny_value_added_kwh)}</td><td class="num">${num(f.density.per_10k, 0)}</td></tr>`).join("");
}

// -- one factory's report ---------------------------------------------------------------------

function radar(el, levels, wanted) {
  // the factory's level and the next; all levels when it has scores for neither
  const pick = levels.some((lv) => wanted(lv.level)) ? wanted : () => true;
  const traces = levels.map((lv) => {
    const subs = lv.sub_domains;
    const names = subs.map((s) => (zh() ? s.name_zh : s.name_en));
    return { type: "scatterpolar", fill: "toself", name: `${t("level")} ${lv.level}`, r: [...subs.map((s) => s.score), subs[0]?.score],
      theta: [...names, names[0]], visible: pick(lv.level) ? true : "legendonly" };
  });
  Plotly.react(el, traces, { title: { text: t("sub_domains") }, polar: { radialaxis: { range: [0, 1] } }, margin: { t: 50, l: 80, r: 80 } }, cfg);
}

function gainsChart(el, gains) {
  const g = (gains || []).filter((x) => x.change_pct != null);
  const name = (x) => (zh() ? x.name_zh : x.name_en);
  Plotly.react(el, [
    { type: "bar", name: t("this_factory"), x: g.map(name), y: g.map((x) => x.change_pct),
      error_y: { type: "data", symmetric: false, array: g.map((x) => x.high_pct - x.change_pct), arrayminus: g.map((x) => x.change_pct - x.low_pct) } },
    { type: "scatter", mode: "markers", name: t("programme"), marker: { symbol: "diamond", size: 11 }, x: g.map(name), y: g.map((x) => x.programme_reported_pct) },
  ], { title: { text: t("gains") }, margin: { t: 40, b: 90 } }, cfg);
}

async function showFactory(id) {
  if (!id) { message(t("city")); return; }
  const f = await api(`/program/factories/${encodeURIComponent(id)}?year=${year()}`.replace(/%2F/g, "/"));
  $("factory-name").textContent = f.name;
  $("factory-cards").innerHTML = [[t("district"), esc(f.district)], [t("industry"), esc(f.industry)],
    [t("year"), f.certification_year ?? "–"], [t("level"), f.level], [t("total"), num(f.total_score, 2)],
    [t("density"), `${num(f.density.per_10k, 0)} <small>${t("of_employees")}</small>`]]
    .map(([k, v]) => `<div class="card">${k}<b>${v}</b></div>`).join("");
  radar("factory-radar", f.sub_domain_scores, (lv) => lv === Math.min(5, f.level + 1) || lv === f.level);
  gainsChart("factory-gains", f.gains);
}

// -- the plant's own assessment -----------------------------------------------------------------

async function showPlant() {
  const site = $("site").value;
  if (!site) { message(t("no_sites")); return; }
  const a = await api(`/sites/${encodeURIComponent(site)}/assessment`);
  $("plant-cards").innerHTML = [[t("level"), a.level], [t("total"), num(a.total_score, 2)], [t("type"), a.type],
    [t("density"), `${num(a.density.per_10k, 0)} <small>${t("of_employees")}</small>`]]
    .map(([k, v]) => `<div class="card">${k}<b>${v}</b></div>`).join("");
  radar("plant-radar", a.levels, (lv) => lv === Math.min(5, a.level + 1) || lv === a.level);
  Plotly.react("plant-levels", [{ type: "bar", x: a.levels.map((l) => `${t("level")} ${l.level}`), y: a.levels.map((l) => l.score),
    marker: { color: a.levels.map((l) => (l.counts ? "#2e9d4f" : "#9e9e9e")) } }],
    { title: { text: t("level_scores") }, yaxis: { range: [0, 1] }, margin: { t: 40 },
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 0.8, y1: 0.8, line: { dash: "dot", width: 1 } }] }, cfg);
  const req = Object.fromEntries(a.requirements.map((r) => [r.id, r]));
  $("plant-gaps").innerHTML = `<tr><th>${t("requirement")}</th><th>${t("score")}</th><th>${t("source")}</th><th>${t("points")}</th></tr>` +
    a.gaps.map((g) => { const r = req[g.id]; return `<tr><td>${esc(g.id)} ${esc(zh() ? r.text_zh : r.text_en)}</td>` +
      `<td class="num">${num(g.score, 1)}</td><td>${esc(r.source)}</td><td class="num">${num(g.level_points, 3)}</td></tr>`; }).join("");
}

document.addEventListener("DOMContentLoaded", () => {
  translate();
  $("login").addEventListener("submit", login);
  $("lang").addEventListener("click", () => {
    S.lang = zh() ? "en" : "zh"; localStorage.setItem("lang", S.lang); translate(); show(S.view);
  });
  document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.view)));
  $("year").addEventListener("change", () => show(S.view));
  $("site").addEventListener("change", () => show("plant"));
  for (const id of ["f-district", "f-industry", "f-level"]) $(id).addEventListener("change", () => showFactories().catch((e) => message(e.message)));
  document.addEventListener("click", (ev) => {
    const row = ev.target.closest("tr.pick");
    if (row) { S.factory = row.dataset.id; show("factory"); }
  });
  start().catch(() => showLogin());
});
