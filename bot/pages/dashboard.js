// Manager dashboard: the service indicators of the brief over a window, alerts on top.
// What each number means is written in bot/metrics.py's docstring.
let token = AC.store.getItem("ac.staff.token");
let timer = null; // the one refresh timer: cleared on logout, never doubled by a re-login
let session = 0; // bumped on logout, so a refresh still in flight cannot redraw or log out
const $ = (id) => document.getElementById(id);
const show = (id, on) => $(id).classList.toggle("hidden", !on);
const BUSINESS = "business hours · 工作时间";
// [indicator, label, format, what it is counted over]: a rate over 3 tickets is not one
// over 300, and the basis line says which it is
const CARDS = [
  ["csat_avg", "Satisfaction (CSAT, 1–5) · 满意度", plain, ratings],
  ["csat_satisfied_share", "Satisfied (4–5) · 满意占比", pct, ratings],
  ["resolution_rate", "Resolution rate · 问题解决率", pct, (v) => `${v.resolved} / ${v.closed} closed · 已关闭 · ${v.open} open · 处理中`],
  ["closed", "Tickets closed · 已关闭工单", plain, (v) => `of ${v.tickets} tickets · 共 ${v.tickets} 张 · ${v.open} open · 处理中`],
  ["first_response_min_p50", "First response p50 · 首次响应中位数", mins, answered],
  ["first_response_min_p90", "First response p90 · 首次响应 P90", mins, answered],
  ["resolution_min_p50", "Resolution time p50 · 解决时长中位数", mins, resolved],
  ["resolution_min_p90", "Resolution time p90 · 解决时长 P90", mins, resolved],
  ["containment", "Containment (bot only) · 机器人独立解决", pct,
    (v) => `${conversations(v)} · ${v.handed_off} to a person · 转人工 · ${v.ended_unanswered} unanswered · 未获解答`],
  ["complaint_rate", "Complaint rate · 投诉率", pct, conversations],
  ["sla_breach_rate", "SLA breaches · SLA 超时率", pct, (v) => `${v.sla_breached} / ${v.sla_due} due tickets · 已到期工单`],
  ["queue_waiting", "Waiting now · 当前等待", plain, () => "not yet answered by a person · 尚无人工回复"],
  ["queue_oldest_min", "Longest wait · 最长等待", mins, () => BUSINESS],
  ["conversations", "Conversations · 会话数", plain, (v) => count(v.handed_off, "handed to a person · 转人工")],
];
const FORMAT = Object.fromEntries(CARDS.map(([key, , fmt]) => [key, fmt]));
// an indicator's value as its card shows it (8.3%, 1.8 h), for banners and the history too
function valueText(key, v) { return v == null ? "—" : (FORMAT[key] || plain)(v); }
function plain(v) { return String(v); }
function count(n, what) { return n == null ? "" : `${n} ${n === 1 ? what.replace(/^(\w+)s\b/, "$1") : what}`; }
function ratings(v) { return count(v.csat_responses, "ratings · 条评分"); }
function answered(v) { return `${count(v.responded, "answered by a person · 人工已响应")} · ${BUSINESS}`; }
function resolved(v) { return `${count(v.resolved, "resolved · 已解决")} · ${BUSINESS}`; }
function conversations(v) { return count(v.conversations, "conversations · 会话"); }
function pct(v) { return `${(v * 100).toFixed(1)}%`; }
// the API rounds minutes to 0.1, so a 2-second first response arrives as 0: "< 1 min", not "0 min"
function mins(v) { return v < 1 ? "< 1 min" : v < 60 ? `${v} min` : `${(v / 60).toFixed(1)} h`; }
function hhmmss(d) { return d.toLocaleTimeString("en-GB", { hour12: false }); }
// alert times in the service desk's zone, with the zone named: managers may sit elsewhere
function stamp(at, tz) {
  const d = new Date(at * 1000).toLocaleString("sv-SE", { timeZone: tz, hour12: false });
  return `${d} (${tz})`;
}
const STATES = { raised: "raised · 触发", cleared: "cleared · 解除" };

