"""Screenshots for the docs, taken by the browser tests at the moments the guides show.

With AFTERCLASS_SCREENSHOTS set to a folder (`make screenshots` sets docs/images), a test
that calls `for_docs(page, "chat")` saves chat.png there, at one viewport size so the
guides' pictures match. Without it nothing is written: a test run leaves the tree as it was.
Nothing here asserts anything; the tests' own checks come before each call.
"""

import os
from pathlib import Path

VIEWPORT = {"width": 1280, "height": 800}


def for_docs(
    page,  # type: ignore[no-untyped-def]
    name: str,
    *,
    ready: tuple[str, ...] = (),
    scroll_to: str | None = None,
    block: str = "start",
) -> Path | None:
    """Save `page` as <folder>/<name>.png. `ready`: selectors to wait for first (a result
    that arrives after the test has moved on); `scroll_to`: a selector to scroll into view,
    its top at the top of the window (`block="end"`: its bottom at the bottom)."""
    folder = os.environ.get("AFTERCLASS_SCREENSHOTS")
    if not folder:
        return None
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for selector in ready:
        page.locator(selector).first.wait_for()
    size = page.viewport_size
    page.set_viewport_size(VIEWPORT)
    try:
        if scroll_to:
            page.locator(scroll_to).first.evaluate(
                "(el, block) => el.scrollIntoView({block})", block
            )
        page.wait_for_timeout(300)  # the layout settles after the resize
        path = out / f"{name}.png"
        page.screenshot(path=str(path))
    finally:
        if size:
            page.set_viewport_size(size)
    return path
