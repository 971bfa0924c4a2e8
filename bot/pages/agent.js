// Agent console: the queue (polled), one open conversation (WebSocket), actions on its ticket.
let token = AC.store.getItem("ac.staff.token"), me = null, current = null, sock = null, tickets = [], teams = {}, agents = [];
const $ = (id) => document.getElementById(id);
const show = (id, on) => $(id).classList.toggle("hidden", !on);

// Staff pages show both languages side by side, English first.
const PRIORITY = { urgent: "Urgent · 紧急", high: "High · 高", normal: "Normal · 普通", low: "Low · 低" };
const STATUS = { queued: "Queued · 排队中", claimed: "Claimed · 已接入", resolved: "Resolved · 已解决", cancelled: "Cancelled · 已取消" };
const REASON = {
  learner_asked: "Learner asked for a person · 学员要求转人工",
  assistant_unavailable: "Assistant unavailable · 智能助手故障",
  bot_could_not_answer: "Bot could not answer · 机器人答不上来",
  complaint: "Complaint · 投诉",
  refund_ineligible: "Refund refused by policy · 退款不符合规则",
  refund_no_order: "Refund: no matching order · 退款找不到订单",
  identity_not_confirmed: "Identity not confirmed · 身份未确认",
  troubleshooting_failed: "Troubleshooting did not help · 自助排障无效",
  piracy_report: "Piracy report · 盗版举报",
  privacy_export: "Privacy: data export · 隐私：导出数据",
  privacy_delete: "Privacy: data deletion · 隐私：删除数据",
};
// the course platform's codes (bot/platform/base.py), as the side panel shows them
const ORDER_STATUS = { paid: "Paid · 已支付", refunded: "Refunded · 已退款", refund_pending: "Refund pending · 退款审核中" };
const REFUND_STATUS = { pending: "Pending review · 审核中", approved: "Approved · 已通过", rejected: "Rejected · 未通过", paid: "Refunded · 已退款" };
const label = (labels, code) => labels[code] || code;
const teamName = (k) => (teams[k] ? `${teams[k].en} · ${teams[k].zh}` : k);
const supervises = () => me && (me.roles.includes("manager") || me.roles.includes("admin"));

// How long until the ticket's deadline (the queue's own after a transfer), from due_at so a
// countdown stays right between polls.
function dueText(tk) {
  if (tk.due_at == null) return null;
  const min = Math.round((tk.due_at * 1000 - Date.now()) / 60000);
  // an overnight deadline reads "due in 10.9 h", not "652 min"
  const span = (m) => m < 120 ? [`${m} min`, `${m} 分钟`] : [`${(m / 60).toFixed(1)} h`, `${(m / 60).toFixed(1)} 小时`];
  const [en, zh] = span(Math.abs(min));
  return min >= 0 ? `due in ${en} · ${zh}内响应` : `overdue ${en} · 已超时 ${zh}`;
}

function fail(e) { $("error").className = "status error"; $("error").textContent = e.message || String(e); }

function login(e) {
  return AC.signIn(e, (t) => { token = t; return boot(); });
}

function minutes(s) { return s < 60 ? `${s}s` : s < 3600 ? `${Math.round(s / 60)}m` : `${(s / 3600).toFixed(1)}h`; }

