"""The web pages: static HTML + JS talking to the JSON APIs, and public help articles."""

import html
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from bot.api.deps import DbRead
from kb_index import store as kb_store
from kb_index.markdown import to_html

PAGES = Path(__file__).resolve().parent.parent / "pages"
router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(PAGES / name, headers={"Cache-Control": "no-cache"})


@router.get("/")
def index() -> FileResponse:
    return _page("index.html")


@router.get("/chat")
def chat() -> FileResponse:
    return _page("chat.html")


@router.get("/agent")
def agent_console() -> FileResponse:
    return _page("agent.html")


@router.get("/kb")
def kb_admin() -> FileResponse:
    return _page("kb.html")


@router.get("/dashboard")
def dashboard() -> FileResponse:
    return _page("dashboard.html")


@router.get("/admin")
def admin_page() -> FileResponse:
    return _page("admin.html")


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    path = (PAGES / name).resolve()
    if path.parent != PAGES or not path.is_file() or path.suffix not in (".js", ".css"):
        raise HTTPException(404, "no such file")
    return _page(name)


def _live(db, entry_id: str | None):  # type: ignore[no-untyped-def]
    entry = kb_store.get_entry(db, entry_id) if entry_id else None
    return entry if entry is not None and entry.status == "published" else None


_GONE = """<!doctype html><html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>找不到这篇帮助 · Help article not found</title><link rel="stylesheet" href="/static/app.css">
</head><body class="article"><main><h1>找不到这篇帮助 · Help article not found</h1>
<p>这篇文章已下线或不存在。请回到聊天窗口继续提问，助手会给你最新的答案。</p>
<p>This article was taken offline or does not exist. Ask again in the chat and the assistant
will give you the current answer.</p><p><a href="/chat">回到聊天 · Back to the chat</a></p>
</main></body></html>"""


@router.get("/help/{entry_id:path}", response_class=HTMLResponse)
def help_article(entry_id: str, db: DbRead) -> HTMLResponse:
    """A published KB entry as a page: where a bot citation links to. Old chats keep links
    to entries since taken offline, so a missing one is a page a learner can read, not JSON."""
    entry = _live(db, entry_id)
    if entry is None:
        return HTMLResponse(_GONE, status_code=404)
    other = ""
    if _live(db, entry.translation):  # only a translation a learner can open
        label = "English" if entry.lang == "zh" else "中文"
        other = f'<a href="/help/{html.escape(entry.translation)}">{label}</a>'
    meta = " · ".join(html.escape(x) for x in (entry.category, entry.id, f"v{entry.version}"))
    title = html.escape(entry.question)
    body = f"""<!doctype html><html lang="{entry.lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/static/app.css"></head>
<body class="article"><main><p class="muted">{meta} {other}</p>
<h1>{title}</h1>{to_html(entry.answer)}</main></body></html>"""
    return HTMLResponse(body)
