"""The corpus explorer in real headless Chromium (Debian's /usr/bin/chromium via playwright):
filter, open an article, review a finding and mark a missed fragment, export; hostile article
text and metadata run no script. Playwright never downloads a browser here: it is given the
system one, and the test skips without it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import httpx
import pytest

from propscan.corpus.database import CorpusDatabase
from propscan.pipeline import Pipeline
from propscan.web.app import create_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"needs Debian chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
_spec = importlib.util.spec_from_file_location("screenshot_web",
                                               REPO / "tools" / "screenshot_web.py")
screenshot_web = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screenshot_web)
sys.path.insert(0, str(Path(__file__).parent))
import explorer_corpus  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = explorer_corpus.build(tmp_path_factory.mktemp("corpus") / "corpus.duckdb")
    app = create_app(pipeline=Pipeline(detect=False), corpus=CorpusDatabase(path))
    with screenshot_web.serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=screenshot_web.CHROMIUM_ARGS)
        yield b
        b.close()


def _watch(page) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return problems, dialogs


def test_filter_open_review_and_export(server, browser, tmp_path):
    page = browser.new_page(accept_downloads=True)
    problems, dialogs = _watch(page)
    page.goto(server + "/corpus")
    assert page.locator("table.articles tbody tr").count() == 8
    page.fill("form.filters input[name=outlet]", "daily tide")
    page.select_option("form.filters select[name=technique]", "Loaded_Language")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert page.locator("table.articles tbody tr").count() == 1
    with page.expect_navigation():
        page.click("table.articles a.open")
    assert page.locator("mark.frag").count() == 3
    assert "outlet=daily+tide" in page.locator("#back-to-list").get_attribute("href")

    page.fill("#reviewer", "Ana")
    row = page.locator("#review tbody tr").first
    row.locator("button[data-action=reject]").click()
    # (wait_for_function would evaluate a string, which the page's CSP rightly refuses)
    sync_api.expect(page.locator("#review-status")).to_have_text("Saved: reject.")
    assert "done-reject" in (row.get_attribute("class") or "")

    # select "coast safe" inside the text and add it as a missed fragment
    page.evaluate("""() => {
        const body = document.querySelector('.body');
        const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
        let node;
        while ((node = walker.nextNode())) {
            const i = node.textContent.indexOf('coast safe');
            if (i >= 0) {
                const r = document.createRange();
                r.setStart(node, i); r.setEnd(node, i + 10);
                const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
                return;
            }
        }
    }""")
    page.select_option("#add-technique", "Slogans")
    page.click("#add-fragment")
    sync_api.expect(page.locator("#review-status")).to_have_text("Saved: add.")
    stored = httpx.get(server + "/api/v1/corpus/articles/a4/corrections").json()["corrections"]
    assert [c["action"] for c in stored] == ["reject", "add"]
    text = httpx.get(server + "/api/v1/corpus/articles/a4").json()["article"]["text"]
    assert text[stored[1]["start"]:stored[1]["end"]] == "coast safe"
    # the name is kept for the next article
    page.goto(server + "/corpus/articles/a1")
    assert page.input_value("#reviewer") == "Ana"

    page.goto(server + "/corpus?technique=Loaded_Language")
    with page.expect_download() as download:
        page.click("text=articles CSV")
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,title") and len(lines) == 5
    assert not problems and not dialogs, problems + dialogs


def test_hostile_text_runs_no_script(server, browser):
    page = browser.new_page()
    problems, dialogs = _watch(page)
    for url in ("/corpus", "/corpus/charts", "/corpus/articles/a6"):
        page.goto(server + url)
        page.wait_for_load_state("load")
    assert page.locator("mark.frag").count() == 1
    assert page.locator("img").count() == 0
    assert page.title().startswith("propscan: <script>")
    assert not dialogs, dialogs
    assert not [p for p in problems if "Content Security Policy" in p], problems
