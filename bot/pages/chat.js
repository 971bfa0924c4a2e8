// Learner chat: picks a demo learner, opens a conversation, sends messages and renders
// everything the hub pushes over the WebSocket (bot, agent and system messages).
const T = {
  zh: { title: "课后学堂 · 在线客服", as: "学员", new: "新对话", send: "发送", placeholder: "输入您的问题…",
        bot: "智能助手", you: "我", agent: "客服", mode_bot: "智能助手在线", mode_human: "人工客服模式：客服会在这里回复您",
        back: "回到智能助手", offline: "连接中断，正在重连…", source: "来源", rate: "请为本次服务打分", helpful: "有帮助", not_helpful: "没帮助", typing: "正在输入", unsent: "未发送", too_long: "消息太长了，最多 4000 字，请删减后再发送。",
        download: "下载我的数据", download_expired: "下载链接已过期，如仍需要请重新申请。", download_invalid: "这个下载链接无效。", erased: "内容已删除",
        comment: "想补充点什么吗？（选填）", submit_rating: "提交评价", rated: "您已经评价过这次服务了，谢谢！",
        err_401: "登录已过期，请刷新页面后再试。", err_404: "找不到这段对话，请点“新对话”重新开始。", err_409: "这个操作现在不能进行，请刷新页面后再试。",
        err_422: "消息是空的或格式不对，请修改后再发送。", err_other: "服务暂时不可用，请稍后再试。" },
  en: { title: "AfterClass Academy · Help", as: "Learner", new: "New chat", send: "Send", placeholder: "Type your question…",
        bot: "Assistant", you: "You", agent: "Agent", mode_bot: "The assistant is here", mode_human: "You're with a person: replies appear here",
        back: "Back to the assistant", offline: "Connection lost, reconnecting…", source: "Source", rate: "Please rate the help you got", helpful: "Helpful", not_helpful: "Not helpful", typing: "Typing", unsent: "Not sent", too_long: "That message is too long: 4,000 characters at most. Please shorten it and send it again.",
        download: "Download my data", download_expired: "This download link has expired; ask again if you still need a copy.", download_invalid: "This download link is not valid.", erased: "Content erased",
        comment: "Anything to add? (optional)", submit_rating: "Send rating", rated: "You have already rated this. Thank you!",
        err_401: "Your session has expired. Please reload the page and try again.", err_404: "This conversation can't be found. Please start a new chat.", err_409: "That can't be done right now. Please reload the page and try again.",
        err_422: "The message is empty or not in a form we accept. Please change it and send it again.", err_other: "The service is unavailable for a moment. Please try again shortly." },
};
let lang = AC.lang(), token = null, conv = null, sock = null, mode = "bot";
let sendWhenReady = false;  // Send pressed before the conversation was open
const $ = (id) => document.getElementById(id);
const t = (k) => T[lang][k];
// The hub's error details are written for developers and staff, in English: the learner gets
// a sentence in their own language chosen by the kind of failure.
function errText(e) {
  if (e.status === 413) return t("too_long");
  return t(`err_${e.status}`) || t("err_other");
}

function applyLang() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-t]").forEach((n) => (n.textContent = t(n.dataset.t)));
  $("text").placeholder = t("placeholder");
  $("ui-lang").value = lang;
  showMode();
}

function showMode(connected = true) {
  const status = $("status");
  status.replaceChildren();
  if (!connected) { status.append(t("offline")); return; }
  status.dataset.mode = mode;
  status.append(mode === "human" ? t("mode_human") : t("mode_bot"));
  if (mode === "human") status.append(" ", AC.el("button", { id: "back-to-bot", onclick: backToBot }, t("back")));
}

