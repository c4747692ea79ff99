// factoryos maintenance risk page: failure risk per work unit (AI4I-trained classifier on the
// latest stored samples), the threshold, and the maintenance window proposed in the plan in
// force for units above it. Plain JS over /api/v1, offline, English / 中文.
"use strict";

const L = {
  en: {
    dashboard: "Dashboard", title: "Maintenance risk", threshold: "Threshold", sign_in: "Sign in",
    user: "User", password: "Password", wrong_login: "Wrong user name or password",
    unit: "Work unit", risk: "Failure risk", sampled: "Latest sample", window: "Proposed window",
    tardiness: "+ weighted tardiness h", late: "Late orders", lost: "Lost capacity h",
    missing: "missing", above: "above threshold", plan: "Plan in force", none: "none",
    model: "Model", samples: "Samples", forbidden: "The risk view is for maintenance, engineers, planners and admins.",
    training: "The risk model is training; this page refreshes by itself.",
  },
  zh: {
    dashboard: "仪表盘", title: "设备故障风险", threshold: "阈值", sign_in: "登录",
    user: "用户名", password: "密码", wrong_login: "用户名或密码错误",
    unit: "工位", risk: "故障风险", sampled: "最新采样", window: "建议维护窗口",
    tardiness: "+ 加权拖期（小时）", late: "延期订单", lost: "损失产能（小时）",
    missing: "缺少", above: "超过阈值", plan: "执行中的计划", none: "无",
    model: "模型", samples: "采样", forbidden: "设备故障风险仅供维护、工程、计划人员和管理员查看。",
    training: "风险模型正在训练，本页将自动刷新。",
  },
};
const S = { lang: localStorage.getItem("lang") || "en", timer: null, zones: {} };
const t = (k) => L[S.lang][k] ?? L.en[k] ?? k;
const zh = () => S.lang === "zh";
const esc = (x) => String(x ?? "").replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (v, d = 1) => (v == null ? "–" : Number(v).toLocaleString(zh() ? "zh-CN" : "en", { maximumFractionDigits: d }));
// times in the site's zone (the plant's clock), not the browser's
const when = (iso) => (iso ? new Date(iso).toLocaleString(zh() ? "zh-CN" : "en-CA",
  { timeZone: S.zones[$("site").value], year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }) : "");


function translate() {
  document.documentElement.lang = zh() ? "zh-CN" : "en";
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  $("lang").textContent = zh() ? "English" : "中文";
}
function message(text) { $("message").textContent = text || ""; $("message").hidden = !text; }
function showLogin() { $("risk").hidden = true; $("login").hidden = false; }

async function start() {
  const me = await api("/auth/me");
  $("user").textContent = me.user;
  const sites = await api("/sites");
  sites.forEach((s) => { S.zones[s.id] = s.timezone; });
  $("site").innerHTML = sites.map((s) => `<option value="${esc(s.id)}">${esc(s.name || s.id)}</option>`).join("");
  $("risk").hidden = false;
  await show();
}

function row(u, threshold) {
  const w = u.window;
  const risk = u.risk == null ? `${t("missing")} ${esc(u.missing.join(", "))}` :
    `<meter min="0" max="1" low="${threshold}" high="${threshold}" optimum="0" value="${u.risk}"></meter> ${num(u.risk, 3)}`;
  return `<tr class="${u.above_threshold ? "unmet" : ""}"><td>${esc(u.path.split("/").slice(-3).join("/"))}</td>` +
    `<td>${risk}${u.above_threshold ? ` <b>${t("above")}</b>` : ""}</td><td>${when(u.sampled_at)}</td>` +
    `<td>${w ? `${when(w.start)} – ${when(w.end)}` : ""}</td><td>${w ? num(w.added_weighted_tardiness_h) : ""}</td>` +
    `<td>${w ? w.late_orders : ""}</td><td>${w ? num(w.lost_capacity_h) : ""}</td></tr>`;
}

async function show() {
  clearTimeout(S.timer);
  message("");
  const site = $("site").value;
  const threshold = Number($("threshold").value || 0.5);
  let d;
  try {
    // the window search (duration_h, horizon_h, step_h, time_limit_s) may come in the page's URL
    const q = new URLSearchParams(location.search);
    q.set("threshold", threshold);
    d = await api(`/sites/${encodeURIComponent(site)}/risk?${q}`);
  } catch (err) {
    if (err.status === 403) message(t("forbidden"));
    else if (err.status !== 401) message(String(err.message));
    return;
  }
  if (d.model.status === "training") { message(t("training")); S.timer = setTimeout(show, 3000); }
  else if (d.note) message(d.note);
  $("facts").textContent = `${t("threshold")} ${num(d.threshold, 2)} · ${t("plan")}: ${d.plan || t("none")} · ` +
    `${t("model")}: ${d.model.status}` + (d.window ? ` · ${t("samples")}: ${when(d.window.from)} – ${when(d.window.to)}` : "");
  const head = ["unit", "risk", "sampled", "window", "tardiness", "late", "lost"].map((k) => `<th>${t(k)}</th>`).join("");
  $("units").innerHTML = `<tr>${head}</tr>` + d.units.map((u) => row(u, d.threshold)).join("");
}

$("login").addEventListener("submit", login);
$("site").addEventListener("change", show);
$("threshold").addEventListener("change", show);
$("lang").addEventListener("click", () => {
  S.lang = zh() ? "en" : "zh";
  localStorage.setItem("lang", S.lang);
  translate();
  show();
});
translate();
start().catch(() => {});