function renderQueue() {
  $("queue-count").textContent = `(${tickets.length})`;
  $("queue").replaceChildren(...tickets.map((tk) => {
    const due = dueText(tk), overdue = tk.due_at != null && tk.due_at * 1000 < Date.now();
    // why it is here: the summary the bot wrote (refusal reason, order, complaint signals),
    // not the learner's last line, which is often just "转人工"
    const why = (tk.summary || "").split("\n")[0] || tk.last_learner_text;
    return AC.el("div", {
        class: "queue-item" + (current && current.id === tk.id ? " active" : ""), "data-ticket": tk.id,
        "data-conversation": tk.conversation_id,
        onclick: () => openTicket(tk.id) },
      AC.el("div", { class: "row" }, AC.el("strong", {}, tk.learner_name), AC.el("span", { class: "muted" }, minutes(tk.waiting_s))),
      AC.el("div", { class: "muted reason" }, REASON[tk.reason] || tk.reason),
      AC.el("div", { class: "muted" }, why.slice(0, 80)),
      AC.el("div", { class: "row" },
        AC.el("span", {}, AC.el("span", { class: `pill ${tk.priority}` }, PRIORITY[tk.priority] || tk.priority), " ",
          AC.el("span", { class: "pill" }, teamName(tk.team)), " ",
          tk.channel === "case" ? AC.el("span", { class: "pill", title: "follow-up case: the learner is not waiting in the chat · 跟进单：学员没有在对话里等" }, "Case · 跟进单") : null, " ",
          due ? AC.el("span", { class: "pill due" + (overdue ? " breached" : "") }, due) : null, " ",
          tk.sla_breached ? AC.el("span", { class: "pill breached", title: "first-response SLA breached · 首次响应已超时" }, "SLA") : null),
        AC.el("span", { class: `pill ${tk.status}` }, tk.status === "claimed" ? `${STATUS.claimed}: ${tk.claimed_by}` : STATUS[tk.status] || tk.status)));
  }));
}

async function refreshQueue() {
  try {
    const filter = $("team-filter").value;
    const query = filter === "@mine" ? "?mine=true" : filter ? `?team=${filter}` : "";
    tickets = await AC.api("/api/agent/queue" + query, { token });
    renderQueue();
    if (current) {
      const fresh = tickets.find((x) => x.id === current.id);
      // not in this list any more (withdrawn, resolved, transferred away): ask for it, so the
      // view never offers Claim on a ticket that is gone
      const id = current.id;
      const now = fresh || (await AC.api(`/api/agent/tickets/${id}`, { token }).catch(() => null));
      if (now && current && current.id === id) { current = now; showActions(); }
    }
  } catch (e) { if (e.status === 401) logout(); else fail(e); }
}

function render(m) {
  if ($("log").querySelector(`[data-id="${m.id}"]`)) return;
  const who = { learner: "Learner · 学员", bot: "Bot · 机器人", agent: m.payload.agent_name || m.author || "Agent" }[m.sender];
  // a tapped form option is an answer, whatever the classifier made of it ("complaint 0.99"
  // on a refund reason misled agents): say it was tapped instead of the intent
  const tapped = m.sender === "learner" && m.payload.payload && !m.payload.payload.startsWith("/");
  const intent = tapped ? "tapped option · 点选的选项" : m.intent ? `${m.intent} ${m.confidence != null ? m.confidence.toFixed(2) : ""}` : null;
  const meta = [AC.time(m.created_at), intent].filter(Boolean).join(" · ");
  // an anonymised message (an erasure, the retention period) has no words left
  const erased = !m.text.trim() && !Object.keys(m.payload).length;
  const node = AC.el("div", { class: `msg ${m.sender === "learner" ? "bot" : m.sender === "bot" ? "learner" : m.sender}${erased ? " erased" : ""}`, "data-id": m.id, "data-sender": m.sender, "data-text": m.text },
    who ? AC.el("span", { class: "who" }, who) : null,
    erased ? AC.el("span", { class: "erased-text" }, "Content erased · 内容已删除") : m.sender === "learner" ? m.text : AC.rich(m.text), AC.el("span", { class: "meta" }, meta));
  if (m.payload.citation) node.append(AC.el("a", { class: "cite", href: m.payload.citation.url, target: "_blank" }, `📖 ${m.payload.citation.title}`));
  // the learner's notice is in the learner's language; the agent gets it in both
  if (m.payload.event === "cancelled") node.append(AC.el("div", { class: "error", "data-event": "cancelled" }, "The learner went back to the assistant; the ticket is cancelled · 学员已回到智能助手，工单已取消"));
  if (m.payload.event === "left_chat") node.append(AC.el("div", { class: "error", "data-event": "left_chat" }, "The learner went back to the assistant; the ticket stays open as a follow-up case: answer it here · 学员已回到智能助手，工单保留为跟进单，请在此回复处理结果"));
  $("log").append(node);
  $("log").scrollTop = $("log").scrollHeight;
}

