// Shared by every page: the JSON API helper, language choice and small DOM helpers.
const AC = (() => {
  const store = sessionStorage;
  function lang() {
    return localStorage.getItem("ac.lang") || ((navigator.language || "en").startsWith("zh") ? "zh" : "en");
  }
  function setLang(l) { localStorage.setItem("ac.lang", l); }
  async function api(path, { method = "GET", body, token } = {}) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers["Authorization"] = "Bearer " + token;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await res.json(); } catch (e) { /* empty body */ }
    if (!res.ok) {
      const err = new Error((data && data.detail) || res.statusText);
      err.status = res.status;
      throw err;
    }
    return data;
  }
  // a staff page's sign-in form (#username, #password, #login-error): keeps the token and
  // hands it to the page's `then`; whatever fails, the sign-in or the page's start, is said
  // under the form
  async function signIn(e, then) {
    e.preventDefault();
    const field = (id) => document.getElementById(id);
    try {
      const res = await api("/api/auth/login", { method: "POST", body: { username: field("username").value, password: field("password").value } });
      store.setItem("ac.staff.token", res.token);
      await then(res.token);
    } catch (err) { field("login-error").textContent = err.message; }
  }
  // revoke a staff token on the server; signing out must not fail on a network error
  async function signOut(token) {
    if (!token) return;
    try { await api("/api/auth/logout", { method: "POST", token }); } catch (e) { /* already gone */ }
  }
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null) node.setAttribute(k, v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  function socket(path, token, onEvent, onState) {
    // Reconnects with the last seen message id so nothing is lost across drops. The token
    // goes in the first frame, never in the URL (servers write URLs into their logs); a
    // socket closed for its sign-in (4401) or its conversation (4404) is not reopened.
    let ws, closed = false, lastId = 0, delay = 500;
    function open() {
      const url = new URL(path, location.href);
      url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
      url.searchParams.set("after", lastId);
      ws = new WebSocket(url);
      ws.onopen = () => { ws.send(JSON.stringify({ type: "auth", token })); delay = 500; onState && onState(true); };
      ws.onmessage = (e) => {
        const ev = JSON.parse(e.data);
        if (ev.type === "message") { if (ev.message.id <= lastId) return; lastId = ev.message.id; }
        onEvent(ev);
      };
      ws.onclose = (e) => {
        onState && onState(false);
        if (e.code === 4401 || e.code === 4404) closed = true;
        if (!closed) setTimeout(open, delay = Math.min(delay * 2, 8000));
      };
    }
    open();
    return { close() { closed = true; ws && ws.close(); }, seen(id) { lastId = Math.max(lastId, id); } };
  }
  // The bot's and agents' Markdown subset (KB answers: paragraphs, "- " / "1. " lists,
  // **bold**, `code`, [links](https://...)) built as DOM nodes, never as HTML strings, so no
  // text can inject markup. The full renderer for /help pages is kb_index/markdown.py.
  function inline(text) {
    const out = [];
    // bold as CommonMark reads it: no space or asterisk just inside the pair, so a masked
    // phone "139****1002" or "e*@example.com" stays text
    // a link goes to http(s) or to a path of this site: "/help/x", never "//elsewhere.example"
    // nor "/\\elsewhere.example", which browsers read the same way (it leaves the site)
    const re = /\*\*([^*\s](?:[^*]*[^*\s])?)\*\*|`([^`]+)`|\[([^\]]+)\]\((https?:\/\/[^\s)]+|\/(?![\/\\])[^\s)]*)\)/g;
    let last = 0, m;
    while ((m = re.exec(text))) {
      out.push(text.slice(last, m.index));
      if (m[1] !== undefined) out.push(el("strong", {}, m[1]));
      else if (m[2] !== undefined) out.push(el("code", {}, m[2]));
      else out.push(el("a", { href: m[4], target: "_blank", rel: "noopener" }, m[3]));
      last = re.lastIndex;
    }
    out.push(text.slice(last));
    return out.filter((x) => x !== "");
  }
  function rich(text) {
    const frag = el("div", { class: "body" });
    const blocks = String(text).split(/\n\s*\n/);
    const bullet = /^\s*[-*•]\s+/, numbered = /^\s*\d+[.、)]\s+/;
    const kindOf = (l) => (bullet.test(l) ? "ul" : numbered.test(l) ? "ol" : "p");
    blocks.forEach((block, i) => {
      // runs of list lines and of text lines: "Try these:\n- a\n- b" is a line and a list
      const runs = [];
      block.split("\n").forEach((l) => {
        const kind = kindOf(l), run = runs[runs.length - 1];
        if (run && run.kind === kind) run.lines.push(l); else runs.push({ kind, lines: [l] });
      });
      runs.forEach(({ kind, lines }) => {
        if (kind === "p") frag.append(el("p", {}, inline(lines.join("\n"))));
        else {
          const marker = kind === "ul" ? bullet : numbered;
          frag.append(el(kind, {}, lines.map((l) => el("li", {}, inline(l.replace(marker, ""))))));
        }
      });
      if (i < blocks.length - 1 && frag.lastChild.tagName === "P") frag.lastChild.classList.add("gap");
    });
    return frag;
  }
  function time(ts) { return new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
  // every page says so while the hub runs in demo mode (anyone may sign in as a demo learner
  // or with the demo staff passwords)
  async function demoBanner() {
    try {
      const info = await api("/api/info");
      if (!info.demo || document.getElementById("demo-banner")) return;
      document.body.prepend(el("div", { id: "demo-banner", class: "demo-banner", role: "status" },
        "Demo · 演示模式 — demo learners and demo staff passwords are public; not for real learners · 演示账号公开，请勿用于真实学员"));
    } catch (e) { /* the banner is a courtesy: a page works without it */ }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", demoBanner);
  else demoBanner();
  return { api, el, socket, lang, setLang, store, time, rich, signIn, signOut };
})();