function render(m) {
  if (document.querySelector(`[data-id="${m.id}"]`)) return;
  // the WebSocket may bring the stored copy of a message still shown as pending
  if (m.sender === "learner") document.querySelectorAll(".msg.pending").forEach((n) => { if (n.lastChild.textContent === m.text) n.remove(); });
  const who = m.sender === "learner" ? t("you") : m.sender === "bot" ? t("bot") : m.sender === "agent" ? (m.payload.agent_name || t("agent")) : null;
  const p = m.payload || {};
  let text = m.text;
  // the answer's own "📖 Source: …" line is for text-only clients; here the link below says it
  if (p.citation) text = text.replace(/\n\s*\n📖[^\n]*$/, "");
  // a message anonymised by an erasure or the retention period has no words left: a muted
  // placeholder, not an empty bubble
  const erased = !String(text || "").trim() && !Object.keys(p).length;
  const body = erased ? AC.el("span", { class: "erased-text" }, t("erased")) : m.sender === "learner" ? text : AC.rich(text);
  const node = AC.el("div", { class: `msg ${m.sender}${erased ? " erased" : ""}`, "data-id": m.id, "data-sender": m.sender },
    who ? AC.el("span", { class: "who" }, who) : null, body);
  if (p.download) node.append(downloadBox(p.download));
  if (p.citation) {
    node.append(AC.el("a", { class: "cite", href: p.citation.url, target: "_blank", "data-entry": p.citation.id }, `📖 ${t("source")}: ${p.citation.title}`));
  }
  if (p.buttons && p.buttons.length) {
    node.append(AC.el("div", { class: "buttons" }, p.buttons.map((b) =>
      AC.el("button", { type: "button", onclick: () => send(b.title, b.payload) }, b.title))));
  }
  if (p.feedback && p.citation) {
    node.append(AC.el("div", { class: "buttons feedback" },
      AC.el("button", { type: "button", "data-helpful": "yes", onclick: (e) => feedback(p.citation.id, true, m.id, e.target) }, "👍 " + t("helpful")),
      AC.el("button", { type: "button", "data-helpful": "no", onclick: (e) => feedback(p.citation.id, false, m.id, e.target) }, "👎 " + t("not_helpful"))));
  }
  if (p.csat) node.append(starRow(p.csat));
  // the thank-you for a rating closes its star row (also when the transcript is replayed)
  if (p.event === "csat") closeStars(p.ticket_id, p.score);
  $("log").append(node);
  $("log").scrollTop = $("log").scrollHeight;
}

// The learner's copy of their data (a privacy export): the link needs their sign-in, so the
// page fetches it with the token and saves what comes back; a plain link would not work.
// Once the link has expired the button gives way to a line that says so.
function downloadBox(d) {
  const box = AC.el("div", { class: "download" });
  const expired = () => !d.expires_at || d.expires_at * 1000 <= Date.now();
  const gone = (why = "expired") => box.replaceChildren(AC.el("span", { class: "expired", "data-download": why }, t(`download_${why}`)));
  // only this site's export path gets the learner's token
  if (!/^\/api\/learner\/privacy-exports\/[\w-]+$/.test(d.url || "")) { gone("invalid"); return box; }
  if (expired()) { gone(); return box; }
  const button = AC.el("button", { type: "button", class: "primary", "data-download": "ready", onclick: async () => {
    if (expired()) { gone(); return; }
    button.disabled = true;
    try {
      const res = await fetch(d.url, { headers: { Authorization: "Bearer " + token } });
      // 410: expired (or its file purged); 404: not this learner's link
      if (res.status === 410 || res.status === 404) { gone(res.status === 410 ? "expired" : "invalid"); return; }
      if (!res.ok) { const e = new Error(res.statusText); e.status = res.status; throw e; }
      const href = URL.createObjectURL(await res.blob());
      const a = AC.el("a", { href, download: "afterclass-data.json", class: "hidden" });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(href), 60000);
    } catch (e) { $("status").textContent = errText(e); }
    finally { button.disabled = false; }
  } }, "⬇ " + t("download"));
  box.append(button);
  const left = d.expires_at * 1000 - Date.now();
  if (left < 2 ** 31 - 1) setTimeout(() => gone(), left);  // the button goes when the link does
  return box;
}

