// KB admin: list/filter entries, edit with a live "try a question" box, publish, history,
// rollback, import/export, and the unanswered-question clusters.
let token = AC.store.getItem("ac.staff.token"), current = null, tryTimer = null;
const $ = (id) => document.getElementById(id);
const show = (id, on) => $(id).classList.toggle("hidden", !on);
const msg = (text, bad) => { $("e-msg").textContent = text; $("e-msg").className = bad ? "error" : "muted"; };

async function login(e) {
  e.preventDefault();
  try {
    const res = await AC.api("/api/auth/login", { method: "POST", body: { username: $("username").value, password: $("password").value } });
    token = res.token; AC.store.setItem("ac.staff.token", token); await boot();
  } catch (err) { $("login-error").textContent = err.message; }
}

async function loadList() {
  const p = new URLSearchParams();
  if ($("q").value) p.set("q", $("q").value);
  if ($("f-lang").value) p.set("lang", $("f-lang").value);
  if ($("f-status").value) p.set("status", $("f-status").value);
  const list = await AC.api("/api/kb/entries?" + p, { token });
  $("list-count").textContent = `${list.length}`;
  $("entries").replaceChildren(...list.map((e) => AC.el("div", {
      class: "entry-item" + (current && current.id === e.id ? " active" : ""), "data-entry": e.id, onclick: () => openEntry(e.id) },
    AC.el("div", { class: "row" }, AC.el("strong", {}, e.question), AC.el("span", { class: `pill ${e.status}` }, e.status)),
    AC.el("div", { class: "row muted" }, AC.el("span", {}, `${e.id} · v${e.version} · ${e.category}`),
      AC.el("span", {}, `👍 ${e.feedback.helpful} 👎 ${e.feedback.not_helpful}`)))));
}

function fill(e) {
  current = e;
  $("e-id").value = e ? e.id : ""; $("e-id").disabled = !!e;
  $("e-lang").value = e ? e.lang : "zh"; $("e-lang").disabled = !!e;
  $("e-question").value = e ? e.question : "";
  $("e-alts").value = e ? e.alt_questions.join("\n") : "";
  $("e-answer").value = e ? e.answer : "";
  $("e-category").value = e ? e.category : "general";
  $("e-tags").value = e ? e.tags.join(", ") : "";
  $("e-translation").value = e && e.translation ? e.translation : "";
  $("e-status").textContent = e ? `${e.status} · v${e.version}` : "new";
  $("e-feedback").textContent = e ? `Learner feedback · 学员反馈: 👍 ${e.feedback.helpful}  👎 ${e.feedback.not_helpful}` : "";
  $("history").replaceChildren(...(e && e.history ? e.history.map((h) => AC.el("div", { class: "row" },
    AC.el("span", {}, `v${h.version} · ${h.author} · ${new Date(h.created_at * 1000).toLocaleString()} · ${h.note || ""}`), " ",
    h.version !== e.version ? AC.el("button", { type: "button", "data-version": h.version, onclick: () => rollback(h.version) }, "Restore · 恢复") : null)) : []));
  ["unpublish", "archive"].forEach((id) => $(id).disabled = !e);
  msg("");
}

async function openEntry(id) {
  fill(await AC.api(`/api/kb/entries/${encodeURIComponent(id)}`, { token }));
  loadList();
}

function formBody(status) {
  return {
    id: $("e-id").value.trim(), lang: $("e-lang").value, question: $("e-question").value.trim(),
    alt_questions: $("e-alts").value.split("\n").map((s) => s.trim()).filter(Boolean),
    answer: $("e-answer").value, category: $("e-category").value.trim() || "general",
    tags: $("e-tags").value.split(",").map((s) => s.trim()).filter(Boolean),
    translation: $("e-translation").value.trim() || null, status,
  };
}

function indexed(res) { return res.index ? ` · re-indexed ${res.index.entries} entries in ${res.index.seconds}s` : ""; }

async function save(status) {
  try {
    const body = formBody(status || (current ? current.status : "draft"));
    const res = current
      ? await AC.api(`/api/kb/entries/${encodeURIComponent(current.id)}`, { method: "PUT", token, body })
      : await AC.api("/api/kb/entries", { method: "POST", token, body });
    await openEntry(res.entry.id);
    msg(`Saved · 已保存 v${res.entry.version}${indexed(res)}`);
  } catch (e) { msg(e.message, true); }
}

async function setStatus(action) {
  try {
    if (!current) return;
    const res = await AC.api(`/api/kb/entries/${encodeURIComponent(current.id)}/${action}`, { method: "POST", token });
    await openEntry(current.id);
    msg(`${res.entry.status}${indexed(res)}`);
  } catch (e) { msg(e.message, true); }
}

async function rollback(version) {
  try {
    const res = await AC.api(`/api/kb/entries/${encodeURIComponent(current.id)}/rollback`, { method: "POST", token, body: { version } });
    await openEntry(current.id); msg(`Restored v${version} as v${res.entry.version}${indexed(res)}`);
  } catch (e) { msg(e.message, true); }
}

