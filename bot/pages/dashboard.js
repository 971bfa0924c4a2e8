// Manager dashboard: the service indicators of the brief over a window, alerts on top.
let token = AC.store.getItem("ac.staff.token");
const $ = (id) => document.getElementById(id);
const show = (id, on) => $(id).classList.toggle("hidden", !on);
// [indicator, label, format, what it is counted over]: a rate over 3 tickets is not one
// over 300, and the basis line says which it is
const CARDS = [
  ["csat_avg", "Satisfaction (CSAT, 1–5) · 满意度", (v) => v, (v) => count(v.csat_responses, "ratings · 条评分")],
  ["csat_satisfied_share", "Satisfied (4–5) · 满意占比", pct, (v) => count(v.csat_responses, "ratings · 条评分")],
  ["resolution_rate", "Resolution rate · 问题解决率", pct, (v) => `${v.resolved} / ${v.tickets} tickets · 工单`],
  ["first_response_min_p50", "First response p50 · 首次响应中位数", mins, answered],
  ["first_response_min_p90", "First response p90 · 首次响应 P90", mins, answered],
  ["resolution_min_p50", "Resolution time p50 · 解决时长中位数", mins, (v) => count(v.resolved, "resolved · 已解决")],
  ["containment", "Containment (bot only) · 机器人独立解决", pct, conversations],
  ["complaint_rate", "Complaint rate · 投诉率", pct, conversations],
  ["sla_breach_rate", "SLA breaches · SLA 超时率", pct, tickets],
  ["queue_waiting", "Waiting now · 当前排队", (v) => v, null],
  ["queue_oldest_min", "Longest wait · 最长等待", mins, null],
  ["conversations", "Conversations · 会话数", (v) => v, (v) => count(v.handed_off, "handed to a person · 转人工")],
];
function count(n, what) { return n == null ? "" : `${n} ${n === 1 ? what.replace(/^(\w+)s\b/, "$1") : what}`; }
function answered(v) { return count(v.responded, "answered by a person · 人工已响应"); }
function tickets(v) { return count(v.tickets, "tickets · 工单"); }
function conversations(v) { return count(v.conversations, "conversations · 会话"); }
function pct(v) { return `${(v * 100).toFixed(1)}%`; }
// the API rounds minutes to 0.1, so a 2-second first response arrives as 0: "< 1 min", not "0 min"
function mins(v) { return v < 1 ? "< 1 min" : v < 60 ? `${v} min` : `${(v / 60).toFixed(1)} h`; }

async function refresh() {
  try {
    const res = await AC.api(`/api/manager/metrics?hours=${$("hours").value}`, { token });
    const bad = new Set(res.alerts.map((a) => a.indicator));
    $("alerts").replaceChildren(...res.alerts.map((a) => AC.el("div", { class: "alert", "data-alert": a.indicator },
      `⚠ ${a.label}: ${a.value} ${a.op} ${a.threshold}`)));
    $("cards").replaceChildren(...CARDS.map(([key, label, fmt, basis]) => AC.el("div", { class: "card" + (bad.has(key) ? " bad" : ""), "data-indicator": key },
      AC.el("div", { class: "muted" }, label), AC.el("div", { class: "value" }, res.values[key] == null ? "—" : fmt(res.values[key])),
      basis ? AC.el("div", { class: "basis muted" }, basis(res.values)) : null)));
    const rows = res.agents.map((a) => AC.el("tr", { "data-agent": a.agent },
      AC.el("td", {}, a.name), AC.el("td", {}, String(a.taken)), AC.el("td", {}, String(a.resolved)),
      AC.el("td", {}, a.first_response_min_p50 == null ? "—" : mins(a.first_response_min_p50)),
      AC.el("td", {}, a.csat_avg == null ? "—" : `${a.csat_avg} (${count(a.csat_responses, "ratings · 条评分")})`)));
    $("agents").tBodies[0].replaceChildren(...(rows.length ? rows
      : [AC.el("tr", {}, AC.el("td", { colspan: "5", class: "muted" }, "No chat taken by a person in this window · 该时段没有人工接入"))]));
    const history = await AC.api("/api/manager/alerts?limit=20", { token });
    $("history").replaceChildren(...history.map((h) => AC.el("tr", {}, AC.el("td", {}, new Date(h.at * 1000).toLocaleString()),
      AC.el("td", {}, h.state), AC.el("td", {}, h.label || h.indicator), AC.el("td", {}, h.value == null ? "" : String(h.value)))));
  } catch (e) { if (e.status === 401 || e.status === 403) logout(e.message); }
}

async function login(e) {
  e.preventDefault();
  try {
    const res = await AC.api("/api/auth/login", { method: "POST", body: { username: $("username").value, password: $("password").value } });
    token = res.token; AC.store.setItem("ac.staff.token", token); await boot();
  } catch (err) { $("login-error").textContent = err.message; }
}
function logout(why) { AC.store.removeItem("ac.staff.token"); token = null; show("app", false); show("login", true); if (why) $("login-error").textContent = why; }

async function boot() {
  if (!token) { show("login", true); return; }
  let me;
  try { me = await AC.api("/api/auth/me", { token }); } catch (e) { logout(); return; }
  if (!me.roles.some((r) => r === "manager" || r === "admin")) { logout("This page needs the manager role · 需要主管权限"); return; }
  show("login", false); show("app", true); show("logout", true);
  $("who").textContent = `${me.display_name} (${me.id})`;
  await refresh();
  setInterval(refresh, 10000);
}
$("login").onsubmit = login;
$("logout").onclick = () => logout();
$("hours").onchange = refresh;
boot();