function showActions() {
  const claimed = current && current.status === "claimed";
  const mine = claimed && current.claimed_by === me.id;
  const boss = claimed && supervises();
  $("ticket-title").textContent = current ? `#${current.id} · ${current.learner_name} · ${teamName(current.team)} · ${STATUS[current.status] || current.status}${claimed ? `: ${current.claimed_by}` : ""}` : "";
  // Claim only where the server would allow it: the agent's own teams (any for managers)
  show("claim", current && current.status === "queued" && (supervises() || me.teams.includes(current.team)));
  show("release", mine || boss);
  ["transfer-team", "transfer-note", "transfer"].forEach((id) => show(id, mine || boss));
  ["reassign-agent", "reassign"].forEach((id) => show(id, boss));
  if (boss) reassignOptions();
  ["resolve", "composer"].forEach((id) => show(id, mine));
  show("resolve-box", mine && resolving);
  show("kb-draft", current && current.claimed_by === me.id);
  showInfo();
}

// Reassign offers only who may hold the ticket: its team's agents and managers (the hub
// refuses anyone else with a 409 that says to transfer the ticket first)
function reassignOptions() {
  const box = $("reassign-agent"), key = `${current.id}:${current.team}:${current.claimed_by}`;
  if (box.dataset.for === key) return;
  box.dataset.for = key;
  const fits = agents.filter((a) => a.id !== current.claimed_by && (a.any_team || (a.teams || "").split(",").includes(current.team)));
  box.replaceChildren(...fits.map((a) => AC.el("option", { value: a.id }, `${a.display_name} (${a.id})`)));
  $("reassign").disabled = !fits.length;
}

function showInfo() {
  // why the ticket is here, how urgent, and what the previous agent wrote when passing it on
  const info = $("ticket-info");
  show("ticket-info", !!current);
  if (!current) return;
  const due = dueText(current);
  // (a null is no child: replaceChildren would show it as the text "null")
  info.replaceChildren(...[
    AC.el("div", { "data-info": "reason" }, `${REASON[current.reason] || current.reason} · ${PRIORITY[current.priority] || current.priority}`,
      due ? AC.el("span", { "data-info": "due" }, ` · ${due}`) : null,
      current.sla_breached ? AC.el("strong", { class: "error" }, " · first-response SLA breached · 首次响应已超时") : null),
    current.summary ? AC.el("div", { "data-info": "summary" }, current.summary) : null,
    // whether the learner still has the chat open (a closed tab: the reply waits for them)
    current.learner_online == null || !["queued", "claimed"].includes(current.status) ? null : AC.el("div", { "data-info": "presence", class: current.learner_online ? "" : "error" },
      current.learner_online ? "The learner has the chat open · 学员正在对话页面" : "The learner has closed the chat page; they will see your reply when they come back · 学员已关闭对话页面，回来后会看到您的回复"),
    ...(current.notes || []).filter((n) => n.note).map((n) => AC.el("div", { "data-info": "note" },
      `${{ transferred: "Transferred · 转接", released: "Released · 放回队列", reassigned: "Reassigned · 改派" }[n.kind] || n.kind} (${n.actor}${n.team ? " → " + teamName(n.team) : n.to ? " → " + n.to : ""}): ${n.note}`)),
    PrivacyDesk.forTicket(current)].filter(Boolean));
}

// Resolve asks for a confirmation and an optional note: one stray click used to end the chat
let resolving = false;
async function openTicket(id) {
  resolving = false;
  try {
    current = await AC.api(`/api/agent/tickets/${id}`, { token });
    renderQueue(); showActions();
    $("log").replaceChildren();
    if (sock) sock.close();
    sock = AC.socket(`/api/conversations/${current.conversation_id}/ws`, token, (ev) => {
      if (ev.type === "message") {
        render(ev.message);
        // a new question from the learner: new suggestions, unless the agent is searching
        if (ev.message.sender === "learner" && $("suggest-q") && !$("suggest-q").value) suggestSoon();
      }
      if (ev.type === "mode") refreshQueue();
      if (ev.type === "presence" && current) { current.learner_online = ev.learner_online; showInfo(); }
    });
    const profile = await AC.api(`/api/agent/conversations/${current.conversation_id}/learner`, { token }).catch(() => null);
    if (!current || current.id !== id) return;  // the agent opened another ticket meanwhile
    renderSide(profile);
  } catch (e) { fail(e); }
}

