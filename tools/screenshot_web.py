"""Refresh the README's screenshot of the web app (docs/web.png): `make screenshot`.

Starts the app with the shipped model on a loopback port, pastes an article into the form in
headless Debian Chromium (driven by playwright, as tests/test_browser.py does with the same
functions), hovers the first fragment and saves the window.

    .venv/bin/python tools/screenshot_web.py [--text ARTICLE] [--out docs/web.png]
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
DEFAULT_TEXT = REPO.parent / "shared" / "examples" / "000_5b4fd3b5d3f3f23c.txt"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
WINDOW = {"width": 1100, "height": 900}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app: Any, ready_s: float = 60.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on 127.0.0.1; yields its base URL once /healthz
    answers (the model loads in the lifespan handler before the port opens)."""
    import httpx
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_s
    try:
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"the web app did not start within {ready_s:.0f} s")
            time.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def show_report(page: Any, url: str, text: str) -> None:
    """Paste ``text`` into the form at ``url``, analyse it and hover the first fragment, so
    that the page shows the report with a tooltip open."""
    page.goto(url + "/")
    page.fill("#text", text)
    with page.expect_navigation():
        page.click("#analyze")
    fragments = page.locator("mark.frag")
    fragments.first.wait_for()
    fragments.first.hover()
    page.locator("#tip").wait_for(state="visible")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", type=Path, default=DEFAULT_TEXT, help="article to paste")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "web.png")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"error: needs Debian chromium at {CHROMIUM} (apt-get install chromium)")
    if not args.text.is_file():
        raise SystemExit(f"error: no article at {args.text} (pass --text FILE)")
    from playwright.sync_api import sync_playwright

    from propscan.web.app import create_app

    text = args.text.read_text(encoding="utf-8")
    with serving(create_app()) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=WINDOW)
        show_report(page, url, text)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out), full_page=False)
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