async function feedback(entryId, helpful, messageId, button) {
  try {
    await AC.api(`/api/conversations/${conv.id}/feedback`, { method: "POST", token, body: { entry_id: entryId, helpful, message_id: messageId } });
    button.parentElement.querySelectorAll("button").forEach((b) => (b.disabled = true));
  } catch (e) { $("status").textContent = errText(e); }
}

// One star row per resolved ticket: a tap picks the score and opens an optional comment; the
// rating is sent once, for this row's ticket. The hub refuses a second rating of a ticket.
function starRow(csat) {
  const row = AC.el("div", { class: "buttons stars", "aria-label": t("rate"), "data-ticket": csat.ticket_id });
  const comment = AC.el("textarea", { class: "hidden rating-comment", maxlength: "1000", placeholder: t("comment"), "aria-label": t("comment") });
  const submit = AC.el("button", { type: "button", class: "hidden primary rating-submit", onclick: () => rate(csat.ticket_id, Number(row.dataset.score), comment.value.trim(), row) }, t("submit_rating"));
  csat.scale.forEach((s) => row.append(AC.el("button", { type: "button", "data-score": s, onclick: () => {
    row.dataset.score = s;
    row.querySelectorAll("[data-score]").forEach((b) => b.classList.toggle("primary", Number(b.dataset.score) === s));
    comment.classList.remove("hidden"); submit.classList.remove("hidden"); comment.focus();
    submit.scrollIntoView({ block: "nearest" });  // the comment and its button open below the stars
  } }, "★".repeat(s))));
  row.append(comment, submit);
  return row;
}

function closeStars(ticketId, score) {
  document.querySelectorAll(`.stars[data-ticket="${ticketId}"]`).forEach((row) => {
    row.querySelectorAll("button, textarea").forEach((b) => { b.disabled = true; });
    row.querySelectorAll("[data-score]").forEach((b) => b.classList.toggle("primary", Number(b.dataset.score) === score));
    row.querySelectorAll(".rating-submit, .rating-comment").forEach((n) => n.classList.add("hidden"));
  });
}

async function rate(ticketId, score, comment, row) {
  if (!score || row.dataset.sending) return;
  row.dataset.sending = "1";  // a double tap must not send the rating twice
  try {
    await AC.api(`/api/conversations/${conv.id}/csat`, { method: "POST", token, body: { score, comment, ticket_id: ticketId } });
    closeStars(ticketId, score);
  } catch (e) {
    if (e.status === 409) { closeStars(ticketId); $("log").append(AC.el("div", { class: "msg system" }, t("rated"))); }
    else $("status").textContent = errText(e);
  } finally { delete row.dataset.sending; }
}

async function backToBot() {
  // allowed also while an agent holds the chat: the hub cancels the ticket and tells the agent
  try { mode = (await AC.api(`/api/conversations/${conv.id}/back-to-bot`, { method: "POST", token })).mode; showMode(); }
  catch (e) { $("status").textContent = errText(e); }
}

// the hub's limit (AFTERCLASS_MAX_MESSAGE_CHARS, sent with the conversation), counted in
// characters as the hub counts them; shown from 500 below it, red past it
let maxChars = 4000;
function showCount() {
  const max = maxChars;
  const n = [...$("text").value].length;
  const el = $("count");
  el.classList.toggle("hidden", n < max - 500);
  el.classList.toggle("over", n > max);
  el.textContent = `${n.toLocaleString("en-US")} / ${max.toLocaleString("en-US")}`;
}

// The message's own id, made here: if the answer is lost (the network dropped, the hub
// restarted), the page sends the message again with the same id and the hub returns what it
// stored and answered, instead of a second message and a second turn.
function messageId() {
  return (self.crypto && crypto.randomUUID) ? crypto.randomUUID()
    : Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
}

// sends a message, again with the same id while the hub cannot be reached or fails (5xx):
// a few tries a few seconds apart; a refusal (4xx) is final
async function post(body) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await AC.api(`/api/conversations/${conv.id}/messages`, { method: "POST", token, body });
    } catch (e) {
      if ((e.status && e.status < 500) || attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, 1000 * 2 ** attempt));
    }
  }
}