function renderSide(p) {
  const side = $("side"); side.replaceChildren();
  // KB suggestions first: for the learner's latest question, or what the agent searches
  side.append(AC.el("h3", {}, "KB suggestions · 知识推荐"),
    AC.el("input", { id: "suggest-q", type: "search", placeholder: "Search the KB · 搜索知识库",
      onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); loadSuggestions(e.target.value.trim()); } } }),
    AC.el("div", { id: "suggest-list" }));
  loadSuggestions();
  if (!p) { side.append(AC.el("span", { class: "muted" }, "No platform record")); return; }
  const L = p.learner;
  side.append(AC.el("h3", {}, L.name), AC.el("div", { class: "muted" }, `${L.id} · ${L.email} · ${L.phone}`),
    AC.el("h3", {}, "Orders · 订单"),
    // the status goes under the order id: a fourth column pushed the table past a narrow panel
    AC.el("table", {}, p.orders.map((o) => AC.el("tr", { "data-order": o.id },
      AC.el("td", {}, o.id, AC.el("div", { class: "muted", "data-status": o.status }, label(ORDER_STATUS, o.status))),
      AC.el("td", {}, o.course ? (current && current.lang === "en" ? o.course.name_en : o.course.name_zh) : o.course_id),
      AC.el("td", { class: "amount" }, `¥${o.amount}`)))),
    AC.el("h3", {}, "Refunds · 退款"),
    AC.el("table", {}, p.refunds.map((r) => AC.el("tr", {}, AC.el("td", {}, r.order_id), AC.el("td", { class: "amount" }, `¥${r.amount}`), AC.el("td", { "data-status": r.status }, label(REFUND_STATUS, r.status))))));
}

async function loadSuggestions(q = "") {
  if (!current) return;
  const ticket = current.id;
  const res = await AC.api(`/api/agent/tickets/${ticket}/suggestions${q ? `?q=${encodeURIComponent(q)}` : ""}`, { token }).catch(() => null);
  const box = $("suggest-list");
  if (!res || !box || !current || current.id !== ticket) return;
  box.replaceChildren(...res.entries.map((e) => AC.el("div", { class: "suggestion", "data-entry": e.id },
    AC.el("strong", {}, e.question), AC.el("div", { class: "muted" }, `${e.id} · ${e.score.toFixed(2)}`),
    AC.el("button", { type: "button", class: "insert", onclick: () => insertAnswer(e) }, "Insert · 插入"))));
  if (!res.entries.length) box.append(AC.el("span", { class: "muted" }, res.query ? "No match · 无匹配" : "Nothing asked yet · 学员还没有提问"));
}

let suggestTimer = null;
function suggestSoon() {  // once per burst: opening a chat replays all its messages
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(() => loadSuggestions(), 300);
}

function insertAnswer(e) {
  // the entry's answer and its public link, into the reply box for the agent to adapt
  const box = $("text");
  // a Markdown link: the learner's page shows it as a link named after the article
  box.value = (box.value.trim() ? box.value.trim() + "\n\n" : "") + `${e.answer.trim()}\n\n📖 [${e.question}](${e.url})`;
  box.scrollTop = box.scrollHeight;
  box.focus();
}

async function act(path, body) {
  try { current = { ...current, ...(await AC.api(`/api/agent/tickets/${current.id}/${path}`, { method: "POST", token, body })) }; $("error").textContent = ""; showActions(); refreshQueue(); }
  catch (e) { fail(e); refreshQueue(); }
}