async function refresh() {
  const mine = session;
  let res, history;
  try {
    res = await AC.api(`/api/manager/metrics?hours=${$("hours").value}`, { token });
    history = await AC.api("/api/manager/alerts?limit=20", { token });
  } catch (e) {
    if (mine !== session) return; // logged out meanwhile: nothing to say
    if (e.status === 401 || e.status === 403) { logout("Your session has ended: sign in again · 登录已失效，请重新登录"); return; }
    // keep the numbers, but never let them pass for live ones
    $("app").classList.add("stale");
    $("refresh-error").textContent = `Refresh failed, numbers may be out of date · 刷新失败，数据可能已过时 (${e.message})`;
    show("refresh-error", true);
    return;
  }
  if (mine !== session) return;
  render(res, history);
  $("app").classList.remove("stale");
  show("refresh-error", false);
  const t = hhmmss(new Date());
  $("updated").textContent = `Updated ${t} · 更新于 ${t}`;
}

function render(res, history) {
  const bad = new Set(res.alerts.map((a) => a.indicator));
  $("alert-window").textContent = `Alerts look at the last ${res.alert_window_h} h, whatever window the cards show · 预警始终按最近 ${res.alert_window_h} 小时计算，与卡片时段无关`;
  $("alerts").replaceChildren(...res.alerts.map((a) => AC.el("div", { class: "alert", "data-alert": a.indicator },
    `⚠ ${a.label}: ${valueText(a.indicator, a.value)} ${a.op} ${valueText(a.indicator, a.threshold)}`)));
  $("cards").replaceChildren(...CARDS.map(([key, label, , basis]) => AC.el("div", { class: "card" + (bad.has(key) ? " bad" : ""), "data-indicator": key },
    AC.el("div", { class: "muted" }, label), AC.el("div", { class: "value" }, valueText(key, res.values[key])),
    AC.el("div", { class: "basis muted" }, basis(res.values)))));
  $("notes").textContent = `Times count business hours (${res.business_hours}, ${res.service_tz}) · 时长按工作时间计算. `
    + "p50 = median (the mean of the middle two for an even count) · P50 为中位数; "
    + "p90 = nearest rank: 90% took at most this long · P90 取最近秩：九成不超过此值.";
  const rows = res.agents.map((a) => AC.el("tr", { "data-agent": a.agent },
    AC.el("td", {}, a.name), AC.el("td", {}, String(a.taken)), AC.el("td", {}, String(a.resolved)),
    AC.el("td", {}, a.first_response_min_p50 == null ? "—" : mins(a.first_response_min_p50)),
    AC.el("td", {}, a.csat_avg == null ? "—" : `${a.csat_avg} (${ratings(a)})`)));
  $("agents").tBodies[0].replaceChildren(...(rows.length ? rows
    : [AC.el("tr", {}, AC.el("td", { colspan: "5", class: "muted" }, "No chat taken by a person in this window · 该时段没有人工接入"))]));
  $("history").tBodies[0].replaceChildren(...(history.length ? history.map((h) => AC.el("tr", { "data-state": h.state },
    AC.el("td", {}, stamp(h.at, res.service_tz)), AC.el("td", {}, STATES[h.state] || h.state),
    AC.el("td", {}, h.label || h.indicator),
    AC.el("td", {}, valueText(h.indicator, h.value) + (h.threshold == null ? "" : ` (limit · 阈值 ${valueText(h.indicator, h.threshold)})`))))
    : [AC.el("tr", {}, AC.el("td", { colspan: "4", class: "muted" }, "No alerts yet · 暂无预警"))]));
}

async function login(e) {
  e.preventDefault();
  try {
    const res = await AC.api("/api/auth/login", { method: "POST", body: { username: $("username").value, password: $("password").value } });
    token = res.token; AC.store.setItem("ac.staff.token", token); await boot();
  } catch (err) { $("login-error").textContent = err.message; }
}

function logout(why) {
  clearInterval(timer); timer = null; session += 1;
  if (!why) AC.signOut(token);  // a chosen log-out revokes the token; an expired one is gone already
  AC.store.removeItem("ac.staff.token"); token = null;
  show("app", false); show("logout", false); show("who", false); show("login", true);
  $("who").textContent = "";
  $("login-error").textContent = why || "";
}

async function boot() {
  if (!token) { show("login", true); return; }
  let me;
  try { me = await AC.api("/api/auth/me", { token }); } catch (e) { logout(); return; }
  if (!me.roles.some((r) => r === "manager" || r === "admin")) { logout("This page needs the manager role · 需要主管权限"); return; }
  show("login", false); show("app", true); show("logout", true); show("who", true);
  $("login-error").textContent = "";
  $("who").textContent = `${me.display_name} (${me.id})`;
  clearInterval(timer);
  timer = setInterval(refresh, 10000);
  await refresh();
}
$("login").onsubmit = login;
$("logout").onclick = () => logout();
$("hours").onchange = refresh;
boot();
