"""The web app under hostile or careless input and load: every answer a 4xx/503 JSON (or an
error page on the form), never a 500 or a reset; work per request bounded.

Most tests run the real pipeline with detection off; the ones that need the detector's real
speed or findings use the shipped model and skip without it. Size and drain behaviour is
checked against a real uvicorn server on 127.0.0.1, as clients see it.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import anyio
import pytest
import uvicorn
from fastapi.testclient import TestClient

from propscan.errors import ServerBusy
from propscan.pipeline import Pipeline
from propscan.web.app import WebLimits, create_app
from propscan.web.limits import AnalysisLane, allowed_hosts

MODEL_DIR = Path(__file__).resolve().parents[1] / "src" / "propscan" / "detect" / "model"
needs_model = pytest.mark.skipif(not (MODEL_DIR / "model.onnx").is_file(),
                                 reason="the detection model is not in src/propscan/detect/model")
LOCAL = "http://127.0.0.1"
BODY = ("Officials Meet\n\nThe officials met on Tuesday to discuss the new budget. "
        "They agreed on most points and will meet again next month to finish the work.")
SMALL = WebLimits(max_request_bytes=64 * 1024, drain_bytes=16 * 1024 * 1024)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(pipeline=Pipeline(detect=False)), base_url=LOCAL) as c:
        yield c


def assert_json_error(response, status: int, code: str | None = None) -> str:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert body["ok"] is False and body["status"] == status and body["error"]
    if code:
        assert body["code"] == code, body
    return body["error"]


def post_json(client: TestClient, raw: bytes, path: str = "/api/v1/analyze"):
    return client.post(path, content=raw, headers={"content-type": "application/json"})


@contextmanager
def serving(app, ready_s: float = 60.0) -> Iterator[str]:
    """``app`` under a real uvicorn server on a free loopback port, in a thread."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + ready_s
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


# ---- hostile JSON ------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [
    b"[" * 200_000 + b"]" * 200_000,
    b'{"text": "hello there", "title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"text": "hello there", "authors": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]'
    b"]]]]]]]]]]]]]]]]}",
])
def test_deeply_nested_json_is_a_422(client, raw):
    assert "nested" in assert_json_error(post_json(client, raw), 422, "invalid_record")


@pytest.mark.parametrize("field", ["text", "title", "outlet", "author", "published", "language"])
def test_lone_surrogates_are_a_422(client, field):
    record = {"text": "The officials met on Tuesday to discuss the budget.", field: "a\ud800b"}
    raw = json.dumps(record).encode()  # ensure_ascii: the surrogate travels as \ud800
    assert "surrogate" in assert_json_error(post_json(client, raw), 422, "invalid_record")


def test_lone_surrogate_in_authors_list_and_id_is_a_422(client):
    for record in ({"text": BODY, "authors": ["ok", "\udfff"]}, {"text": BODY, "id": "\ud800"}):
        assert_json_error(post_json(client, json.dumps(record).encode()), 422, "invalid_record")


def test_hostile_json_in_an_upload_gets_an_error_page(client):
    r = client.post("/report", files={"file": ("deep.json", b"[" * 50_000 + b"]" * 50_000)})
    assert r.status_code == 422 and "<h1>Could not analyze</h1>" in r.text
    r = client.post("/report", files={"file": ("s.json", b'{"text": "ab\\ud800 cd"}')})
    assert r.status_code == 422 and "surrogate" in r.text


# ---- fetch host names --------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "http://①②⑦.0.0.1/", "http://127。0。0。1/", "http://１２７.０.０.１/", "http://\u200b.com/",
    "http://exa\ud800mple.org/", "http://0x7f.1/", "http://2130706433/", "http://[::1]/x",
])
def test_lookalike_and_numeric_hosts_are_refused(url):
    with TestClient(create_app(pipeline=Pipeline(detect=False), allow_fetch=True),
                    base_url=LOCAL) as c:
        assert_json_error(post_json(c, json.dumps({"url": url}).encode()), 400, "fetch_refused")


def test_a_url_that_is_not_a_string_is_refused():
    with TestClient(create_app(pipeline=Pipeline(detect=False), allow_fetch=True),
                    base_url=LOCAL) as c:
        assert_json_error(c.post("/api/v1/analyze", json={"url": ["http://x.org/"]}), 400)


# ---- headers and hosts -------------------------------------------------------------------
def test_openapi_and_every_error_carry_the_security_headers(client):
    reference = client.get("/healthz").headers
    for r in (client.get("/openapi.json"), client.get("/nothing-here"),
              post_json(client, b"{bad")):
        for name in ("x-content-type-options", "referrer-policy", "x-frame-options",
                     "cross-origin-opener-policy", "content-security-policy"):
            assert r.headers.get(name) == reference[name], (r.url, name)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.nip.io", ""])
