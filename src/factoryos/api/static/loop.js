// The live loop's page: what the loop re-planned and why, the twin's on-time probabilities before
// and after, and approve / reject for a planner (policy "approval"). Uses app.js's helpers.
"use strict";

Object.assign(I18N.en, {
  loop: "Live loop", loop_off: "The live loop is off (factoryos serve --loop auto|approval).",
  policy: "Policy", plan_in_force: "Plan in force", held: "Waiting for approval", known_down: "Known downtime",
  trigger: "Trigger", status: "Status", moved_ops: "Moved", on_time: "Orders on time (expected)",
  tardiness: "Tardiness (h)", latency: "Latency (s)", approve: "Approve", reject: "Reject",
  moves: "What moved and why", order: "Order", step: "Step", old: "Before", new: "After",
  shift_h: "Shift (h)", on_time_orders: "On-time probability per order (changed)", none_yet: "Nothing yet.",
});
Object.assign(I18N.zh, {
  loop: "闭环重排", loop_off: "闭环未开启（factoryos serve --loop auto|approval）。",
  policy: "策略", plan_in_force: "执行中的计划", held: "待批准", known_down: "已知停机",
  trigger: "触发", status: "状态", moved_ops: "变动工序", on_time: "准时订单数（期望）",
  tardiness: "拖期（小时）", latency: "延迟（秒）", approve: "批准", reject: "驳回",
  moves: "变动内容及原因", order: "订单", step: "工序", old: "调整前", new: "调整后",
  shift_h: "偏移（小时）", on_time_orders: "各订单准时概率（有变化）", none_yet: "暂无。",
});

const L = { open: null, timer: null };

async function showLoop() {
  let st;
  try { st = await api(`/sites/${S.site}/loop`); } catch (err) {
    $("loop-state").innerHTML = `<p class="empty">${t("loop_off")}</p>`; $("loop-table").innerHTML = ""; return;
  }
  $("loop-state").innerHTML = [[t("policy"), st.policy], [t("plan_in_force"), st.plan || "–"],
    [t("held"), st.held.length], [t("known_down"), st.down.map((d) => `${d.equipment}/${d.unit}`).join(", ") || "–"]]
    .map(([k, v]) => `<div class="card">${k}<b>${esc(v)}</b></div>`).join("");
  const items = await api(`/sites/${S.site}/loop/events?limit=50`);
  if (!items.length) { $("loop-table").innerHTML = `<tr><td>${t("none_yet")}</td></tr>`; $("loop-detail").innerHTML = ""; return; }
  const arrow = (a, b, d) => `${num(a, d)} → <b>${num(b, d)}</b>`;
  $("loop-table").innerHTML = `<tr><th></th><th>${t("trigger")}</th><th>${t("status")}</th><th>${t("moved_ops")}</th>` +
    `<th>${t("on_time")}</th><th>${t("tardiness")}</th><th>${t("latency")}</th><th></th></tr>` +
    items.map((p) => `<tr data-id="${p.id}" class="pick"><td>${plantTime(p.triggers[0].observed_at)}</td>` +
      `<td>${p.triggers.map((x) => esc(x.why)).join("<br>")}</td><td>${esc(p.status)}${p.error ? `<br><small class="error">${esc(p.error)}</small>` : ""}</td>` +
      `<td>${p.summary.moved_operations ?? "–"}</td>` +
      `<td>${p.summary.orders_checked ? arrow(p.summary.on_time_orders_before, p.summary.on_time_orders_after, 1) + ` / ${p.summary.orders_checked}` : "–"}</td>` +
      `<td>${p.summary.orders_checked ? arrow(p.summary.tardiness_h_before, p.summary.tardiness_h_after, 0) : "–"}</td>` +
      `<td>${p.latency_s ?? "–"}</td><td>${p.status === "held" ? `<button data-act="approve" data-id="${p.id}">${t("approve")}</button> ` +
        `<button data-act="reject" data-id="${p.id}">${t("reject")}</button>` : ""}</td></tr>`).join("");
  if (!L.open || !items.some((p) => p.id === L.open)) L.open = items[0].id;
  await showProposal(L.open);
}

async function showProposal(id) {
  L.open = id;
  const p = await api(`/sites/${S.site}/loop/proposals/${id}`);
  const changed = (p.orders || []).filter((o) => o.on_time_before !== o.on_time_after)
    .sort((a, b) => Math.abs(b.on_time_after - (b.on_time_before ?? 0)) - Math.abs(a.on_time_after - (a.on_time_before ?? 0)));
  $("loop-detail").innerHTML = `<h3>${t("moves")} (${(p.moves || []).length})</h3><table><tr><th>${t("order")}</th><th>${t("step")}</th>` +
    `<th>${t("old")}</th><th>${t("new")}</th><th>${t("shift_h")}</th><th>${t("reason")}</th></tr>` +
    (p.moves || []).slice(0, 200).map((m) => `<tr><td>${esc(m.order_id)}</td><td>${esc(m.operation_id)}</td>` +
      `<td>${esc(m.old_unit)} ${m.old_start ? plantTime(m.old_start) : ""}</td><td>${esc(m.new_unit)} ${plantTime(m.new_start)}</td>` +
      `<td>${esc(m.shift_h)}</td><td>${esc(m.reason)}</td></tr>`).join("") + "</table>" +
    `<h3>${t("on_time_orders")}</h3><table><tr><th>${t("order")}</th><th>${t("old")}</th><th>${t("new")}</th></tr>` +
    changed.map((o) => `<tr><td>${esc(o.order_id)}</td><td>${pct(o.on_time_before)}</td><td><b>${pct(o.on_time_after)}</b></td></tr>`).join("") + "</table>";
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelector('nav button[data-view="loop"]').addEventListener("click", () => showLoop().catch(() => {}));
  $("loop-table").addEventListener("click", async (ev) => {
    const act = ev.target.dataset.act;
    if (act) {
      try { await api(`/sites/${S.site}/loop/proposals/${ev.target.dataset.id}/${act}`, { method: "POST" }); }
      catch (err) { alert(String(err.message)); }
      await showLoop();
      return;
    }
    const row = ev.target.closest("tr[data-id]");
    if (row) await showProposal(row.dataset.id);
  });
  L.timer = setInterval(() => { if (S.plant && S.view === "loop") showLoop().catch(() => {}); }, 3000);
});
