"""The web app and HTTP API through FastAPI's TestClient, on the real ingest and pipeline.

Tests that need detections use the shipped model and skip until it is in place; the rest run
the real pipeline with detection off (``Pipeline(detect=False)``) or with no model at all.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from propscan.doc import SCHEMA_VERSION
from propscan.errors import FetchRefused
from propscan.pipeline import Pipeline
from propscan.web.app import WebLimits, create_app
from propscan.web.fetch import check_public_address

MODEL_DIR = Path(__file__).resolve().parents[1] / "src" / "propscan" / "detect" / "model"
needs_model = pytest.mark.skipif(not (MODEL_DIR / "model.onnx").is_file(),
                                 reason="the detection model is not in src/propscan/detect/model")

BODY = ("Officials Meet\n\nThe officials met on Tuesday to discuss the new budget. "
        "They agreed on most points and will meet again next month to finish the work.")
PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(1)>javascript:alert(1)"
LOCAL = "http://127.0.0.1"  # the Host the app answers when bound to loopback


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(pipeline=Pipeline(detect=False)), base_url=LOCAL) as c:
        yield c


@pytest.fixture(scope="module")
def fetch_client():
    with TestClient(create_app(pipeline=Pipeline(detect=False), allow_fetch=True),
                    base_url=LOCAL) as c:
        yield c


def assert_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False and body["status"] == status and body["error"]
    return body["error"]


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["model_loaded"] is True


def test_techniques_lists_all_14(client):
    r = client.get("/api/v1/techniques")
    names = [t["name"] for t in r.json()["techniques"]]
    assert len(names) == 14 and "Loaded_Language" in names


def test_analyze_text_returns_the_cli_json_shape(client):
    r = client.post("/api/v1/analyze", json={"text": BODY, "authors": ["Jo Smith"],
                                             "outlet": "Daily"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["schema_version"] == SCHEMA_VERSION
    assert out["article"]["text"] == BODY
    assert out["article"]["title"] == "Officials Meet"
    assert out["article"]["authors"] == ["Jo Smith"] and out["article"]["outlet"] == "Daily"
    assert BODY[out["article"]["body_start"]:out["article"]["body_end"]].startswith("The offic")


def test_analyze_html(client):
    html = ("<html><head><title>Budget talks</title></head><body><article><h1>Budget talks"
            "</h1><p>" + BODY.split("\n\n")[1] + "</p><p>More text follows in a second "
            "paragraph so the extractor keeps it.</p></article></body></html>")
    r = client.post("/api/v1/analyze", json={"html": html})
    assert r.status_code == 200, r.text
    assert "officials met on Tuesday" in r.json()["article"]["text"]


def test_openapi_served_and_docs_pages_off(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/analyze", "/api/v1/techniques", "/healthz"} <= set(paths)
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


@pytest.mark.parametrize("headers,content,status", [
    ({"content-type": "text/plain"}, b'{"text": "hi there"}', 415),
    ({}, b'{"text": "hi there"}', 415),
    ({"content-type": "application/json"}, b"{not json", 422),
    ({"content-type": "application/json"}, b"\xff\xfe\x00garbage", 422),
    ({"content-type": "application/json"}, b"[1, 2]", 422),
    ({"content-type": "application/json"}, b'"just a string"', 422),
    ({"content-type": "application/json"}, b"{}", 422),
    ({"content-type": "application/json"}, b'{"text": ""}', 422),
    ({"content-type": "application/json"}, b'{"text": "   \\n  "}', 422),
    ({"content-type": "application/json"}, b'{"text": 42}', 422),
    ({"content-type": "application/json"}, b'{"text": "ok text", "authors": 5}', 422),
    ({"content-type": "application/json"}, b'{"text": "ok text", "title": {"a": 1}}', 422),
    ({"content-type": "application/json"}, b'{"html": "<html></html>"}', 422),
    ({"content-type": "application/json"}, b'{"text": "\\u0000\\u0001\\u0002"}', 415),
])
def test_bad_requests_get_json_errors(client, headers, content, status):
    assert_error(client.post("/api/v1/analyze", content=content, headers=headers), status)


def test_over_size_cap_is_413():
    with TestClient(create_app(pipeline=Pipeline(detect=False),
                               limits=WebLimits(max_request_bytes=1000)), base_url=LOCAL) as c:
        big = json.dumps({"text": "word " * 1000}).encode()
        assert_error(c.post("/api/v1/analyze", content=big,
                            headers={"content-type": "application/json"}), 413)
        r = c.post("/report", files={"file": ("a.txt", b"word " * 1000, "text/plain")})
        assert r.status_code == 413 and "limit" in r.text


def test_unknown_routes_and_methods_are_json(client):
    assert_error(client.get("/api/v1/nothing"), 404)
    assert_error(client.get("/api/v1/analyze"), 405)
    assert_error(client.post("/api/v1/analyze?format=pdf", json={"text": BODY}), 422)


def test_security_headers(client):
    r = client.post("/api/v1/analyze", json={"text": BODY})
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_xss_payloads_stay_text_in_the_api_and_the_page(client):
    text = f"{PAYLOAD}\n\nBody with {PAYLOAD} inside it, long enough to be the article body."
    record = {"text": text, "title": PAYLOAD, "authors": [PAYLOAD], "outlet": PAYLOAD,
              "url": "javascript:alert(1)"}
    r = client.post("/api/v1/analyze", json=record)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["article"]["title"] == PAYLOAD  # JSON carries the data unchanged

    page = client.post("/api/v1/analyze?format=html", json=record)
    assert page.status_code == 200
    _assert_no_live_payload(page.text)
    csp = page.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "script-src 'sha256-" in csp

    form = client.post("/report", data={"text": text, "title": PAYLOAD})
    assert form.status_code == 200
    _assert_no_live_payload(form.text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in form.text


def _assert_no_live_payload(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img" not in html
    assert not re.search(r"<[^>]*\sonerror=", html)
    assert 'href="javascript' not in html


def test_index_page_has_the_form_and_a_strict_csp(client):
    r = client.get("/")
    assert r.status_code == 200
    assert '<form method="post" action="/report"' in r.text and 'name="file"' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp  # the form needs no script


def test_upload_txt_html_json(client):
    for name, data in (("a.txt", BODY.encode()),
                       ("a.json", json.dumps({"text": BODY, "title": "From JSON"}).encode()),
                       ("a.html", f"<html><body><article><h1>Budget</h1><p>{BODY}</p>"
                                  "</article></body></html>".encode())):
        r = client.post("/report", files={"file": (name, data, "application/octet-stream")})
        assert r.status_code == 200, (name, r.text)
        assert "officials met on Tuesday" in r.text
    assert "From JSON" in client.post("/report", files={"file": ("a.json", json.dumps(
        {"text": BODY, "title": "From JSON"}).encode())}).text


def test_bad_form_input_gets_an_error_page(client):
    assert client.post("/report", data={"text": "  "}).status_code == 422
    r = client.post("/report", files={"file": ("a.png", b"\x89PNG\r\n\x1a\n\x00\x00", "image/png")})
    assert r.status_code == 415
    r = client.post("/report", files={"file": ("a.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x00IHDR",
                                               "text/plain")})
    assert r.status_code in (415, 422) and "<h1>Could not analyze</h1>" in r.text
    r = client.post("/report", content=b"--x\r\nbroken", headers={
        "content-type": "multipart/form-data; boundary=x"})
    assert r.status_code in (400, 422)


def test_without_a_model_analysis_answers_503_and_the_server_keeps_serving(tmp_path):
    with TestClient(create_app(pipeline=Pipeline(model_dir=tmp_path / "no-model")),
                    base_url=LOCAL) as c:
        assert c.get("/healthz").json()["model_loaded"] is False
        assert "not loaded" in assert_error(c.post("/api/v1/analyze", json={"text": BODY}), 503)
        assert c.post("/report", data={"text": BODY}).status_code == 503
        assert "not loaded" in c.get("/").text
        assert c.get("/api/v1/techniques").status_code == 200


def test_url_fetch_is_off_by_default(client):
    assert "allow-fetch" in assert_error(
        client.post("/api/v1/analyze", json={"url": "https://example.org/"}), 403)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/", "http://localhost/", "http://[::1]/", "http://10.1.2.3/",
    "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/",
    "file:///etc/passwd", "gopher://example.org/", "http://user:pw@example.org/", "not a url",
])
def test_fetch_refuses_private_addresses_and_bad_schemes(fetch_client, url):
    assert_error(fetch_client.post("/api/v1/analyze", json={"url": url}), 400)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.8", "172.16.5.4", "192.168.1.1",
                                     "100.64.0.1", "169.254.1.1", "::1", "fe80::1%eth0",
                                     "fc00::1", "::ffff:10.0.0.1", "224.0.0.1", "0.0.0.0"])
def test_non_public_addresses_are_refused(address):
    with pytest.raises(FetchRefused):
        check_public_address(address)


def test_public_addresses_pass():
    check_public_address("93.184.216.34")
    check_public_address("2606:4700:4700::1111")


@needs_model
def test_real_model_finds_spans_in_the_shared_example(shared_example):
    text = shared_example.read_text(encoding="utf-8")
    with TestClient(create_app(), base_url=LOCAL) as c:
        r = c.post("/api/v1/analyze", json={"text": text})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["spans"], "the model found nothing in a propaganda-heavy article"
        for s in out["spans"]:
            assert text[s["start"]:s["end"]] == s["text"]
        page = c.post("/report", data={"text": text})
        assert page.status_code == 200 and '<mark class="frag' in page.text


def test_garbage_never_gives_a_500(client):
    import random

    rng = random.Random(7)
    for n in range(60):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        ctype = rng.choice(["application/json", "multipart/form-data; boundary=zz",
                            "text/plain", "application/json; charset=latin-1"])
        for path in ("/api/v1/analyze", "/report"):
            r = client.post(path, content=blob, headers={"content-type": ctype})
            assert 400 <= r.status_code < 500, (n, path, r.status_code, r.text[:200])