async function send(text, payload) {
  text = (text || "").trim();
  if (!text || !conv) return;
  $("send").disabled = true;
  // the learner's words show at once, and the bot "types" while Rasa thinks (a turn can take
  // a second or two); the stored message and the replies take their place when the hub answers
  const pending = AC.el("div", { class: "msg learner pending", "data-sender": "learner" }, AC.el("span", { class: "who" }, t("you")), text);
  const typing = mode === "bot" ? AC.el("div", { class: "msg bot typing", "aria-label": t("typing") }, "• • •") : null;
  $("log").append(...[pending, typing].filter(Boolean));
  $("log").scrollTop = $("log").scrollHeight;
  try {
    const body = { text, client_id: messageId() };
    if (payload) body.payload = payload;
    const res = await post(body);
    pending.remove();
    [res.message, ...res.replies].forEach(render);
    mode = res.mode; showMode();
  } catch (e) {
    // refused (too long, signed out...): marked, and typed text goes back to the box to edit
    pending.classList.add("unsent");
    pending.append(AC.el("span", { class: "meta" }, t("unsent")));
    if (!payload && !$("text").value) { $("text").value = text; showCount(); }
    $("log").append(AC.el("div", { class: "msg system error" }, errText(e)));
  } finally {
    if (typing) typing.remove();
    $("send").disabled = false; $("text").focus();
  }
}

async function start(learnerId, fresh) {
  const login = await AC.api("/api/auth/learner", { method: "POST", body: { learner_id: learnerId } });
  token = login.token;
  const key = `ac.conv.${learnerId}`;
  conv = null; $("send").disabled = true;
  // unless a new chat is asked for: this tab's own conversation (a reload stays where it was);
  // in a new tab, the conversation a person is (or will be) answering in; then a new one
  const saved = !fresh && AC.store.getItem(key);
  const take = (res) => { maxChars = res.max_message_chars || maxChars; return res.conversation; };
  if (saved) { try { conv = take(await AC.api(`/api/conversations/${saved}`, { token })); } catch (e) { conv = null; } }
  if (!fresh && !conv) { try { conv = take(await AC.api("/api/conversations/open", { token })); AC.store.setItem(key, conv.id); } catch (e) { conv = null; } }
  if (!conv) { conv = take(await AC.api("/api/conversations", { method: "POST", token, body: { lang } })); AC.store.setItem(key, conv.id); }
  $("log").replaceChildren();
  if (sock) sock.close();
  sock = AC.socket(`/api/conversations/${conv.id}/ws`, token, (ev) => {
    if (ev.type === "message") render(ev.message);
    if (ev.type === "mode") { mode = ev.mode; showMode(); }
  }, (up) => showMode(up));
  document.body.dataset.conversation = conv.id;
  $("send").disabled = false;
  if (sendWhenReady) { sendWhenReady = false; $("composer").requestSubmit(); }
}

async function init() {
  applyLang();
  const learners = await AC.api("/api/demo/learners");
  const params = new URLSearchParams(location.search);
  for (const l of learners) $("learner").append(AC.el("option", { value: l.id }, `${l.name} (${l.id})`));
  $("learner").value = params.get("learner") || learners[0].id;
  $("learner").onchange = () => start($("learner").value, false);
  $("new-chat").onclick = () => start($("learner").value, true);
  $("ui-lang").onchange = () => { lang = $("ui-lang").value; AC.setLang(lang); applyLang(); };
  // until the conversation is ready there is nowhere to send: the text stays in the box and
  // goes as soon as it is (start() below)
  $("composer").onsubmit = (e) => { e.preventDefault(); if (!conv) { sendWhenReady = true; return; } const v = $("text").value; $("text").value = ""; showCount(); send(v); };
  $("text").oninput = showCount;
  $("text").onkeydown = (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("composer").requestSubmit(); } };
  await start($("learner").value, params.has("new"));
}
init().catch((e) => { $("status").textContent = errText(e); });
