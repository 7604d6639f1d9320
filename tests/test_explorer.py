"""The corpus explorer through the real app (TestClient) over a real DuckDB batch store."""

from __future__ import annotations

import csv
import html
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from propscan.corpus.database import CorpusDatabase
from propscan.pipeline import Pipeline
from propscan.web.app import create_app

sys.path.insert(0, str(Path(__file__).parent))
import explorer_corpus  # noqa: E402

LOCAL = "http://127.0.0.1"


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    return explorer_corpus.build(tmp_path_factory.mktemp("corpus") / "corpus.duckdb")


@pytest.fixture(scope="module")
def client(db_path):
    app = create_app(pipeline=Pipeline(detect=False), corpus=CorpusDatabase(db_path))
    with TestClient(app, base_url=LOCAL) as c:
        yield c


def ids(client, query: str) -> list[str]:
    r = client.get(f"/api/v1/corpus/articles?limit=1000&{query}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["articles"])
    return [a["id"] for a in body["articles"]]


def test_filters_change_the_rows(client):
    assert len(ids(client, "")) == 8  # the failed record is not listed
    # outlet spellings are one outlet, whichever is asked for
    assert sorted(ids(client, "outlet=politifact")) == ["a1", "a2"]
    assert sorted(ids(client, "outlet=POLITI-FACT")) == ["a1", "a2"]
    assert sorted(ids(client, "technique=Loaded_Language")) == [
        "a1", "a4", "a6", "https://news.example/b/7"]
    assert ids(client, "technique=Loaded_Language&technique=Slogans") == ["a4"]
    assert ids(client, "language=fr") == ["a5"]
    assert sorted(ids(client, "from=2024-03-01&to=2024-03-31")) == ["a3", "a4", "a5"]
    assert ids(client, "q=budget+VOTE") == ["a2"]
    assert ids(client, "q=%25") == []  # a wildcard character is only a character
    assert sorted(ids(client, "min_words=13&max_words=13")) == sorted(
        a[0] for a in explorer_corpus.ARTICLES if len(re.findall(r"\w+", a[6])) == 13)
    assert ids(client, "outlet=(unknown)") == ["https://news.example/b/7"]


def test_sort_by_rate_and_rates_only_over_analysed_articles(client):
    rows = client.get("/api/v1/corpus/articles?sort=rate&order=desc&limit=100").json()["articles"]
    rates = [r["rate"] for r in rows if r["rate"] is not None]
    assert rates == sorted(rates, reverse=True)
    assert rows[-1]["rate"] is None  # unanalysed (and zero-word) articles last
    french = next(r for r in rows if r["id"] == "a5")
    assert french["analysed"] is False and french["rate"] is None
    a1 = next(r for r in rows if r["id"] == "a1")
    assert a1["rate"] == round(1000 * 2 / a1["words"], 2)


def test_list_page_facets_and_paging(client):
    page = client.get("/corpus?outlet=Daily+Tide&limit=2")
    assert page.status_code == 200
    text = page.text
    assert "Content-Security-Policy" in page.headers
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert 'data-total="3"' in text and text.count('class="open"') == 2
    assert 'rel="next"' in text and "offset=2" in text
    facet = re.search(r'data-facet="technique">Loaded language</a><span class="n">(\d+)', text)
    assert facet and facet.group(1) == "1"  # only a4 of Daily Tide has it
    assert html.escape("outlet=Daily+Tide") in text  # the filter stays in the URLs


def _chart_links(page: str) -> list[tuple[str, int]]:
    found = re.findall(r'<a href="(/corpus\?[^"]*)"[^>]*><title>([^<]*)</title>', page)
    out = []
    for link, title in found:
        n = re.search(r"([\d,]+) articles", html.unescape(title))
        assert n, title
        out.append((html.unescape(link), int(n.group(1).replace(",", ""))))
    return out


@pytest.mark.parametrize("query", ["", "language=en", "outlet=Daily+Tide"])
def test_every_number_in_a_chart_links_to_that_many_articles(client, query):
    page = client.get(f"/corpus/charts?{query}").text
    links = _chart_links(page)
    assert len(links) >= 5
    for link, count in links:
        assert len(ids(client, link.split("?", 1)[1])) == count, link


def test_month_chart_leaves_empty_months_as_gaps(client):
    page = client.get("/corpus/charts").text
    assert "2024-02: " not in page  # no article in February: no point, no bar
    # January stands alone (a point, no line); the line runs March to May only
    assert page.count("<polyline") == 1 and page.count('class="point"') == 4
    assert "2024-01: 130.43 findings per 1,000 words" in page


def test_compare_two_outlets(client):
    page = client.get("/corpus/compare?a_outlet=PolitiFact&b_outlet=Daily+Tide").text
    assert "A: outlet PolitiFact" in page and "B: outlet Daily Tide" in page
    for link, count in _chart_links(page):
        assert len(ids(client, link.split("?", 1)[1])) == count


def test_exports_match_the_list(client):
    query = "technique=Loaded_Language&sort=rate&order=desc"
    listed = ids(client, query)
    rows = list(csv.DictReader(io.StringIO(client.get(f"/corpus.csv?{query}").text)))
    assert [r["id"] for r in rows] == listed
    assert [a["id"] for a in client.get(f"/corpus.json?{query}").json()["articles"]] == listed
    findings = client.get(f"/corpus/findings.json?{query}").json()["findings"]
    api = client.get(f"/api/v1/corpus/articles?limit=1000&{query}").json()["articles"]
    assert len(findings) == sum(a["findings"] for a in api)
    assert [f["article_id"] for f in findings] == sorted(
        (f["article_id"] for f in findings), key=listed.index)
    fcsv = list(csv.DictReader(io.StringIO(client.get(f"/corpus/findings.csv?{query}").text)))
    assert [(r["article_id"], int(r["start"])) for r in fcsv] == [
        (f["article_id"], f["start"]) for f in findings]


def test_article_view_shows_the_stored_findings(client):
    r = client.get("/corpus/articles/a4")
    assert r.status_code == 200
    assert r.text.count('<mark class="frag') == 3
    for label in ("Loaded language", "Slogans", "Exaggeration / minimisation"):
        assert label in r.text
    assert '<section class="review" id="review"' in r.text
    assert r.text.count('data-action="reject"') == 3 and 'id="mark-reviewed"' in r.text
    api = client.get("/api/v1/corpus/articles/a4").json()
    assert [s["text"] for s in api["spans"]] == [
        "monstrous storm", "wreck everything", "Make the coast safe again!"]
    for s in api["spans"]:
        assert api["article"]["text"][s["start"]:s["end"]] == s["text"]


def test_article_ids_that_are_urls(client):
    r = client.get("/corpus/articles/https%3A%2F%2Fnews.example%2Fb%2F7")
    assert r.status_code == 200 and "Undated opinion" in r.text
    assert client.get("/api/v1/corpus/articles/https%3A%2F%2Fnews.example%2Fb%2F7/corrections"
                      ).json()["corrections"] == []


def test_previous_and_next_follow_the_filter(client):
    r = client.get("/corpus/articles/a4?outlet=Daily+Tide&sort=date&order=desc")
    nav = re.search(r'<nav class="article-nav".*?</nav>', r.text).group(0)
    assert "2 of 3" in nav
    prev = html.unescape(re.search(r'id="previous" href="([^"]+)"', nav).group(1))
    nxt = html.unescape(re.search(r'id="next" href="([^"]+)"', nav).group(1))
    assert prev.startswith("/corpus/articles/old1?") and "outlet=Daily+Tide" in prev
    assert nxt.startswith("/corpus/articles/a3?") and "sort=date" in nxt
    last = re.search(r'<nav class="article-nav".*?</nav>', client.get(nxt).text).group(0)
    assert "3 of 3" in last and 'id="next"' not in last and 'id="previous"' in last


def test_old_article_without_text_and_failed_record(client):
    old = client.get("/corpus/articles/old1")
    assert old.status_code == 200 and "stored before texts were kept" in old.text
    assert client.get("/api/v1/corpus/articles/old1").status_code == 404
    assert "could not decode" in client.get("/corpus/articles/bad").text
    missing = client.get("/corpus/articles/nope")
    assert missing.status_code == 404 and missing.json()["ok"] is False


def test_a_browser_gets_errors_of_explorer_pages_as_pages(client):
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    missing = client.get("/corpus/articles/%3Cb%3Enope", headers=browser)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in missing.text and "<b>nope" not in missing.text
    assert 'href="/corpus"' in missing.text
    bad = client.get("/corpus?sort=title", headers=browser)
    assert bad.status_code == 422 and "invalid request" in bad.text and "<h1>" in bad.text
    # exports and the API answer JSON whatever the client accepts
    for path in ("/corpus.csv?sort=title", "/api/v1/corpus/articles/nope"):
        assert client.get(path, headers=browser).json()["ok"] is False


def test_review_shows_what_was_reviewed(client):
    r = client.post("/api/v1/corpus/articles/a3/corrections",
                    json={"reviewer": "Ana", "action": "reviewed"})
    assert r.status_code == 201, r.text
    page = client.get("/corpus/articles/a3").text
    assert re.search(r'id="corrections"><li>[^<]*Ana: reviewed', page)


def test_json_and_exports_carry_the_security_headers(client):
    """The app's middleware puts them on every response; the routes set none themselves."""
    for response in (client.get("/api/v1/corpus/articles"), client.get("/corpus.csv"),
                     client.get("/api/v1/corpus/articles/a3"),
                     client.get("/api/v1/corpus/articles/a3/corrections"),
                     client.get("/api/v1/corpus/adapt")):
        assert response.status_code == 200, response.request.url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == ("default-src 'none'; "
                                                               "frame-ancestors 'none'")


def test_read_only_hides_review(db_path, client):
    app = create_app(pipeline=Pipeline(detect=False), corpus=CorpusDatabase(db_path),
                     read_only=True)
    client.app.state.corpus.close()  # one owner per file: the review app hands it over
    try:
        with TestClient(app, base_url=LOCAL) as ro:
            page = ro.get("/corpus/articles/a4").text
            assert '<section class="review" id="review"' not in page
            assert 'data-action="reject"' not in page and 'id="mark-reviewed"' not in page
            refused = ro.post("/api/v1/corpus/articles/a4/corrections",
                              json={"reviewer": "Ana", "action": "reviewed"})
            assert refused.status_code == 403 and refused.json()["ok"] is False
    finally:
        client.app.state.corpus.open()


def test_hostile_text_and_metadata_stay_text(client):
    pages = [client.get("/corpus").text, client.get("/corpus/charts").text,
             client.get("/corpus/articles/a6").text,
             client.get("/corpus?outlet=%3Cscript%3Ealert(1)%3C%2Fscript%3E").text]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)" in page or "\\u003cscript" in page
    csp = client.get("/corpus/articles/a6").headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "sha256-" in csp


