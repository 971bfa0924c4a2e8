// The admin page (admins only): staff accounts (roles, teams, enable/disable, new passwords,
// new accounts) and the audit log (who read or changed what, filtered, paged back).
let token = AC.store.getItem("ac.staff.token");
let roles = [], teams = {}, me = null;
const $ = (id) => document.getElementById(id);
const show = (id, on) => $(id).classList.toggle("hidden", !on);
const ROLE_NAMES = { agent: "agent · 客服", content_editor: "content editor · 内容编辑", manager: "manager · 主管", admin: "admin · 管理员" };

function checks(name, options, chosen, label) {
  return options.map((value) => AC.el("label", {},
    AC.el("input", { type: "checkbox", name, value, ...(chosen.includes(value) ? { checked: "" } : {}) }), " ", label(value)));
}
const picked = (root, name) => [...root.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
const teamLabel = (t) => `${teams[t].en} · ${teams[t].zh}`;

function say(text, error = false) {
  $("status").textContent = error ? "" : text;
  $("error").textContent = error ? text : "";
}

async function change(username, body) {
  try {
    await AC.api(`/api/admin/staff/${encodeURIComponent(username)}`, { method: "PATCH", token, body });
    say(`Saved · 已保存: ${username}`);
  } catch (e) { say(e.message, true); }
  await load();
}

async function newPassword(username) {
  const password = prompt(`New password for ${username} (10 characters or more) · 新密码（至少 10 位）`);
  if (!password) return;
  try {
    await AC.api(`/api/admin/staff/${encodeURIComponent(username)}/password`, { method: "POST", token, body: { password } });
    say(`New password set; ${username} is signed out · 已重设密码，该账号已退出登录`);
  } catch (e) { say(e.message, true); }
}

function row(a) {
  const tr = AC.el("tr", { "data-user": a.username, class: a.active ? "" : "disabled" });
  const roleBox = AC.el("div", { class: "checks" }, checks(`roles-${a.username}`, roles, a.roles, (r) => ROLE_NAMES[r] || r));
  const teamBox = AC.el("div", { class: "checks" }, checks(`teams-${a.username}`, Object.keys(teams), a.teams, teamLabel));
  const save = AC.el("button", { type: "button", onclick: () => change(a.username, { roles: picked(roleBox, `roles-${a.username}`), teams: picked(teamBox, `teams-${a.username}`) }) }, "Save · 保存");
  const toggle = AC.el("button", { type: "button", class: "toggle", onclick: () => change(a.username, { active: !a.active }) },
    a.active ? "Disable · 停用" : "Enable · 启用");
  const pw = AC.el("button", { type: "button", onclick: () => newPassword(a.username) }, "New password · 重设密码");
  tr.append(
    AC.el("td", {}, a.username),
    AC.el("td", {}, a.display_name),
    AC.el("td", {}, roleBox),
    AC.el("td", {}, teamBox),
    AC.el("td", { class: "state" }, a.active ? "active · 启用" : "disabled · 停用"),
    AC.el("td", { class: "row-actions" }, save, toggle, pw),
  );
  return tr;
}

async function load() {
  const res = await AC.api("/api/admin/staff", { token });
  roles = res.roles; teams = res.teams;
  $("staff").tBodies[0].replaceChildren(...res.staff.map(row));
  $("new-roles").replaceChildren(AC.el("legend", {}, "Roles · 角色"), ...checks("new-role", roles, [], (r) => ROLE_NAMES[r] || r));
  $("new-teams").replaceChildren(AC.el("legend", {}, "Teams · 组"), ...checks("new-team", Object.keys(teams), [], teamLabel));
}

async function add(e) {
  e.preventDefault();
  const body = {
    username: $("new-username").value.trim(), display_name: $("new-name").value.trim(),
    password: $("new-password").value, roles: picked($("add"), "new-role"), teams: picked($("add"), "new-team"),
  };
  try {
    await AC.api("/api/admin/staff", { method: "POST", token, body });
    say(`Added · 已新建: ${body.username}`);
    $("add").reset();
    await load();
  } catch (err) { say(err.message, true); }
}

// ---- the audit log ----------------------------------------------------------------------
const PAGE = 50;
let actions = {}, auditQuery = null, oldest = null;
const actionLabel = (code) => (actions[code] ? `${actions[code].en} · ${actions[code].zh}` : code);
function stamp(ts) {
  const d = new Date(ts * 1000), p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
// a date field as the start of that day here (the "to" day is counted whole)
function dayStart(value, plusDays = 0) {
  if (!value) return null;
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).getTime() / 1000;
}

function actionOptions() {
  // families first ("privacy": every privacy.* action), then each action under its family
  const box = $("f-action"), chosen = box.value;
  const families = [...new Set(Object.keys(actions).map((a) => a.split(".")[0]))];
  box.replaceChildren(AC.el("option", { value: "" }, "All · 全部"), ...families.map((f) => AC.el("optgroup", { label: f },
    AC.el("option", { value: f }, `${f}: every action · 该类全部`),
    ...Object.keys(actions).filter((a) => a.startsWith(f + ".")).map((a) => AC.el("option", { value: a }, actionLabel(a))))));
  box.value = chosen;
}

function auditRow(ev) {
  const detail = ev.detail ? JSON.stringify(ev.detail) : "";
  return AC.el("tr", { "data-event": ev.id, "data-action": ev.action },
    AC.el("td", { class: "when" }, stamp(ev.at)),
    AC.el("td", {}, ev.actor),
    AC.el("td", {}, AC.el("div", { class: "action-label" }, actionLabel(ev.action)),
      AC.el("div", { class: "muted code" }, ev.action), detail ? AC.el("div", { class: "muted detail", title: detail }, detail.length > 160 ? detail.slice(0, 160) + "…" : detail) : null),
    AC.el("td", {}, ev.subject || ""),
    AC.el("td", {}, ev.learner_id || ""),
    AC.el("td", {}, ev.address || ""));
}

async function loadAudit(more = false) {
  if (!more) {
    const q = { actor: $("f-actor").value.trim(), action: $("f-action").value, learner_id: $("f-learner").value.trim(),
      since: dayStart($("f-since").value), until: dayStart($("f-until").value, 1) };
    auditQuery = Object.fromEntries(Object.entries(q).filter(([, v]) => v !== "" && v !== null));
    oldest = null;
  }
  const params = new URLSearchParams({ ...auditQuery, limit: PAGE });
  if (more && oldest) params.set("before_id", oldest);
  $("audit-error").textContent = "";
  try {
    const res = await AC.api(`/api/admin/audit?${params}`, { token });
    if (!Object.keys(actions).length) { actions = res.actions; actionOptions(); }
    const rows = res.events.map(auditRow);
    if (more) $("audit").tBodies[0].append(...rows); else $("audit").tBodies[0].replaceChildren(...rows);
    if (res.events.length) oldest = res.events[res.events.length - 1].id;
    const shown = $("audit").tBodies[0].rows.length;
    $("audit-status").textContent = shown ? `${shown} shown · 已显示 ${shown} 条` : "Nothing recorded that matches · 没有符合条件的记录";
    show("audit-older", res.events.length === PAGE);
  } catch (e) { $("audit-error").textContent = e.message; }
}

function tab(which) {
  const audit = which === "audit";
  show("staff-view", !audit); show("audit-view", audit);
  $("tab-staff").classList.toggle("active", !audit);
  $("tab-audit").classList.toggle("active", audit);
  if (location.hash !== (audit ? "#audit" : "")) history.replaceState(null, "", audit ? "#audit" : location.pathname);
  if (audit && !auditQuery) loadAudit();
}

function login(e) {
  return AC.signIn(e, (t) => { token = t; return boot(); });
}

function logout(why) {
  if (!why) AC.signOut(token);
  AC.store.removeItem("ac.staff.token"); token = null;
  show("app", false); show("logout", false); show("tabs", false); show("login", true);
  $("who").textContent = ""; $("login-error").textContent = why || "";
}

async function boot() {
  if (!token) { show("login", true); return; }
  try { me = await AC.api("/api/auth/me", { token }); } catch (e) { logout(); return; }
  if (!me.roles.includes("admin")) { logout("This page needs the admin role · 需要管理员权限"); return; }
  show("login", false); show("app", true); show("logout", true); show("tabs", true);
  $("who").textContent = `${me.display_name} (${me.id})`;
  tab(location.hash === "#audit" ? "audit" : "staff");
  try { await load(); } catch (e) { say(e.message, true); }
}
$("login").onsubmit = login;
$("logout").onclick = () => logout();
$("add").onsubmit = add;
$("tab-staff").onclick = () => tab("staff");
$("tab-audit").onclick = () => tab("audit");
$("audit-filters").onsubmit = (e) => { e.preventDefault(); loadAudit(); };
$("f-clear").onclick = () => { $("audit-filters").reset(); loadAudit(); };
$("audit-older").onclick = () => loadAudit(true);
boot();