async function tryQuestion() {
  const q = $("try-q").value.trim();
  if (!q) { $("try-out").replaceChildren(); return; }
  const res = await AC.api("/api/kb/try", { method: "POST", token, body: { query: q } });
  $("try-out").replaceChildren(
    AC.el("div", {}, "Decision · 决定: ", AC.el("span", { class: `decision ${res.decision}`, id: "try-decision" }, res.decision),
      res.answer_id ? ` → ${res.answer_id}` : "",
      AC.el("span", { class: "muted" }, ` (answer ≥ ${res.thresholds.answer}, clarify ≥ ${res.thresholds.clarify})`)),
    AC.el("table", {}, AC.el("tr", {}, ["#", "entry", "score", "dense", "lexical", "matched"].map((h) => AC.el("th", {}, h))),
      res.hits.map((h, i) => AC.el("tr", { "data-hit": h.id }, AC.el("td", {}, i + 1), AC.el("td", {}, h.id),
        AC.el("td", {}, h.score.toFixed(3)), AC.el("td", {}, h.dense.toFixed(3)), AC.el("td", {}, h.lexical.toFixed(3)), AC.el("td", {}, h.matched)))));
}

async function doExport() {
  const fmt = $("x-format").value;
  const res = await fetch(`/api/kb/export?format=${fmt}`, { headers: { Authorization: "Bearer " + token } });
  const blob = await res.blob();
  const a = AC.el("a", { href: URL.createObjectURL(blob), download: `kb-export.${fmt}` });
  document.body.append(a); a.click(); a.remove();
}

async function doImport(ev) {
  const file = ev.target.files[0];
  if (!file) return;
  const fmt = file.name.endsWith(".csv") ? "csv" : file.name.endsWith(".jsonl") || file.name.endsWith(".json") ? "jsonl" : "yaml";
  const res = await fetch(`/api/kb/import?format=${fmt}`, { method: "POST", headers: { Authorization: "Bearer " + token }, body: await file.text() });
  const data = await res.json();
  msg(res.ok ? `Imported · 已导入: ${data.created} new, ${data.updated} updated, ${data.unchanged} unchanged${indexed(data)}` : data.detail, !res.ok);
  ev.target.value = ""; loadList();
}

async function loadGaps() {
  const clusters = await AC.api("/api/kb/gaps", { token });
  $("gaps").replaceChildren(clusters.length ? "" : AC.el("p", { class: "muted" }, "No unanswered questions · 暂无未解答问题"),
    ...clusters.map((c) => AC.el("div", { class: "gap-card", "data-cluster": c.key },
      AC.el("div", { class: "row" }, AC.el("strong", {}, `${c.size}× ${c.representative}`), " ",
        AC.el("span", { class: "pill" }, c.lang), " ", AC.el("span", { class: "muted" }, Object.entries(c.kinds).map(([k, n]) => `${k} ${n}`).join(", "))),
      AC.el("ul", {}, c.queries.slice(0, 6).map((q) => AC.el("li", {}, q))),
      c.best_hits.length ? AC.el("div", { class: "muted" }, "Closest entries · 最接近: " + c.best_hits.map((h) => `${h.id} (${h.score})`).join(", ")) : null,
      AC.el("button", { class: "primary", onclick: () => draftFrom(c) }, "Create entry from this cluster · 据此新建条目"))));
}

async function draftFrom(c) {
  const res = await AC.api("/api/kb/gaps/draft", { method: "POST", token, body: { gap_ids: c.gap_ids, lang: c.lang, question: c.representative, alt_questions: c.queries } });
  tab("entries"); await openEntry(res.entry.id); msg("Draft created · 已生成草稿: write the answer, then publish");
}

function tab(name) {
  document.querySelectorAll(".tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  show("tab-entries", name === "entries"); show("tab-gaps", name === "gaps");
  if (name === "gaps") loadGaps();
}

function logout() { AC.store.removeItem("ac.staff.token"); token = null; location.reload(); }

async function boot() {
  if (!token) { show("login", true); return; }
  let me;
  try { me = await AC.api("/api/auth/me", { token }); } catch (e) { logout(); return; }
  if (!me.roles.some((r) => r === "content_editor" || r === "admin")) { show("login", true); $("login-error").textContent = "This page needs the content_editor role · 需要内容编辑权限"; return; }
  show("login", false); show("app", true); show("logout", true);
  $("who").textContent = `${me.display_name} (${me.id})`;
  fill(null); await loadList();
}

$("login").onsubmit = login;
$("logout").onclick = logout;
$("editor").onsubmit = (e) => { e.preventDefault(); save(); };
$("publish").onclick = () => save("published");
$("unpublish").onclick = () => setStatus("unpublish");
$("archive").onclick = () => setStatus("archive");
$("new-entry").onclick = () => { fill(null); loadList(); };
$("q").oninput = () => loadList();
$("f-lang").onchange = loadList; $("f-status").onchange = loadList;
$("export").onclick = doExport;
$("import-file").onchange = doImport;
$("try-q").oninput = () => { clearTimeout(tryTimer); tryTimer = setTimeout(tryQuestion, 250); };
document.querySelectorAll(".tabs button").forEach((b) => (b.onclick = () => tab(b.dataset.tab)));
boot();