@pytest.mark.parametrize("query", ["from=2024-13-01", "to=soon", "min_words=-3", "sort=title",
                                   "order=up", "limit=0", "offset=-1", "max_words=1e9"])
def test_bad_parameters_are_422_in_the_standard_shape(client, query):
    for path in ("/api/v1/corpus/articles", "/corpus", "/corpus.csv"):
        r = client.get(f"{path}?{query}")
        assert r.status_code == 422, (path, query)
        body = r.json()
        assert body["ok"] is False and body["status"] == 422 and body["error"]
    assert client.get("/api/v1/corpus/stats?by=author").status_code == 422


def test_stats_api_and_openapi(client):
    rows = client.get("/api/v1/corpus/stats?by=technique").json()["rows"]
    assert rows[0]["technique"] == "Loaded_Language" and rows[0]["findings"] == 4
    months = client.get("/api/v1/corpus/stats?by=month&language=en").json()["rows"]
    assert [m["month"] for m in months] == ["2024-01", "2024-03", "2024-04", "2024-05"]
    outlets = client.get("/api/v1/corpus/stats?by=outlet&top=1").json()["rows"]
    assert outlets == [{"outlet": "Daily Tide", "articles": 3, "analysed": 3, "words": 61,
                        "findings": 4, "rate": 65.57}]
    spec = client.get("/openapi.json").json()["paths"]
    params = {p["name"] for p in spec["/api/v1/corpus/articles"]["get"]["parameters"]}
    assert {"outlet", "technique", "language", "from", "to", "q", "sort", "limit",
            "offset"} <= params
    assert "/api/v1/corpus/stats" in spec


