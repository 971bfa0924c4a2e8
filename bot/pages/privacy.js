// The agent console's privacy requests (bot/api/privacy.py): a learner's copy of their data
// or its erasure, with a legal deadline. Only the privacy team ("compliance") and managers see
// the view; the hub refuses everyone else (403) whatever the page shows. Loaded after
// agent.js and uses its globals (token, me, $, show, openTicket, supervises).
const PrivacyDesk = (() => {
  const TEAM = "compliance";
  const KIND = { export: "Data export · 导出数据", delete: "Erasure · 删除数据" };
  const STATE = { open: "Open · 待办", done: "Done · 已办结", refused: "Refused · 已拒绝" };
  let requests = [], picked = null, timer = null, loading = false;
  let message = null;  // what the last step said, kept across the detail's refreshes

  const allowed = () => !!me && (supervises() || (me.teams || []).includes(TEAM));
  const day = (ts) => {
    const d = new Date(ts * 1000), p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  };

  // The legal deadline as a countdown, from due_at so it stays right between refreshes: days
  // while it is days away, hours in the last two days; overdue says by how much.
  function dueText(r) {
    if (r.status !== "open" || r.due_at == null) return null;
    const ms = r.due_at * 1000 - Date.now(), h = Math.abs(ms) / 3600000;
    const [en, zh] = h >= 48 ? [`${Math.floor(h / 24)} d`, `${Math.floor(h / 24)} 天`] : [`${Math.max(1, Math.round(h))} h`, `${Math.max(1, Math.round(h))} 小时`];
    return ms >= 0 ? `due in ${en} · ${zh}内办结` : `overdue ${en} · 已逾期 ${zh}`;
  }
  const overdue = (r) => r.status === "open" && r.due_at != null && r.due_at * 1000 < Date.now();

  function duePill(r) {
    const text = dueText(r);
    if (!text) return null;
    return AC.el("span", { class: "pill due" + (overdue(r) ? " breached" : ""), "data-due": overdue(r) ? "overdue" : "due", title: `${day(r.due_at)}` }, text);
  }

  function delivery(r) {
    if (r.kind !== "export" || !r.exported) return null;
    if (r.delivered_at) return AC.el("span", { class: "pill delivered", "data-delivery": "delivered" }, `Delivered ${day(r.delivered_at)} · 学员已下载`);
    const expired = r.download_expires_at && r.download_expires_at * 1000 < Date.now();
    return expired
      ? AC.el("span", { class: "pill breached", "data-delivery": "expired" }, "Link expired, not downloaded · 链接已过期，学员未下载")
      : AC.el("span", { class: "pill", "data-delivery": "waiting" }, "Not downloaded yet · 学员尚未下载");
  }

  function renderList() {
    const n = requests.filter((r) => r.status === "open").length;
    $("privacy-total").textContent = `(${requests.length})`;
    const late = requests.filter(overdue).length;
    $("privacy-count").textContent = n && ["open", "all"].includes($("privacy-status").value) ? String(n) : "";
    $("privacy-count").classList.toggle("breached", late > 0);
    $("privacy-count").classList.toggle("hidden", !$("privacy-count").textContent);
    $("privacy-requests").replaceChildren(...requests.map((r) => AC.el("div", {
        class: "queue-item privacy-item" + (picked === r.id ? " active" : "") + (overdue(r) ? " overdue" : ""),
        "data-request": r.id, "data-kind": r.kind, "data-learner": r.learner_id, onclick: () => pick(r.id) },
      AC.el("div", { class: "row" }, AC.el("strong", {}, `#${r.id} · ${r.learner_id}`), AC.el("span", { class: `pill kind-${r.kind}` }, KIND[r.kind] || r.kind)),
      AC.el("div", { class: "row" },
        AC.el("span", { class: "muted" }, `Asked · 提交于 ${day(r.created_at)}`),
        duePill(r) || AC.el("span", { class: `pill ${r.status}` }, STATE[r.status] || r.status)))));
    if (!requests.length) $("privacy-requests").append(AC.el("div", { class: "muted queue-head" }, "No requests · 没有请求"));
  }

  async function refresh() {
    if (!allowed() || loading) return;
    loading = true;
    try {
      const res = await AC.api(`/api/agent/privacy-requests?status=${$("privacy-status").value}`, { token });
      requests = res.requests;
      renderList();
      if (picked != null) {
        const fresh = requests.find((r) => r.id === picked);
        // not in this list any more (carried out while the list shows open ones): ask for it
        const now = fresh || (await AC.api(`/api/agent/privacy-requests/${picked}`, { token }).catch(() => null));
        if (now && now.id === picked) renderDetail(now);
      }
      if (typeof current !== "undefined" && current) showInfo();
    } catch (e) {
      if (e.status === 403) { show("views", false); stop(); } else if (e.status === 401) logout(); else say(e.message, true);
    } finally { loading = false; }
  }

  function say(text, error = false) {
    message = { id: picked, text, error };
    sayAgain();
  }
  function sayAgain() {
    const box = $("privacy-message");
    if (!box || !message || message.id !== picked) return;
    box.className = message.error ? "error" : "muted";
    box.textContent = message.text;
  }

  async function pick(id) {
    picked = id; message = null;
    renderList();
    try { renderDetail(await AC.api(`/api/agent/privacy-requests/${id}`, { token })); }
    catch (e) { $("privacy-detail").replaceChildren(AC.el("div", { class: "error" }, e.message)); }
  }

  function renderDetail(r) {
    const open = r.status === "open";
    const facts = [
      ["Learner · 学员", r.learner_id],
      ["Kind · 类型", KIND[r.kind] || r.kind],
      ["Status · 状态", STATE[r.status] || r.status],
      ["Asked · 提交于", day(r.created_at)],
      ["Identity checked by · 身份核验", r.verified_by],
      ["Legal deadline · 法定期限", r.due_at ? day(r.due_at) : "—"],
      r.done_at ? ["Closed · 办结于", `${day(r.done_at)} (${r.done_by || ""})`] : null,
      r.note ? ["Note · 备注", r.note] : null,
      r.kind === "export" && r.download_expires_at ? ["Link valid until · 链接有效期至", day(r.download_expires_at)] : null,
    ].filter(Boolean);
    const buttons = [];
    if (open && r.kind === "export") buttons.push(AC.el("button", { id: "privacy-export", class: "primary", type: "button", onclick: () => exportData(r) }, "Export · 导出数据"));
    if (open && r.kind === "delete") buttons.push(AC.el("button", { id: "privacy-erase", class: "danger", type: "button", onclick: () => askErase(r) }, "Erase · 删除数据"));
    if (open) buttons.push(AC.el("button", { id: "privacy-refuse", type: "button", onclick: () => askRefuse(r) }, "Refuse · 拒绝"));
    if (r.ticket_id) buttons.push(AC.el("button", { id: "privacy-ticket", type: "button", onclick: () => openItsTicket(r.ticket_id) }, `Open ticket #${r.ticket_id} · 打开工单`));
    $("privacy-detail").replaceChildren(
      AC.el("div", { class: "toolbar" }, AC.el("strong", { id: "privacy-title" }, `#${r.id} · ${KIND[r.kind] || r.kind} · ${r.learner_id}`),
        AC.el("span", { class: "spacer grow" }), duePill(r), delivery(r)),
      AC.el("table", { class: "privacy-facts", "data-request": r.id }, facts.map(([k, v]) => AC.el("tr", {}, AC.el("th", {}, k), AC.el("td", {}, v)))),
      AC.el("p", { class: "muted" }, r.kind === "export"
        ? "Export makes the learner's file and gives them a download button in their chat, valid while they are signed in and until the link expires. · 导出会生成数据文件，并在学员对话中提供下载按钮，学员需登录后在有效期内下载。"
        : "Erasure deletes or anonymises everything about the learner, once their id is typed again. · 再次输入学员 ID 确认后，删除或匿名化该学员的全部数据。"),
      AC.el("div", { class: "privacy-actions" }, buttons),
      AC.el("div", { id: "privacy-message", class: "muted", role: "status" }));
    sayAgain();
  }

  async function carry(r, path, body, done) {
    try {
      const res = await AC.api(`/api/agent/privacy-requests/${r.id}/${path}`, { method: "POST", token, body });
      renderDetail(res);
      say(done);
      refresh();
      return true;
    } catch (e) { say(e.message, true); refresh(); return e; }
  }

  async function exportData(r) {
    $("privacy-export").disabled = true;
    await carry(r, "export", undefined, "Export made; the learner has a download button in their chat · 已导出，学员对话中已出现下载按钮");
  }

  // The erasure is final: the learner's id must be typed again before the button is enabled
  // (the hub checks it too, 422 on a mismatch)
  let erasing = null;
  function askErase(r) {
    erasing = r;
    $("erase-learner").textContent = r.learner_id;
    $("erase-confirm").value = "";
    $("erase-error").textContent = "";
    $("erase-go").disabled = true;
    $("erase-dialog").showModal();
    $("erase-confirm").focus();
  }
  async function erase(e) {
    if (!e.submitter || e.submitter.value !== "erase") return;  // Cancel just closes
    e.preventDefault();  // stays open until the hub says it is done
    const r = erasing;
    $("erase-go").disabled = true;
    const out = await carry(r, "erase", { confirm: $("erase-confirm").value }, `Erased: ${r.learner_id}'s data is gone · 已删除该学员数据`);
    if (out === true) $("erase-dialog").close();
    else { $("erase-error").textContent = out.message; $("erase-go").disabled = false; }
  }

  let refusing = null;
  function askRefuse(r) {
    refusing = r;
    $("refuse-note").value = "";
    $("refuse-error").textContent = "";
    $("refuse-dialog").showModal();
    $("refuse-note").focus();
  }
  async function refuse(e) {
    if (!e.submitter || e.submitter.value !== "refuse") return;
    e.preventDefault();
    const note = $("refuse-note").value.trim();
    if (!note) { $("refuse-error").textContent = "Say why · 请填写原因"; return; }
    const out = await carry(refusing, "refuse", { note }, "Refused; the learner is told why · 已拒绝，并已告知学员原因");
    if (out === true) $("refuse-dialog").close();
    else $("refuse-error").textContent = out.message;
  }

  function openItsTicket(id) {
    view("tickets");
    openTicket(id);
  }

  function view(which) {
    const privacy = which === "privacy";
    show("console", !privacy); show("privacy", privacy);
    $("view-tickets").classList.toggle("active", !privacy);
    $("view-privacy").classList.toggle("active", privacy);
    AC.store.setItem("ac.agent.view", which);
    if (privacy) refresh();
  }

  function stop() { clearInterval(timer); timer = null; }

  // on the ticket of a request (reason privacy_*): a way to the request
  function forTicket(ticket) {
    if (!allowed() || !ticket) return null;
    const r = requests.find((x) => x.ticket_id === ticket.id);
    if (!r) return null;
    return AC.el("div", { "data-info": "privacy" }, AC.el("button", { type: "button", id: "ticket-privacy", onclick: () => { view("privacy"); pick(r.id); } },
      `Privacy request #${r.id} · 隐私请求`), " ", duePill(r));
  }

  function start() {
    if (!allowed()) return;
    show("views", true);
    $("view-tickets").onclick = () => view("tickets");
    $("view-privacy").onclick = () => view("privacy");
    $("privacy-status").onchange = () => { picked = null; $("privacy-detail").replaceChildren(AC.el("span", { class: "muted" }, "Pick a request · 选择一个请求")); refresh(); };
    $("erase-confirm").oninput = () => { $("erase-go").disabled = $("erase-confirm").value.trim() !== (erasing && erasing.learner_id); };
    $("erase-form").onsubmit = erase;
    $("refuse-form").onsubmit = refuse;
    if (AC.store.getItem("ac.agent.view") === "privacy") view("privacy");
    refresh();
    timer = setInterval(refresh, 10000);
  }

  return { start, forTicket };
})();