let replying = false;
async function reply(e) {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text || replying) return;
  // a second Enter while the first is on its way must not send the text again
  replying = true; $("text").value = "";
  try { render(await AC.api(`/api/agent/tickets/${current.id}/reply`, { method: "POST", token, body: { text } })); }
  catch (err) { fail(err); if (!$("text").value) $("text").value = text; }
  finally { replying = false; }
}

// The learner's question (the hub's pick: what led to the handoff, not their latest line)
// and this agent's latest answer, editable in a form (a multi-line answer did not fit the
// browser's one-line prompt) before saving as a draft.
async function saveToKb() {
  const msgs = [...$("log").querySelectorAll(".msg")];
  const lastOf = (sender) => { const m = msgs.filter((n) => n.dataset.sender === sender).pop(); return m ? m.dataset.text : ""; };
  let question = "";
  try { question = (await AC.api(`/api/agent/tickets/${current.id}/kb-draft`, { token })).question; } catch (e) { /* the agent types it */ }
  $("draft-q").value = question;
  $("draft-a").value = lastOf("agent");
  $("draft-dialog").showModal();
}

async function saveDraft(e) {
  if (e.submitter && e.submitter.value !== "save") return;  // Cancel just closes
  const question = $("draft-q").value.trim(), answer = $("draft-a").value.trim();
  if (!question || !answer) { e.preventDefault(); return; }
  try {
    const res = await AC.api(`/api/agent/tickets/${current.id}/kb-draft`, { method: "POST", token, body: { question, answer } });
    $("error").className = "status muted"; $("error").textContent = `Saved draft ${res.entry.id} for the content team · 已存为草稿`;
  } catch (err) { fail(err); }
}

async function logout() { await AC.signOut(token); AC.store.removeItem("ac.staff.token"); token = null; location.reload(); }

async function boot() {
  if (!token) { show("login", true); return; }
  try { me = await AC.api("/api/auth/me", { token }); } catch (e) { logout(); return; }
  show("login", false); show("console", true); show("logout", true);
  $("who").textContent = `${me.display_name} (${me.id})`;
  const res = await AC.api("/api/agent/teams", { token });
  teams = res.teams;
  for (const k of res.mine) $("team-filter").append(AC.el("option", { value: k }, teamName(k)));
  for (const k of Object.keys(teams)) $("transfer-team").append(AC.el("option", { value: k }, teamName(k)));
  // the filter survives a reload (this tab only)
  const saved = AC.store.getItem("ac.agent.filter");
  if (saved && [...$("team-filter").options].some((o) => o.value === saved)) $("team-filter").value = saved;
  if (supervises()) agents = await AC.api("/api/agent/agents", { token });
  PrivacyDesk.start();  // the privacy team's requests, for compliance agents and managers
  await refreshQueue();
  setInterval(refreshQueue, 2000);
}

$("login").onsubmit = login;
$("logout").onclick = logout;
// picked before signing in: remembered, and used when the queue first loads
$("team-filter").onchange = () => { AC.store.setItem("ac.agent.filter", $("team-filter").value); if (token) refreshQueue(); };
$("claim").onclick = () => act("claim");
$("transfer").onclick = async () => { await act("transfer", { team: $("transfer-team").value, note: $("transfer-note").value.trim() }); $("transfer-note").value = ""; };
$("release").onclick = async () => { await act("release", { note: $("transfer-note").value.trim() }); $("transfer-note").value = ""; };
$("reassign").onclick = async () => { await act("reassign", { agent: $("reassign-agent").value, note: $("transfer-note").value.trim() }); $("transfer-note").value = ""; };
$("resolve").onclick = () => { resolving = true; showActions(); $("resolve-note").focus(); };
$("resolve-cancel").onclick = () => { resolving = false; showActions(); };
$("resolve-confirm").onclick = async () => { resolving = false; await act("resolve", { note: $("resolve-note").value.trim() }); $("resolve-note").value = ""; };
$("kb-draft").onclick = saveToKb;
$("draft-form").onsubmit = saveDraft;
$("composer").onsubmit = reply;
$("text").onkeydown = (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("composer").requestSubmit(); } };
boot();
