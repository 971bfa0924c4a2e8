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
  ["resolution_rate", "Resolution rate · 问题解决率", pct, (v) => `${v.resolved} / ${v.closed} closed · 已关闭 (${v.closed - v.resolved} withdrawn by the learner · 学员撤回) · ${v.open} open · 处理中`],
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
  ["privacy_overdue", "Privacy requests overdue · 逾期隐私请求", plain, (v) => `${v.privacy_open} open · 待处理 · legal deadline 15 working days · 法定 15 个工作日`],
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

// The day-by-day trend and the contact reasons cost the most to compute (about 1.4 s at
// 20,000 conversations) and barely move in 10 s: they refresh once a minute, or at once
// when the window changes.
const SLOW_MS = 60000;
let slow = { at: 0, hours: null, trends: null, reasons: null };

async function refresh() {
  const mine = session;
  let res, history, trends, reasons;
  const hours = $("hours").value;
  const fresh = slow.hours !== hours || Date.now() - slow.at > SLOW_MS;
  try {
    [res, history, trends, reasons] = await Promise.all([
      AC.api(`/api/manager/metrics?hours=${hours}`, { token }),
      AC.api("/api/manager/alerts?limit=20", { token }),
      fresh ? AC.api(`/api/manager/trends?hours=${hours}`, { token }) : slow.trends,
      fresh ? AC.api(`/api/manager/reasons?hours=${hours}`, { token }) : slow.reasons,
    ]);
    if (fresh) slow = { at: Date.now(), hours, trends, reasons };
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
  renderTrends(trends, res);
  renderReasons(reasons);
  $("app").classList.remove("stale");
  show("refresh-error", false);
  const t = hhmmss(new Date());
  $("updated").textContent = `Updated ${t} · 更新于 ${t}`;
}

function render(res, history) {
  const bad = new Set(res.alerts.map((a) => a.indicator));
  const sg = res.surges;
  $("alert-window").textContent = `Alerts look at the last ${res.alert_window_h} h, whatever window the cards show · 预警始终按最近 ${res.alert_window_h} 小时计算，与卡片时段无关`
    + (sg ? `. Surges: a reason raised in ≥ ${sg.min_count} conversations in ${sg.window_min} min and ≥ ${sg.factor}× its usual rate · 突增：${sg.window_min} 分钟内 ≥ ${sg.min_count} 个会话且达到平时的 ${sg.factor} 倍` : "");
  $("alerts").replaceChildren(...res.alerts.map((a) => AC.el("div", { class: "alert", "data-alert": a.indicator },
    a.indicator.startsWith("surge:")
      ? `⚠ ${a.label}: ${a.value} conversations in the last ${a.window_min} min, usually ${a.usual} · 最近 ${a.window_min} 分钟 ${a.value} 个会话，平时约 ${a.usual} 个`
      : `⚠ ${a.label}: ${valueText(a.indicator, a.value)} ${a.op} ${valueText(a.indicator, a.threshold)}`)));
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

// ---- trends: the same indicators per local day (bot/metrics.py trend) ----------------
const TREND = [
  ["conversations", "Conversations · 会话数", plain],
  ["containment", "Containment · 机器人独立解决", pct],
  ["resolution_rate", "Resolution rate · 问题解决率", pct],
  ["csat_avg", "Satisfaction (CSAT) · 满意度", plain],
  ["complaint_rate", "Complaint rate · 投诉率", pct],
  ["first_response_min_p50", "First response p50 · 首次响应中位数", mins],
];
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}
// a sparkline of one indicator over the days: a day with nothing to count over is a gap
function spark(days, key, fmt) {
  const w = 160, h = 30, pad = 3;
  const vals = days.map((d) => d[key]);
  const known = vals.filter((v) => v != null);
  const lo = Math.min(...known), hi = Math.max(...known);
  const x = (i) => pad + (days.length < 2 ? (w - 2 * pad) / 2 : (i * (w - 2 * pad)) / (days.length - 1));
  const y = (v) => (hi === lo ? h / 2 : h - pad - ((v - lo) * (h - 2 * pad)) / (hi - lo));
  const parts = [];
  let run = [];
  vals.forEach((v, i) => {
    if (v != null) run.push([x(i), y(v)]);
    if ((v == null || i === vals.length - 1) && run.length) { parts.push(run); run = []; }
  });
  const title = days.map((d) => `${d.day}: ${d[key] == null ? "—" : fmt(d[key])}`).join("\n");
  return svg("svg", { class: "spark", width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title },
    svg("title", {}, title),
    ...parts.map((p) => (p.length === 1
      ? svg("circle", { cx: p[0][0], cy: p[0][1], r: 2 })
      : svg("polyline", { points: p.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ") }))));
}
function dayLabel(d, tz) {
  if (!d.partial) return d.day;
  const t = (ts) => new Date(ts * 1000).toLocaleTimeString("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", hour12: false });
  return `${d.day} (${t(d.since)}–${t(d.until)})`;
}
function renderTrends(trends, res) {
  const days = trends.days;
  $("trend-note").textContent = `${days.length} days in ${trends.service_tz}; a day's numbers use the same definitions as the cards, `
    + `so its counts add up to the window's · 按 ${trends.service_tz} 自然日切分，口径与上方卡片相同，各日计数之和等于全时段`;
  $("trends").tBodies[0].replaceChildren(...TREND.map(([key, label, fmt]) => {
    const known = days.map((d) => d[key]).filter((v) => v != null);
    const last = days[days.length - 1];
    return AC.el("tr", { "data-trend": key },
      AC.el("td", {}, label), AC.el("td", {}, known.length ? spark(days, key, fmt) : AC.el("span", { class: "muted" }, "no data · 无数据")),
      AC.el("td", { class: "num" }, known.length ? `${fmt(Math.min(...known))} – ${fmt(Math.max(...known))}` : "—"),
      AC.el("td", { class: "num" }, valueText(key, last && last[key])),
      AC.el("td", { class: "num" }, valueText(key, res.values[key])));
  }));
  const table = $("trend-days");
  table.tHead.replaceChildren(AC.el("tr", {}, AC.el("th", {}, "Day · 日期"), ...TREND.map(([, label]) => AC.el("th", {}, label))));
  table.tBodies[0].replaceChildren(...days.slice().reverse().map((d) => AC.el("tr", { "data-day": d.day },
    AC.el("td", {}, dayLabel(d, trends.service_tz)),
    ...TREND.map(([key]) => AC.el("td", { class: "num" }, valueText(key, d[key]))))));
}

// ---- contact reasons and refunds (bot/metrics.py contact_reasons, refund_indicators) ---
const INTENTS = {
  refund_request: "Refund · 退款", refund_status: "Refund status · 退款进度", complaint: "Complaint · 投诉",
  invoice_request: "Invoice · 发票", login_problem: "Login · 登录问题", playback_problem: "Playback · 播放问题",
  payment_problem: "Payment · 支付问题", course_access: "Course access · 课程访问", certificate_request: "Certificate · 证书",
  account_update: "Account change · 账号修改", privacy_request: "Privacy · 隐私请求", piracy_report: "Piracy · 盗版举报",
  ask_question: "KB question · 知识库问答", out_of_scope: "Out of scope · 超出服务范围",
  request_human: "Asked for a person only · 直接要求人工", other: "Greeting only / not classified · 仅问候或未识别",
};
const TEAMS = {
  general: "General support · 综合客服组", billing: "Billing & refunds · 财务与退款组", tech: "Technical support · 技术支持组",
  care: "Customer care · 客户关怀组", compliance: "Privacy & copyright · 隐私与版权组",
};
const TICKET_REASONS = {
  learner_asked: "Learner asked for a person · 学员要求人工", complaint: "Complaint filed · 投诉登记",
  refund_ineligible: "Refund outside the policy · 退款不符合政策", refund_no_order: "Refund, no order found · 退款未找到订单",
  troubleshooting_failed: "Self-help steps did not help · 自助排障未解决", privacy_export: "Privacy: data export · 隐私：导出数据",
  privacy_delete: "Privacy: deletion · 隐私：删除数据", identity_not_confirmed: "Identity not confirmed · 身份未核实",
  piracy_report: "Piracy report · 盗版举报", assistant_unavailable: "Assistant unavailable · 助手不可用",
};
const COMPLAINTS = {
  content: "Course content · 课程内容", teacher: "Teacher · 授课老师", tech: "App or website · App 或网站",
  service: "Customer service · 客服服务", billing: "Billing or refund · 扣费或退款", other: "Something else · 其他",
};
const REFUSALS = {
  too_late: "Past the refund period · 超过退款期限", too_much_progress: "Too much of the course studied · 学习进度超限",
  live_started: "Live class already started · 直播课已开课", membership_used: "Membership used up · 会员已用完",
  already_refunded: "Already refunded · 已退过款", external: "Paid through a third party (Apple) · 第三方渠道支付",
  no_order: "No order to refund · 未找到可退订单",
};
const NOT_RECORDED = "Not recorded (older tickets) · 未记录（较早工单）";
function named(map, key) { return key === "not_recorded" ? NOT_RECORDED : map[key] || key; }
function shareCell(n, share) {
  return AC.el("td", { class: "num" }, bar(share),
    `${n} · ${share == null ? "—" : pct(share)}`);
}
// a share as a bar; its width set through the CSSOM (a style attribute would break the CSP)
function bar(share) {
  const span = AC.el("span", { class: "share" });
  span.style.width = `${Math.round((share || 0) * 60)}px`;
  return span;
}

function fill(id, rows, cells, empty, cols = 2) {
  $(id).tBodies[0].replaceChildren(...(rows.length ? rows.map(cells)
    : [AC.el("tr", {}, AC.el("td", { colspan: String(cols), class: "muted" }, empty))]));
}
function renderReasons(r) {
  const none = "None in this window · 该时段没有";
  fill("reasons-intent", r.intents, (x) => AC.el("tr", { "data-intent": x.intent },
    AC.el("td", {}, named(INTENTS, x.intent)), shareCell(x.count, x.share), shareCell(x.raised, x.raised_share)),
  `No conversations in this window · 该时段没有会话`, 3);
  fill("reasons-team", r.teams, (x) => AC.el("tr", { "data-team": x.team }, AC.el("td", {}, named(TEAMS, x.team)), shareCell(x.count, x.share)), none);
  fill("reasons-ticket", r.ticket_reasons, (x) => AC.el("tr", { "data-reason": x.reason }, AC.el("td", {}, named(TICKET_REASONS, x.reason)), shareCell(x.count, x.share)), none);
  fill("reasons-complaint", r.complaint_categories, (x) => AC.el("tr", { "data-category": x.category }, AC.el("td", {}, named(COMPLAINTS, x.category)), shareCell(x.count, x.share)), none);
  const f = r.refunds;
  const stat = (key, label, value, basis) => AC.el("div", { class: "card", "data-refund": key },
    AC.el("div", { class: "muted" }, label), AC.el("div", { class: "value" }, value), AC.el("div", { class: "basis muted" }, basis));
  $("refund-stats").replaceChildren(
    stat("requests", "Refund requests · 退款申请", String(f.requests), "decided by the assistant · 助手已处理"),
    stat("approved", "Approved by policy · 按政策通过", String(f.approved), f.approved_share == null ? "—" : `${pct(f.approved_share)} of requests · 占申请`),
    stat("handed_to_billing", "Handed to billing · 转财务处理", String(f.handed_to_billing), "outside the policy or no order · 不符合政策或无订单"),
    stat("amount_approved", "Amount approved · 通过金额", `¥${f.amount_approved.toLocaleString("en-US")}`, "sum of approved requests · 已通过申请合计"),
    stat("withdrawn", "Withdrawn at the amount · 确认金额时放弃", String(f.withdrawn), `¥${f.amount_withdrawn.toLocaleString("en-US")} offered · 可退金额`));
  const more = f.reasons_more ? [AC.el("tr", {}, AC.el("td", { class: "muted" }, "Other reasons · 其他原因"), AC.el("td", { class: "num" }, String(f.reasons_more)), AC.el("td"))] : [];
  const reason = (x) => x.reason === "not_recorded" ? "None given (no order reached) · 未填写（未选到订单）" : x.reason;
  fill("refund-reasons", f.reasons, (x) => AC.el("tr", {}, AC.el("td", {}, reason(x)), shareCell(x.count, x.share),
    AC.el("td", { class: "num" }, String(x.approved))), none, 3);
  $("refund-reasons").tBodies[0].append(...more);
  fill("refund-refusals", f.refusals, (x) => AC.el("tr", { "data-code": x.code }, AC.el("td", {}, named(REFUSALS, x.code)), shareCell(x.count, x.share)), none);
}

// ---- CSV export: fetched with the manager's token, then saved as a file ----------------
async function exportCsv(table) {
  show("export-error", false);
  try {
    const res = await fetch(`/api/manager/export?table=${table}&hours=${$("hours").value}`, { headers: { Authorization: "Bearer " + token } });
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    const name = (/filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "") || [])[1] || `${table}.csv`;
    const url = URL.createObjectURL(await res.blob());
    const a = AC.el("a", { href: url, download: name });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (e) {
    $("export-error").textContent = `Export failed · 导出失败 (${e.message})`;
    show("export-error", true);
  }
}

function login(e) {
  return AC.signIn(e, (t) => { token = t; return boot(); });
}

function logout(why) {
  clearInterval(timer); timer = null; session += 1; slow.hours = null;  // the next manager gets fresh figures
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
// before signing in there is nothing to refresh (the request would fail as "session ended");
// the window picked is read when the figures first load
$("hours").onchange = () => { if (token) refresh(); };
$("export-indicators").onclick = () => exportCsv("indicators");
$("export-trend").onclick = () => exportCsv("trend");
boot();
