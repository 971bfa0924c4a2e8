// Agent console: the queue (polled), one open conversation (WebSocket), actions on its ticket.
let token = AC.store.getItem("ac.staff.token"), me = null, current = null, sock = null, tickets = [];
const $ = (id) => document.getElementById(id);
const show = (id, on) => $(id).classList.toggle("hidden", !on);

function fail(e) { $("error").className = "status error"; $("error").textContent = e.message || String(e); }

async function login(e) {
  e.preventDefault();
  try {
    const res = await AC.api("/api/auth/login", { method: "POST", body: { username: $("username").value, password: $("password").value } });
    token = res.token; AC.store.setItem("ac.staff.token", token);
    await boot();
  } catch (err) { $("login-error").textContent = err.message; }
}

function minutes(s) { return s < 60 ? `${s}s` : s < 3600 ? `${Math.round(s / 60)}m` : `${(s / 3600).toFixed(1)}h`; }

function renderQueue() {
  $("queue-count").textContent = `(${tickets.length})`;
  $("queue").replaceChildren(...tickets.map((tk) => AC.el("div", {
      class: "queue-item" + (current && current.id === tk.id ? " active" : ""), "data-ticket": tk.id,
      "data-conversation": tk.conversation_id,
      onclick: () => openTicket(tk.id) },
    AC.el("div", { class: "row" }, AC.el("strong", {}, tk.learner_name), AC.el("span", { class: "muted" }, minutes(tk.waiting_s))),
    AC.el("div", { class: "muted" }, tk.last_learner_text.slice(0, 80)),
    AC.el("div", { class: "row" },
      AC.el("span", {}, AC.el("span", { class: `pill ${tk.priority}` }, tk.priority), " ",
        AC.el("span", { class: "pill" }, tk.team_name), " ",
        tk.channel === "case" ? AC.el("span", { class: "pill", title: "follow-up case: the learner is not waiting in the chat" }, "case") : null, " ",
        tk.sla_breached ? AC.el("span", { class: "pill breached" }, "SLA") : null),
      AC.el("span", { class: `pill ${tk.status}` }, tk.status === "claimed" ? `${tk.status}: ${tk.claimed_by}` : tk.status)))));
}

async function refreshQueue() {
  try {
    const team = $("team-filter").value;
    tickets = await AC.api("/api/agent/queue" + (team ? `?team=${team}` : ""), { token });
    renderQueue();
    if (current) { const fresh = tickets.find((x) => x.id === current.id); if (fresh) { current = fresh; showActions(); } }
  } catch (e) { if (e.status === 401) logout(); else fail(e); }
}

function render(m) {
  if ($("log").querySelector(`[data-id="${m.id}"]`)) return;
  const who = { learner: "Learner · 学员", bot: "Bot · 机器人", agent: m.payload.agent_name || m.author || "Agent" }[m.sender];
  const meta = [AC.time(m.created_at), m.intent ? `${m.intent} ${m.confidence != null ? m.confidence.toFixed(2) : ""}` : null].filter(Boolean).join(" · ");
  const node = AC.el("div", { class: `msg ${m.sender === "learner" ? "bot" : m.sender === "bot" ? "learner" : m.sender}`, "data-id": m.id, "data-sender": m.sender, "data-text": m.text },
    who ? AC.el("span", { class: "who" }, who) : null,
    m.sender === "learner" ? m.text : AC.rich(m.text), AC.el("span", { class: "meta" }, meta));
  if (m.payload.citation) node.append(AC.el("a", { class: "cite", href: m.payload.citation.url, target: "_blank" }, `📖 ${m.payload.citation.title}`));
  $("log").append(node);
  $("log").scrollTop = $("log").scrollHeight;
}

function showActions() {
  const mine = current && current.status === "claimed" && current.claimed_by === me.id;
  $("ticket-title").textContent = current ? `#${current.id} · ${current.learner_name} · ${current.team_name} · ${current.status}` : "";
  show("claim", current && current.status === "queued");
  ["transfer-team", "transfer", "resolve", "composer"].forEach((id) => show(id, mine));
  show("kb-draft", current && current.claimed_by === me.id);
}

