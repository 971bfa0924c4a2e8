// KB admin: list/filter entries, edit with a live "try a question" box, publish, history,
// rollback, import/export, and the unanswered-question clusters.
// Every change sends the version the form was loaded from (base_version): if a colleague
// saved in between, the hub answers 409 and the page offers a reload, never an overwrite.
// why each question is in Unanswered (kb_index/gaps.py log_gap kinds), for the editor
const GAP_KINDS = { fallback: "no answer · 未找到答案", clarify: "unsure · 不确定", out_of_scope: "out of scope · 超出范围", not_helpful: "not helpful · 没帮到" };
let token = AC.store.getItem("ac.staff.token"), current = null, tryTimer = null;
// the latest try (live or preview) owns the result panel: an older answer arriving later
// (a live search fired while the preview was building) never replaces it
let trySeq = 0;
let loaded = "", pendingGaps = [];  // the form as loaded (for unsaved-change warnings); gaps a new entry answers
const $ = (id) => document.getElementById(id);
const show = (id, on) => $(id).classList.toggle("hidden", !on);
const msg = (text, bad, ...extra) => { $("e-msg").replaceChildren(text, ...extra); $("e-msg").className = bad ? "error" : "muted"; };

// AC.api, but a validation error (a list of {loc, msg}) reads as "field: why", not [object Object]
async function call(path, { method = "GET", body } = {}) {
  const res = await fetch(path, { method, headers: { "Content-Type": "application/json", Authorization: "Bearer " + token }, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await res.json(); } catch (e) { data = { detail: `${res.status} ${res.statusText}` }; }
  if (!res.ok) {
    const d = data && data.detail;
    const err = new Error(Array.isArray(d) ? d.map((x) => `${x.loc.slice(1).join(".") || "entry"}: ${x.msg.replace(/^Value error, /, "")}`).join("; ") : d || res.statusText);
    err.status = res.status; throw err;
  }
  return data;
}
const entryUrl = (id, action) => `/api/kb/entries/${encodeURIComponent(id)}${action ? "/" + action : ""}`;

// a colleague saved first: say so and offer their version, keeping the user's text on screen
function failed(e) {
  if (e.status === 409 && current) {
    msg(e.message, true, " ", AC.el("button", { type: "button", id: "reload-entry", onclick: () => openEntry(current.id, true) }, "Reload · 重新加载"));
  } else msg(e.message, true);
}

const dirty = () => loaded !== JSON.stringify(formBody());
const mayLeave = () => !dirty() || confirm("Discard your unsaved changes? · 放弃未保存的修改？");

function login(e) {
  return AC.signIn(e, (t) => { token = t; return boot(); });
}

async function loadList() {
  const p = listFilters();
  const list = await AC.api("/api/kb/entries?" + p, { token });
  $("list-count").textContent = `${list.length}`;
  $("entries").replaceChildren(...list.map((e) => AC.el("div", {
      class: "entry-item" + (current && current.id === e.id ? " active" : ""), "data-entry": e.id, onclick: () => openEntry(e.id) },
    AC.el("div", { class: "row" }, AC.el("strong", {}, e.question),
      AC.el("span", { class: "pills" }, e.has_staged ? AC.el("span", { class: "pill staged", title: "unpublished changes · 有未发布的修改" }, "✎") : "", " ",
        AC.el("span", { class: `pill ${e.status}` }, e.status))),
    AC.el("div", { class: "row muted" }, AC.el("span", {}, `${e.id} · v${e.version} · ${e.category}`),
      AC.el("span", {}, `👍 ${e.feedback.helpful} 👎 ${e.feedback.not_helpful}`)))));
}

// the id must start with the entry's language and the translation with the other one: the
// examples follow the language picked (they said "en-…" beside a zh entry)
function idHints() {
  const lang = $("e-lang").value, other = lang === "zh" ? "en" : "zh";
  $("e-id").placeholder = `${lang}-my-topic`; $("e-translation").placeholder = `${other}-my-topic`;
}

function fill(e, draft) {
  current = e; pendingGaps = draft ? draft.gap_ids : [];
  if (draft) e = null;
  // a live entry with unpublished changes opens on those changes: they are the newest work
  const c = e && e.staged ? e.staged.entry : e;
  $("e-id").value = e ? e.id : draft ? draft.id : ""; $("e-id").disabled = !!e;
  // a new entry starts in the language the list is filtered to (zh when both are shown)
  const listLang = ["zh", "en"].includes($("f-lang").value) ? $("f-lang").value : "zh";
  $("e-lang").value = e ? e.lang : draft ? draft.lang : listLang; $("e-lang").disabled = !!e;
  idHints();
  $("e-question").value = c ? c.question : draft ? draft.question : "";
  $("e-alts").value = c ? c.alt_questions.join("\n") : draft ? draft.alts.join("\n") : "";
  $("e-answer").value = c ? c.answer : "";
  $("e-category").value = c ? c.category : "general";
  $("e-tags").value = c ? c.tags.join(", ") : "";
  $("e-translation").value = c && c.translation ? c.translation : "";
  stagedBanner(e);
  $("e-status").textContent = e ? `${e.status} · v${e.version}` : "new";
  $("e-feedback").textContent = e ? `Learner feedback · 学员反馈: 👍 ${e.feedback.helpful}  👎 ${e.feedback.not_helpful}` : "";
  $("history").replaceChildren(...(e && e.history ? e.history.map((h) => AC.el("div", { class: "row history-row", "data-history": h.version },
    AC.el("span", {}, `v${h.version} · `, AC.el("span", { class: `pill ${h.status}` }, h.status), ` · ${h.author} · ${new Date(h.created_at * 1000).toLocaleString()} · ${h.note || "edited"}`,
      AC.el("div", { class: "muted" }, h.preview), versionDetails(h)), " ",
    h.version !== e.version ? AC.el("button", { type: "button", "data-version": h.version, onclick: () => rollback(h.version) }, "Restore text · 恢复内容") : null)) : []));
  buttons(e ? e.status : null);
  loaded = JSON.stringify(formBody());
  const w = warned(e);
  msg(w.trim(), !!w);
}

// What a version changed against the one before it (the answer as a line diff: two answers
// alike for 80 characters looked the same in the preview), and its full text on demand
const FIELD_NAMES = { question: "question · 标准问题", alt_questions: "alternates · 相似问法", answer: "answer · 答案", category: "category · 分类", tags: "tags · 标签", translation: "translation · 译文", status: "status · 状态" };
const shown = (v) => Array.isArray(v) ? v.join(" | ") || "—" : v || "—";
function versionDetails(h) {
  const changes = (h.changes || []).map((c) => c.diff
    ? AC.el("div", { "data-field": c.field }, AC.el("strong", {}, FIELD_NAMES[c.field]), c.diff.map(([op, line]) =>
        AC.el("div", { class: "diff-line" }, op === "-" ? AC.el("del", {}, "− " + line) : op === "+" ? AC.el("ins", {}, "+ " + line) : AC.el("span", { class: "muted" }, "  " + line))))
    : AC.el("div", { "data-field": c.field }, AC.el("strong", {}, FIELD_NAMES[c.field] || c.field), ": ", AC.el("del", {}, shown(c.before)), " → ", AC.el("ins", {}, shown(c.after))));
  return AC.el("div", {},
    changes.length ? AC.el("details", { class: "history-changes" }, AC.el("summary", {}, `What v${h.version} changed · 本版改动 (${h.changes.map((c) => c.field).join(", ")})`), ...changes) : "",
    AC.el("details", { class: "history-full" }, AC.el("summary", {}, "Full text · 全文"),
      AC.el("div", {}, AC.el("strong", {}, h.entry.question)),
      AC.el("div", { class: "pre-wrap" }, h.entry.answer)));
}

// What each button does to what learners see, said on the button: saving a live entry
// puts the edit live at once, so the button says so; taking it offline is its own action.
function buttons(status) {
  const live = status === "published";
  $("save").textContent = live ? "Save & publish · 保存并发布" : status === "archived" ? "Save (stays archived) · 保存（仍归档）" : "Save draft · 保存草稿";
  $("save").classList.toggle("primary", live);
  show("publish", !live);
  show("stage", live);
  $("unpublish").disabled = !live;
  $("unpublish").textContent = "Take offline · 下线";
  $("archive").disabled = !status || status === "archived";
  $("e-live-note").textContent = live ? "Live: Save & publish reaches learners within seconds; Save, don't publish keeps your edit for later · 已发布：“保存并发布”几秒内即对学员生效；“暂存不发布”先保存修改，稍后再发布" : "";
}

// Unpublished changes of a live entry: whose, and what learners get meanwhile. Stale ones
// were made on an older live version: saving them would overwrite what changed since.
function stagedBanner(e) {
  const st = e && e.staged;
  show("e-staged", !!st);
  if (!st) return;
  const when = new Date(st.created_at * 1000).toLocaleString();
  const text = st.stale
    ? `Unpublished changes by ${st.author} (${when}) were made on v${st.base_version}; the entry is now v${e.version}. Saving them overwrites what changed since: compare with the history first. · ${st.author} 的未发布修改基于 v${st.base_version}，条目现已是 v${e.version}；保存会覆盖之后的改动，请先对照历史版本。`
    : `The form shows unpublished changes by ${st.author} (${when}). Learners still get the live text (v${e.version}) until you save & publish. · 表单中是 ${st.author} 未发布的修改，发布前学员看到的仍是线上版本 v${e.version}。`;
  $("e-staged").className = st.stale ? "error" : "notice";
  $("e-staged").replaceChildren(text, " ", AC.el("button", { type: "button", id: "discard-staged", onclick: discardStaged }, "Discard changes · 放弃修改"));
}

async function discardStaged() {
  if (!confirm("Discard the unpublished changes? The live text stays. · 放弃未发布的修改？线上内容不变。")) return;
  try {
    await call(entryUrl(current.id, "staged/discard"), { method: "POST", body: { staged_revision: current.staged.revision } });
    await openEntry(current.id, true); msg("Unpublished changes discarded · 已放弃未发布的修改");
  } catch (e) { failed(e); }
}

async function openEntry(id, force) {
  if (!force && !mayLeave()) return;
  try { fill(await call(entryUrl(id))); } catch (e) { msg(e.message, true); }
  loadList();
}

function formBody(status) {
  return {
    id: $("e-id").value.trim(), lang: $("e-lang").value, question: $("e-question").value.trim(),
    alt_questions: $("e-alts").value.split("\n").map((s) => s.trim()).filter(Boolean),
    answer: $("e-answer").value, category: $("e-category").value.trim() || "general",
    tags: $("e-tags").value.split(",").map((s) => s.trim()).filter(Boolean),
    translation: $("e-translation").value.trim() || null, status: status || null,
    base_version: current ? current.version : null, gap_ids: current ? [] : pendingGaps,
    staged_revision: current && current.staged ? current.staged.revision : null,
  };
}

// what to fix before publishing (a question another live entry already has), said on save and open
function warned(res) { return res && res.warnings && res.warnings.length ? ` ⚠ ${res.warnings.join(" ")}` : ""; }

function indexed(res) { return res.index ? ` · re-indexed ${res.index.entries} entries in ${res.index.seconds}s` : ""; }

// status: null keeps the stored one (a live entry stays live); "published" from Publish
async function save(status) {
  try {
    const body = formBody(status);
    const res = current
      ? await call(entryUrl(current.id), { method: "PUT", body })
      : await call("/api/kb/entries", { method: "POST", body: { ...body, status: status || "draft" } });
    await openEntry(res.entry.id, true);
    msg(`Saved · 已保存 v${res.entry.version} (${res.entry.status})${indexed(res)}${warned(res)}`, !!warned(res));
  } catch (e) { failed(e); }
}

// a live entry's edit saved for later: learners keep the live text
async function stage() {
  try {
    const res = await call(entryUrl(current.id), { method: "PUT", body: { ...formBody(), stage: true } });
    await openEntry(current.id, true);
    msg((res.staged ? "Saved, not published: learners still get the live text · 已保存，未发布：学员看到的仍是线上内容" : "Same as the live text: nothing to keep · 与线上内容相同，无需暂存") + warned(res), !!warned(res));
  } catch (e) { failed(e); }
}

async function setStatus(action) {
  try {
    if (!current) return;
    if (dirty() && !confirm("Your unsaved edits will not be included; continue? · 未保存的修改不会一起生效，继续吗？")) return;
    const res = await call(entryUrl(current.id, action), { method: "POST", body: { base_version: current.version } });
    await openEntry(current.id, true);
    msg(`${res.entry.status} · v${res.entry.version}${indexed(res)}`);
  } catch (e) { failed(e); }
}

async function rollback(version) {
  // say what the restore changes against the current text, not only which version it is
  const old = (current.history || []).find((h) => h.version === version);
  const differs = old ? ["question", "alt_questions", "answer", "category", "tags", "translation"].filter((f) => JSON.stringify(old.entry[f] ?? null) !== JSON.stringify(current[f] ?? null)) : [];
  const what = differs.length ? ` It changes: ${differs.join(", ")}. · 将改动：${differs.map((f) => FIELD_NAMES[f]).join("、")}。` : " It is the same as the current text. · 与当前内容相同。";
  if (!confirm(`Restore the text of v${version}? The status stays ${current.status}.${what} · 恢复 v${version} 的内容？状态保持不变。`)) return;
  try {
    const res = await call(entryUrl(current.id, "rollback"), { method: "POST", body: { version, base_version: current.version } });
    await openEntry(current.id, true); msg(`Restored the text of v${version} as v${res.entry.version} · 已恢复 v${version} 的内容${indexed(res)}`);
  } catch (e) { failed(e); }
}

// Whether the bot asks the KB at all: a question the NLU reads as a flow ("I want a refund")
// starts that flow, however well an entry scores below
function nluLine(nlu) {
  if (!nlu || !nlu.available) return AC.el("div", { class: "muted", id: "try-nlu" }, "NLU unavailable (is Rasa running?) · 无法连接 NLU");
  const read = `${nlu.intent} ${nlu.confidence.toFixed(2)}`;
  if (nlu.route === "kb") return AC.el("div", { id: "try-nlu", "data-route": "kb" }, `Bot path · 机器人路径: knowledge base · 知识库 (NLU: ${read})`);
  return AC.el("div", { class: "error", id: "try-nlu", "data-route": "intent" },
    `The NLU reads this as ${read}: the bot runs that intent's flow and does not use the KB. Rephrase the entry's questions, or add this phrasing to the NLU data and retrain. · `
    + `NLU 识别为 ${read}：机器人会执行该意图的流程，不会用知识库回答。可改写问法，或把它加入 NLU 训练数据后重新训练。`);
}

async function tryQuestion() {
  const q = $("try-q").value.trim(), seq = ++trySeq;
  if (!q) { $("try-out").replaceChildren(); return; }
  const res = await AC.api("/api/kb/try", { method: "POST", token, body: { query: q } });
  if (seq === trySeq) renderTry(res);
}

// the same question against the form's text as if it were live: the hub builds a throwaway
// index (seconds), so it runs on a click, not on every keystroke
async function tryPreview() {
  const q = $("try-q").value.trim();
  if (!q) { $("try-q").focus(); return; }
  clearTimeout(tryTimer);  // a live search still waiting to run would only be overwritten
  const seq = ++trySeq;
  $("try-preview").disabled = true;
  $("try-out").replaceChildren(AC.el("div", { class: "muted", id: "try-building" }, "Building a preview index… · 正在生成预览索引…"));
  try {
    const res = await call("/api/kb/try", { method: "POST", body: { query: q, preview: formBody() } });
    if (seq === trySeq) renderTry(res);
  } catch (e) { if (seq === trySeq) $("try-out").replaceChildren(AC.el("div", { class: "error" }, e.message)); }
  finally { $("try-preview").disabled = false; }
}

function renderTry(res) {
  $("try-out").replaceChildren(
    res.preview ? AC.el("div", { class: "notice", id: "try-mode" }, "Preview with this form's text, not live · 按表单中的内容预览（尚未上线）") : "",
    nluLine(res.nlu),
    AC.el("div", {}, "Decision · 决定: ", AC.el("span", { class: `decision ${res.decision}`, id: "try-decision" }, res.decision),
      res.answer_id ? ` → ${res.answer_id}` : "",
      AC.el("span", { class: "muted" }, ` (answer ≥ ${res.thresholds.answer}, clarify ≥ ${res.thresholds.clarify})`)),
    res.answer ? AC.el("div", { class: "muted", id: "try-answer" }, (res.preview ? "Learners would get · 学员将会看到: " : "Learners get · 学员会看到: ") + (res.answer.length > 160 ? res.answer.slice(0, 159) + "…" : res.answer)) : "",
    AC.el("table", {}, AC.el("tr", {}, ["#", "entry", "score", "dense", "lexical", "matched"].map((h) => AC.el("th", {}, h))),
      res.hits.map((h, i) => AC.el("tr", { "data-hit": h.id }, AC.el("td", {}, i + 1), AC.el("td", {}, h.id),
        AC.el("td", {}, h.score.toFixed(3)), AC.el("td", {}, h.dense.toFixed(3)), AC.el("td", {}, h.lexical.toFixed(3)), AC.el("td", {}, h.matched)))));
}

function listFilters() {
  const p = new URLSearchParams();
  if ($("q").value) p.set("q", $("q").value);
  if ($("f-lang").value) p.set("lang", $("f-lang").value);
  if ($("f-status").value) p.set("status", $("f-status").value);
  return p;
}

// exports what the list shows (same search and filters)
async function doExport() {
  const fmt = $("x-format").value, p = listFilters();
  p.set("format", fmt);
  let res;
  try { res = await fetch(`/api/kb/export?${p}`, { headers: { Authorization: "Bearer " + token } }); } catch (e) { res = null; }
  if (!res || !res.ok) {  // say so, rather than save the error text as kb-export.yaml
    msg(`Export failed · 导出失败 (${res ? `${res.status} ${res.statusText}` : "network error · 网络错误"})`, true);
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  const a = AC.el("a", { href: url, download: `kb-export.${fmt}` });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function doImport(ev) {
  const file = ev.target.files[0];
  if (!file) return;
  const name = file.name.toLowerCase();
  const fmt = name.endsWith(".csv") ? "csv" : name.endsWith(".jsonl") ? "jsonl" : name.endsWith(".json") ? "json" : "yaml";
  const res = await fetch(`/api/kb/import?format=${fmt}`, { method: "POST", headers: { Authorization: "Bearer " + token }, body: await file.text() });
  let data;
  try { data = await res.json(); } catch (e) { data = { detail: `import failed (${res.status} ${res.statusText}) · 导入失败` }; }
  const drafted = data.drafted ? `; ${data.drafted} without a status came in as drafts · ${data.drafted} 条未注明状态，已存为草稿` : "";
  msg(res.ok ? `Imported · 已导入: ${data.created} new, ${data.updated} updated, ${data.unchanged} unchanged${drafted}${indexed(data)}${warned(data)}` : String(data.detail), !res.ok || !!warned(data));
  ev.target.value = ""; loadList();
}

// A cluster the NLU read only as out of scope is mostly chit-chat ("今天天气怎么样"), but may
// be a topic the KB should cover: shown by default, hidden on request (remembered in this tab).
const onlyOutOfScope = (c) => Object.keys(c.kinds).every((k) => k === "out_of_scope");

async function loadGaps() {
  const all = await AC.api("/api/kb/gaps", { token });
  const clusters = $("hide-oos").checked ? all.filter((c) => !onlyOutOfScope(c)) : all;
  const hidden = all.length - clusters.length;
  $("gaps").replaceChildren(clusters.length ? "" : AC.el("p", { class: "muted" }, "No unanswered questions · 暂无未解答问题"),
    hidden ? AC.el("p", { class: "muted", id: "gaps-hidden" }, `${hidden} out-of-scope cluster(s) hidden · 已隐藏 ${hidden} 组超出范围的问题`) : "",
    ...clusters.map((c) => AC.el("div", { class: "gap-card", "data-cluster": c.key },
      AC.el("div", { class: "row" }, AC.el("strong", {}, `${c.size}× ${c.representative}`), " ",
        AC.el("span", { class: "pill" }, c.lang), " ", AC.el("span", { class: "muted" }, Object.entries(c.kinds).map(([k, n]) => `${GAP_KINDS[k] || k} ${n}`).join(", "))),
      AC.el("ul", {}, c.queries.slice(0, 6).map((q) => AC.el("li", {}, q))),
      c.best_hits.length ? AC.el("div", { class: "muted" }, "Closest entries · 最接近: " + c.best_hits.map((h) => `${h.id} (${h.score})`).join(", ")) : null,
      c.drafts.length ? AC.el("div", { class: "muted" }, "Being written · 撰写中: " + c.drafts.join(", ")) : null,
      AC.el("button", { class: "primary", onclick: () => draftFrom(c) }, "Create entry from this cluster · 据此新建条目"), " ",
      AC.el("button", { class: "dismiss", onclick: () => dismiss(c) }, "Not a KB question · 不是知识库问题"))));
}

// a new, unsaved entry prefilled from the cluster: the id can still be changed, and the
// questions leave this view only when the entry is published
function draftFrom(c) {
  if (!mayLeave()) return;
  tab("entries");
  fill(null, { id: c.suggested_id, lang: c.lang, question: c.representative, alts: c.queries.filter((q) => q !== c.representative), gap_ids: c.gap_ids });
  loaded = "";  // prefilled but unsaved: leaving it asks first
  msg("New entry from unanswered questions · 据未解答问题新建: check the id, write the answer, then publish");
}

async function dismiss(c) {
  try { await call("/api/kb/gaps/dismiss", { method: "POST", body: { gap_ids: c.gap_ids } }); loadGaps(); }
  catch (e) { alert(e.message); }
}

function tab(name) {
  document.querySelectorAll(".tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  show("tab-entries", name === "entries"); show("tab-gaps", name === "gaps");
  if (name === "gaps") loadGaps();
}

async function logout() { await AC.signOut(token); AC.store.removeItem("ac.staff.token"); token = null; location.reload(); }

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
$("stage").onclick = stage;
$("unpublish").onclick = () => setStatus("unpublish");
$("archive").onclick = () => setStatus("archive");
$("new-entry").onclick = () => { if (mayLeave()) { fill(null); loadList(); } };
window.addEventListener("beforeunload", (ev) => { if (token && dirty()) { ev.preventDefault(); ev.returnValue = ""; } });
$("q").oninput = () => loadList();
$("e-lang").onchange = idHints;
$("f-lang").onchange = loadList; $("f-status").onchange = loadList;
$("export").onclick = doExport;
$("import-file").onchange = doImport;
$("try-q").oninput = () => { clearTimeout(tryTimer); tryTimer = setTimeout(tryQuestion, 250); };
$("try-preview").onclick = tryPreview;
$("hide-oos").checked = AC.store.getItem("ac.kb.hideOos") === "1";
$("hide-oos").onchange = () => { AC.store.setItem("ac.kb.hideOos", $("hide-oos").checked ? "1" : "0"); loadGaps(); };
document.querySelectorAll(".tabs button").forEach((b) => (b.onclick = () => tab(b.dataset.tab)));
boot();