def test_a_loopback_server_answers_only_loopback_host_names(client, host):
    assert_json_error(client.get("/healthz", headers={"host": host}), 400, "untrusted_host")


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000",
                                  "LOCALHOST"])
def test_loopback_host_names_are_answered(client, host):
    assert client.get("/healthz", headers={"host": host}).status_code == 200


def test_beyond_loopback_the_bound_host_and_trusted_hosts_are_answered():
    app = create_app(pipeline=Pipeline(detect=False), bound_host="0.0.0.0",
                     trusted_hosts=["news.example"])
    with TestClient(app, base_url="http://news.example") as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/healthz", headers={"host": "localhost:8000"}).status_code == 200
        assert "--trusted-host" in assert_json_error(
            c.get("/healthz", headers={"host": "attacker.example"}), 400)
        assert_json_error(c.post("/api/v1/analyze", json={"text": BODY},
                                 headers={"host": "0.0.0.0"}), 400)  # a wildcard is no name
    assert allowed_hosts("192.0.2.10") >= {"192.0.2.10", "localhost", "::1"}
    assert allowed_hosts("0.0.0.0", ["*"]) is None


# ---- min_confidence ----------------------------------------------------------------------
@pytest.mark.parametrize("query", ["-0.1", "1.5", "abc", "nan", "inf"])
def test_min_confidence_query_out_of_range_is_a_422(client, query):
    assert_json_error(client.post(f"/api/v1/analyze?min_confidence={query}", json={"text": BODY}),
                      422)


@pytest.mark.parametrize("value", [-0.1, 1.5, "0.5", True, None, [0.2]])
def test_min_confidence_field_must_be_a_number_from_0_to_1(client, value):
    error = assert_json_error(client.post("/api/v1/analyze",
                                          json={"text": BODY, "min_confidence": value}), 422)
    assert "min_confidence" in error


def test_min_confidence_in_the_form(client):
    page = client.get("/").text
    assert 'name="min_confidence"' in page and 'value="0.05"' in page
    assert client.post("/report", data={"text": BODY, "min_confidence": "2"}).status_code == 422
    assert client.post("/report", data={"text": BODY, "min_confidence": "x"}).status_code == 422
    assert client.post("/report", data={"text": BODY, "min_confidence": ""}).status_code == 200


def test_a_bad_server_default_is_refused():
    from propscan.errors import ConfigError

    with pytest.raises(ConfigError):
        create_app(pipeline=Pipeline(detect=False), min_confidence=1.5)


@needs_model
def test_min_confidence_filters_findings(shared_example):
    text = shared_example.read_text(encoding="utf-8")
    with TestClient(create_app(min_confidence=0.3), base_url=LOCAL) as c:
        assert c.get("/healthz").json()["min_confidence"] == 0.3
        assert 'value="0.3"' in c.get("/").text
        default = c.post("/api/v1/analyze", json={"text": text}).json()["spans"]
        every = c.post("/api/v1/analyze", json={"text": text, "min_confidence": 0}).json()["spans"]
        strict = c.post("/api/v1/analyze?min_confidence=0.6",
                        json={"text": text, "min_confidence": 0}).json()["spans"]
        none = c.post("/report", data={"text": text, "min_confidence": "1"}).text
        some = c.post("/report", data={"text": text, "min_confidence": "0"}).text
    assert all(s["confidence"] >= 0.3 for s in default)
    assert all(s["confidence"] >= 0.6 for s in strict)  # the query overrides the field
    assert len(every) > len(default) >= len(strict)
    assert '<mark class="frag' in some and '<mark class="frag' not in none


@needs_model
def test_shutdown_closes_the_detector():
    pipeline = Pipeline()
    with TestClient(create_app(pipeline=pipeline), base_url=LOCAL) as c:
        assert c.get("/healthz").json()["model_loaded"] is True
        assert pipeline.detector_ is not None
    assert pipeline.detector_ is None


# ---- sizes -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/report", "/api/v1/analyze"])
def test_a_chunked_upload_is_answered_413_as_soon_as_it_passes_the_cap(path):
    """300 MB offered in chunks: the 413 comes while the client is still sending, after
    about the cap plus the drain bound (and what the sockets' buffers hold); before, /report
    spooled the whole upload to disk first."""
    limits = WebLimits(max_request_bytes=64 * 1024, drain_bytes=1024 * 1024)
    chunk = b"10000\r\n" + b"w" * 0x10000 + b"\r\n"  # 64 KiB of body per chunk
    sent, answer = 0, b""
    ctype = "application/json" if path.startswith("/api") else "multipart/form-data; boundary=x"
    with serving(create_app(pipeline=Pipeline(detect=False), limits=limits)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         f"Content-Type: {ctype}\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n".encode())
            if path == "/report":  # a file part that never ends
                part = (b'--x\r\nContent-Disposition: form-data; name="file"; '
                        b'filename="a.txt"\r\n\r\n')
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            while sent < 300 * 1024 * 1024 and not answer:
                sock.sendall(chunk)
                sent += 0x10000
                sock.setblocking(False)
                with suppress(BlockingIOError):
                    answer = sock.recv(200)
                sock.setblocking(True)
                sock.settimeout(20)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert sent < 32 * 1024 * 1024, f"the 413 came after {sent:,} bytes"