async function openTicket(id) {
  try {
    current = await AC.api(`/api/agent/tickets/${id}`, { token });
    renderQueue(); showActions();
    $("log").replaceChildren();
    if (sock) sock.close();
    sock = AC.socket(`/api/conversations/${current.conversation_id}/ws?token=${encodeURIComponent(token)}`, (ev) => {
      if (ev.type === "message") {
        render(ev.message);
        // a new question from the learner: new suggestions, unless the agent is searching
        if (ev.message.sender === "learner" && $("suggest-q") && !$("suggest-q").value) suggestSoon();
      }
      if (ev.type === "mode") refreshQueue();
    });
    const profile = await AC.api(`/api/agent/conversations/${current.conversation_id}/learner`, { token }).catch(() => null);
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
    AC.el("table", {}, p.orders.map((o) => AC.el("tr", {}, AC.el("td", {}, o.id), AC.el("td", {}, o.course ? (current && current.lang === "en" ? o.course.name_en : o.course.name_zh) : o.course_id), AC.el("td", {}, `¥${o.amount}`), AC.el("td", {}, o.status)))),
    AC.el("h3", {}, "Refunds · 退款"),
    AC.el("table", {}, p.refunds.map((r) => AC.el("tr", {}, AC.el("td", {}, r.order_id), AC.el("td", {}, `¥${r.amount}`), AC.el("td", {}, r.status)))));
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
  box.value = (box.value.trim() ? box.value.trim() + "\n\n" : "") + `${e.answer.trim()}\n\n📖 ${e.url}`;
  box.focus();
}

async function act(path, body) {
  try { current = { ...current, ...(await AC.api(`/api/agent/tickets/${current.id}/${path}`, { method: "POST", token, body })) }; $("error").textContent = ""; showActions(); refreshQueue(); }
  catch (e) { fail(e); refreshQueue(); }
}

async function reply(e) {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  try { render(await AC.api(`/api/agent/tickets/${current.id}/reply`, { method: "POST", token, body: { text } })); $("text").value = ""; }
  catch (err) { fail(err); }
}

async function saveToKb() {
  // The learner's question and this agent's latest answer, editable before saving.
  const msgs = [...$("log").querySelectorAll(".msg")];
  const lastOf = (sender) => { const m = msgs.filter((n) => n.dataset.sender === sender).pop(); return m ? m.dataset.text : ""; };
  const question = prompt("Question for the KB draft · 知识条目的问题", lastOf("learner"));
  if (!question) return;
  const answer = prompt("Answer · 答案", lastOf("agent"));
  if (!answer) return;
  try {
    const res = await AC.api(`/api/agent/tickets/${current.id}/kb-draft`, { method: "POST", token, body: { question, answer } });
    $("error").className = "status muted"; $("error").textContent = `Saved draft ${res.entry.id} for the content team · 已存为草稿`;
  } catch (e) { fail(e); }
}

function logout() { AC.store.removeItem("ac.staff.token"); token = null; location.reload(); }

async function boot() {
  if (!token) { show("login", true); return; }
  try { me = await AC.api("/api/auth/me", { token }); } catch (e) { logout(); return; }
  show("login", false); show("console", true); show("logout", true);
  $("who").textContent = `${me.display_name} (${me.id})`;
  const teams = await AC.api("/api/agent/teams", { token });
  for (const [k, v] of Object.entries(teams)) {
    $("team-filter").append(AC.el("option", { value: k }, v));
    $("transfer-team").append(AC.el("option", { value: k }, v));
  }
  await refreshQueue();
  setInterval(refreshQueue, 2000);
}

$("login").onsubmit = login;
$("logout").onclick = logout;
$("team-filter").onchange = refreshQueue;
$("claim").onclick = () => act("claim");
$("transfer").onclick = () => act("transfer", { team: $("transfer-team").value });
$("resolve").onclick = () => act("resolve", { note: "" });
$("kb-draft").onclick = saveToKb;
$("composer").onsubmit = reply;
$("text").onkeydown = (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("composer").requestSubmit(); } };
boot();
