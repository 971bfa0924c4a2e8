"""A small, safe Markdown subset for KB answers: paragraphs, lists, bold, links, code.

Everything is HTML-escaped first, so entry text can never inject markup.
"""

import html
import re

# http(s), or a path of this site ("/help/x"), never "//elsewhere.example" nor
# "/\\elsewhere.example" (browsers read both as another site)
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^\s)]+|/(?![/\\])[^\s)]*)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def _inline(text: str) -> str:
    out = html.escape(text)
    out = _CODE.sub(r"<code>\1</code>", out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return _LINK.sub(r'<a href="\2">\1</a>', out)


def to_html(markdown: str) -> str:
    blocks: list[str] = []
    items: list[str] = []
    kind = ""
    para: list[str] = []

    def flush() -> None:
        nonlocal items, para, kind
        if items:
            blocks.append(f"<{kind}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{kind}>")
            items = []
        if para:
            blocks.append("<p>" + "<br>".join(para) + "</p>")
            para = []

    for line in markdown.splitlines():
        s = line.strip()
        bullet = re.match(r"^[-*]\s+(.*)", s)
        number = re.match(r"^\d+[.)]\s+(.*)", s)
        if bullet or number:
            if para:
                flush()
            new_kind = "ul" if bullet else "ol"
            if items and new_kind != kind:
                flush()
            kind = new_kind
            items.append(_inline((bullet or number).group(1)))  # type: ignore[union-attr]
        elif not s:
            flush()
        else:
            if items:
                flush()
            para.append(_inline(s))
    flush()
    return "\n".join(blocks)


_PLAIN_DROP = re.compile(r"[*`#>_\[\]|]+")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)


def to_plain(markdown: str, limit: int = 0) -> str:
    """The words of a Markdown answer for embedding: link text kept, URLs, markup and list
    markers dropped, whitespace collapsed; cut to `limit` characters when limit > 0.

    Underscores become spaces too, so identifiers such as `card_arrival` read as words.
    """
    text = _LINK.sub(r"\1", markdown)
    text = re.sub(r"https?://\S+", " ", text)
    text = _LIST_MARK.sub(" ", text)
    text = re.sub(r"\s+", " ", _PLAIN_DROP.sub(" ", text)).strip()
    return text[:limit].rstrip() if limit > 0 else text