@pytest.mark.parametrize("path", ["/api/v1/analyze", "/report"])
def test_urllib_gets_the_413_not_a_reset(path):
    body = json.dumps({"text": "word " * (2 * 1024 * 1024)}).encode()  # 10 MiB
    ctype = "application/json" if path.startswith("/api") else "multipart/form-data; boundary=x"
    with serving(create_app(pipeline=Pipeline(detect=False), limits=SMALL)) as url:
        request = urllib.request.Request(url + path, data=body, headers={"Content-Type": ctype})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=30)
        assert caught.value.code == 413
        text = caught.value.read().decode()
        assert "limit" in text


def test_http_client_chunked_body_gets_the_413():
    with serving(create_app(pipeline=Pipeline(detect=False), limits=SMALL)) as url:
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        chunks = (b"x" * 65536 for _ in range(160))  # 10 MiB, no Content-Length
        conn.request("POST", "/api/v1/analyze", body=chunks, encode_chunked=True,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["code"] == "input_too_large"
        conn.close()


# ---- bounded work ------------------------------------------------------------------------
def test_a_full_lane_answers_503_with_retry_after_at_once():
    release = threading.Event()

    async def scenario() -> None:
        lane = AnalysisLane("large", Pipeline(detect=False), waiting=1, max_wait_s=0.3)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(lane.run, lambda _p: release.wait(10))
            await anyio.sleep(0.05)
            assert lane.state == {"running": 1, "waiting": 0, "capacity": 2}
            t0 = time.monotonic()
            with pytest.raises(ServerBusy) as waited:  # queued, but its turn does not come
                await lane.run(lambda _p: None)
            assert 0.25 < time.monotonic() - t0 < 2 and waited.value.retry_after_s >= 1
            tasks.start_soon(lane.run, lambda _p: None)  # queued behind the running one
            await anyio.sleep(0.05)
            t0 = time.monotonic()
            with pytest.raises(ServerBusy):  # 1 running + 1 waiting: full
                await lane.run(lambda _p: None)
            assert time.monotonic() - t0 < 0.1
            release.set()

    anyio.run(scenario)


@needs_model
@pytest.mark.slow
def test_a_small_request_is_answered_while_a_large_one_runs(shared_example):
    article = shared_example.read_text(encoding="utf-8")
    large = " ".join([article] * 80)  # about 470,000 characters: several seconds here
    limits = WebLimits(large_waiting=0)
    results: dict[str, tuple[int, float]] = {}

    def post(url: str, name: str, text: str) -> None:
        t0 = time.monotonic()
        request = urllib.request.Request(url + "/api/v1/analyze", data=json.dumps(
            {"text": text}).encode(), headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=300) as r:
                status = r.status
        except urllib.error.HTTPError as err:
            status = err.code
        results[name] = (status, time.monotonic() - t0)

    with serving(create_app(limits=limits)) as url:
        big = threading.Thread(target=post, args=(url, "large", large))
        big.start()
        deadline = time.monotonic() + 60
        while json.load(urllib.request.urlopen(url + "/healthz"))["analyses"]["large"][
                "running"] == 0:
            assert time.monotonic() < deadline and big.is_alive()
            time.sleep(0.05)
        post(url, "second large", large)  # the large lane is full: a quick 503
        post(url, "small", BODY)
        small_done_while_large_ran = big.is_alive()
        big.join(300)
    assert results["second large"][0] == 503 and results["second large"][1] < 5
    assert results["small"][0] == 200
    assert small_done_while_large_ran, results
    assert results["small"][1] < results["large"][1] / 3, results


# ---- the command -------------------------------------------------------------------------
def test_serve_rejects_a_bad_min_confidence():
    from typer.testing import CliRunner

    from propscan.cli.app import app

    result = CliRunner().invoke(app, ["serve", "--min-confidence", "1.5"])
    assert result.exit_code == 2


@needs_model
def test_serve_passes_min_confidence_and_checks_hosts():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "propscan", "serve", "--port", str(port),
                             "--min-confidence", "0.4"], stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = json.load(urllib.request.urlopen(url + "/healthz", timeout=2))
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert health["min_confidence"] == 0.4 and health["model_loaded"] is True
        request = urllib.request.Request(url + "/healthz", headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert caught.value.code == 400
    finally:
        proc.terminate()
        proc.wait(30)
