"""End to end in real headless Chromium (Debian's /usr/bin/chromium, driven by playwright).

The report-file test runs on hand-made spans (it checks the CSP hashes, the tooltip, keyboard
focus and the legend filter); the web-app test needs the shipped model, pastes the shared
example into the form and takes a screenshot as `make screenshot` does for the README
(tools/screenshot_web.py, whose server and page steps these tests reuse), into a temporary folder.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from propscan.doc import Article, Metadata
from propscan.offsets import OffsetMap
from propscan.report.html import render_article

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO / "src" / "propscan" / "detect" / "model"
_spec = importlib.util.spec_from_file_location("screenshot_web",
                                               REPO / "tools" / "screenshot_web.py")
screenshot_web = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screenshot_web)

if not screenshot_web.CHROMIUM.exists():
    pytest.skip(f"needs Debian chromium at {screenshot_web.CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(screenshot_web.CHROMIUM),
                              args=screenshot_web.CHROMIUM_ARGS)
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
    a.spans.append(a.finding_from_text(i, i + 14, "Name_Calling,Labeling", 0.91, "labels a group"))
    j = text.index("great nation")
    a.spans.append(a.finding_from_text(i, j + 12, "Appeal_to_fear-prejudice", 0.7))
    k = text.index("Make the")
    a.spans.append(a.finding_from_text(k, len(text), "Slogans", 0.88))
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


@pytest.fixture(scope="module")
def server():
    from propscan.web.app import create_app

    with screenshot_web.serving(create_app()) as url:
        yield url


@pytest.fixture(scope="module")
def server_no_detect():
    from propscan.pipeline import Pipeline
    from propscan.web.app import create_app

    with screenshot_web.serving(create_app(pipeline=Pipeline(detect=False))) as url:
        yield url


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
def test_web_app_paste_and_report(browser, server, shared_example, tmp_path):
    page = browser.new_page(viewport=screenshot_web.WINDOW)
    problems = _watch(page)
    screenshot_web.show_report(page, server, shared_example.read_text(encoding="utf-8"))
    assert page.locator("mark.frag").count() > 0
    assert page.locator("h1").inner_text() == "Aleppo Proves Western Media Sources Wrong"
    tip = page.locator("#tip")
    assert tip.is_visible()  # show_report hovered the first fragment
    labels = page.eval_on_selector_all("ul.legend button", "bs => bs.map(b => b.innerText)")
    assert any(label.split(" ")[0] in tip.inner_text() for label in labels)
    assert not problems, problems
    shot = tmp_path / "web.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_file_dots_quoted_findings_and_the_legend_hides_them(browser, tmp_path):
    text = "A title\n\n\"The corrupt elites lie,\" the minister said. The so-called opposition."
    a = Article(text=text, clean_text=text[9:], offset_map=OffsetMap.identity(len(text) - 9, 9),
                body_start=9, body_end=len(text))
    i = text.index("corrupt elites")
    a.spans.append(a.finding_from_text(i, i + 14, "Name_Calling,Labeling", 0.7))
    a.spans[0].voice, a.spans[0].speaker = "quoted", "the minister"
    j = text.index("so-called")
    a.spans.append(a.finding_from_text(j, j + 20, "Loaded_Language", 0.6))
    report = tmp_path / "quoted.html"
    report.write_text(render_article(a), encoding="utf-8")

    page = browser.new_page(viewport={"width": 390, "height": 844})
    problems = _watch(page)
    page.goto(report.as_uri())
    style = "e => getComputedStyle(e).borderBottomStyle"
    assert page.eval_on_selector("mark.quoted", style) == "dotted"
    assert page.eval_on_selector("mark:not(.quoted)", style) == "solid"
    page.hover("mark.quoted")
    tip = page.locator("#tip")
    tip.wait_for(state="visible")
    assert "quoted: the minister" in tip.inner_text()

    page.focus("#show-quoted")  # the control works from the keyboard
    page.keyboard.press("Space")
    assert "hide-quoted" in page.evaluate("document.body.className")
    colour = page.eval_on_selector("mark.quoted", "e => getComputedStyle(e).borderBottomColor")
    assert colour == "rgba(0, 0, 0, 0)"
    assert not page.locator("tr.quoted").is_visible()
    assert page.locator("tr:not(.quoted) >> nth=1").is_visible()
    assert not problems, problems
