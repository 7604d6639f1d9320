"""End to end in real headless Chromium (Debian's /usr/bin/chromium, driven by playwright).

The report-file test runs on hand-made spans (it checks the CSP hashes, the tooltip, keyboard
focus and the legend filter); the web-app test needs the shipped model, pastes the shared
example into the form and saves the screenshot the README shows (docs/web.png).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from propscan.doc import Article, Metadata
from propscan.offsets import OffsetMap
from propscan.report.html import render_article

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO / "src" / "propscan" / "detect" / "model"

if not CHROMIUM.exists():
    pytest.skip("needs Debian chromium at /usr/bin/chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        yield b
        b.close()


def _watch(page) -> list[str]:
    """Console errors and page errors, which is where a CSP violation shows up."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_report_file_tooltip_keyboard_and_legend(browser, tmp_path):
    text = ("A title\n\nThe corrupt elites will destroy this great nation. "
            "<img src=x onerror=alert(1)> Make the nation great again!")
    a = Article(text=text, clean_text=text[9:], offset_map=OffsetMap.identity(len(text) - 9, 9),
                body_start=9, body_end=len(text),
                meta=Metadata(title="<script>alert(1)</script>"))
    i = text.index("corrupt elites")
    a.spans.append(a.span_from_text(i, i + 14, "Name_Calling,Labeling", 0.91, "labels a group"))
    j = text.index("great nation")
    a.spans.append(a.span_from_text(i, j + 12, "Appeal_to_fear-prejudice", 0.7))
    k = text.index("Make the")
    a.spans.append(a.span_from_text(k, len(text), "Slogans", 0.88))
    report = tmp_path / "report.html"
    report.write_text(render_article(a), encoding="utf-8")

    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    problems = _watch(page)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(report.as_uri())
    assert page.locator("mark.frag").count() == 3
    assert page.title() == "propscan: <script>alert(1)</script>"

    page.hover("mark.frag >> nth=0")
    tip = page.locator("#tip")
    tip.wait_for(state="visible")
    assert "Name calling / labeling (91%)" in tip.inner_text()
    assert "Appeal to fear / prejudice" in tip.inner_text()

    page.keyboard.press("Escape")
    page.focus("mark.frag >> nth=2")  # keyboard focus alone shows it too
    tip.wait_for(state="visible")
    assert "Slogans" in tip.inner_text()

    legend = page.locator('ul.legend button[data-cls="t9"]')
    legend.click()
    assert legend.get_attribute("aria-pressed") == "false"
    assert "hide-t9" in page.evaluate("document.body.className")
    colour = page.eval_on_selector("mark.t9", "e => getComputedStyle(e).borderBottomColor")
    assert colour == "rgba(0, 0, 0, 0)"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll

    with page.expect_download() as download:
        page.click("#download-json")
    assert download.value.suggested_filename.endswith(".json")
    assert not dialogs and not problems, problems + dialogs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(app):
    import httpx
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):  # the model loads in the lifespan handler before the port opens
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        pytest.fail("server did not start")
    yield url
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def server():
    from propscan.web.app import create_app

    yield from _serve(create_app())


@pytest.fixture(scope="module")
def server_no_detect():
    from propscan.pipeline import Pipeline
    from propscan.web.app import create_app

    yield from _serve(create_app(pipeline=Pipeline(detect=False)))


def test_web_form_round_trip_without_detection(browser, server_no_detect, shared_example):
    """The form, the upload-free paste path and the report page's CSP, model or not."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    problems = _watch(page)
    page.goto(server_no_detect + "/")
    page.fill("#text", shared_example.read_text(encoding="utf-8"))
    page.fill("#title", "<script>alert(1)</script>")
    with page.expect_navigation():
        page.click("#analyze")
    assert page.locator("h1").inner_text() == "<script>alert(1)</script>"
    assert "the so-called" in page.locator("div.body").inner_text()
    assert page.locator("a", has_text="New analysis").get_attribute("href") == "/"
    assert not problems, problems


@pytest.mark.skipif(not (MODEL_DIR / "model.onnx").is_file(),
                    reason="the detection model is not in src/propscan/detect/model")
def test_web_app_paste_and_report(browser, server, shared_example):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    problems = _watch(page)
    page.goto(server + "/")
    page.fill("#text", shared_example.read_text(encoding="utf-8"))
    with page.expect_navigation():
        page.click("#analyze")
    frags = page.locator("mark.frag")
    frags.first.wait_for()
    assert frags.count() > 0
    assert page.locator("h1").inner_text() == "Aleppo Proves Western Media Sources Wrong"
    frags.first.hover()
    tip = page.locator("#tip")
    tip.wait_for(state="visible")
    labels = page.eval_on_selector_all("ul.legend button", "bs => bs.map(b => b.innerText)")
    assert any(label.split(" ")[0] in tip.inner_text() for label in labels)
    assert not problems, problems
    docs = REPO / "docs"
    docs.mkdir(exist_ok=True)
    page.screenshot(path=str(docs / "web.png"), full_page=False)