def test_a_second_writer_on_the_same_file_gets_a_one_line_error(client, db_path):
    code = ("from propscan.corpus.database import CorpusDatabase\n"
            "from propscan.errors import ConfigError\n"
            "try:\n"
            f"    CorpusDatabase({str(db_path)!r}).open()\n"
            "except ConfigError as err:\n"
            "    print('ConfigError:', err.message)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ConfigError: cannot open database"), (
        run.stdout + run.stderr)
    assert "Traceback" not in run.stderr


def test_an_older_database_served_read_only_gets_a_one_line_error(tmp_path):
    """Read-only, the columns added since schema 1.0 cannot be added: refuse at start, saying
    how to upgrade, instead of an internal error on every page."""
    import duckdb

    from propscan.batch.schema import DDL

    old = tmp_path / "old.duckdb"
    with duckdb.connect(str(old)) as con:
        con.execute(DDL.split("ALTER TABLE")[0])  # the 1.0 tables, without the newer columns
    run = subprocess.run([sys.executable, "-m", "propscan", "serve", "--db", str(old),
                          "--read-only"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "articles.analysed" in lines[0] and "--read-only" in lines[0]
    assert "Traceback" not in run.stderr
    CorpusDatabase(old).open().close()  # opened for writing once, it gains the columns
    CorpusDatabase(old, read_only=True).open().close()
