"""The local web app and HTTP API (FastAPI).

* ``GET /``: a form to paste text or upload a .txt/.html/.json file; ``POST /report`` answers
  with the same HTML report as ``propscan analyze --format html``.
* ``GET /api/v1/techniques``, ``POST /api/v1/analyze`` (JSON in, ``Article.to_dict()`` out),
  ``GET /healthz``, ``GET /openapi.json``.

The model loads once, in the lifespan handler; inference runs in the threadpool so the event
loop stays free. Every error is JSON ``{"ok": false, "error": ..., "status": ...}`` on the API
(an HTML page on the form routes); nothing a client sends should produce a 500.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from propscan import __version__
from propscan.doc import Article
from propscan.errors import (
    EmptyInput,
    InputTooLarge,
    InvalidRecord,
    ModelError,
    PropscanError,
    UnsupportedFormat,
)
from propscan.pipeline import Pipeline
from propscan.report.html import csp_hash, render_report
from propscan.techniques import TECHNIQUES

__all__ = ["create_app", "MAX_REQUEST_BYTES"]

log = logging.getLogger("propscan.web")

#: Largest request body accepted (JSON or form upload); an article is at most 5 MiB of text.
MAX_REQUEST_BYTES = 6 * 1024 * 1024
_UPLOAD_SUFFIXES = (".txt", ".text", ".md", ".html", ".htm", ".json", ".jsonl")
_TEXT_FIELDS = ("text", "html", "url", "title", "author", "published", "date", "outlet",
                "site", "id", "language")
_BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_API_CSP = "default-src 'none'; frame-ancestors 'none'"


class ServiceUnavailable(PropscanError):
    """The detection model is not loaded, so analysis cannot run."""

    http_status = 503
    code = "model_unavailable"


class FetchDisabled(PropscanError):
    """URL fetching is off unless the server was started with --allow-fetch."""

    http_status = 403
    code = "fetch_disabled"


def _error_json(message: str, status: int) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message, "status": status}, status_code=status,
                        headers={**_BASE_HEADERS, "Content-Security-Policy": _API_CSP})


def _page(html: str, csp: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers={
        **_BASE_HEADERS, "Content-Security-Policy": csp + "; frame-ancestors 'none'",
        "Cache-Control": "no-store"})


def _index_css() -> str:
    return (resources.files("propscan.web") / "static" / "index.css").read_text(encoding="utf-8")


def _index_page(model_error: str | None, allow_fetch: bool) -> tuple[str, str]:
    """The input form (no script at all) and its CSP."""
    css = _index_css()
    notice = ""
    if model_error:
        notice = (f'<p class="notice" role="status">The detection model is not loaded, so '
                  f"analysis is unavailable: {escape(model_error)}</p>")
    fetch_note = "" if not allow_fetch else (
        '<p class="hint">URL fetching is enabled for the API '
        '(<code>{"url": ...}</code>).</p>')
    html = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>propscan</title>
<style>{css}</style>
</head>
<body>
<main>
<h1>propscan</h1>
<p>Find propaganda techniques in a news article. Everything runs on this machine.</p>
{notice}
<form method="post" action="/report" enctype="multipart/form-data">
<label for="text">Paste the article text</label>
<textarea id="text" name="text" rows="14" placeholder="Title, then the article body..."></textarea>
<label for="file">…or upload a .txt, .html or .json file</label>
<input id="file" name="file" type="file"
 accept=".txt,.html,.htm,.json,.jsonl,text/plain,text/html,application/json">
<label for="title">Title (optional)</label>
<input id="title" name="title" type="text" maxlength="500">
<button type="submit" id="analyze">Analyze</button>
</form>
{fetch_note}
<p class="hint">API: <code>POST /api/v1/analyze</code> with <code>{{"text": "..."}}</code>;
schema at <a href="/openapi.json">/openapi.json</a>. propscan {escape(__version__)}</p>
</main>
</body>
</html>
"""
    csp = (f"default-src 'none'; style-src {csp_hash(css)}; form-action 'self'; "
           "base-uri 'none'")
    return html, csp


def _error_page(message: str, status: int) -> HTMLResponse:
    css = _index_css()
    html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>propscan: error</title><style>{css}</style></head><body><main>"
            f'<h1>Could not analyze</h1><p class="notice" role="alert">{escape(message)}</p>'
            f'<p><a href="/">Back</a></p></main></body></html>')
    return _page(html, f"default-src 'none'; style-src {csp_hash(css)}; base-uri 'none'",
                 status)


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise InputTooLarge(f"request body is over the {limit:,}-byte limit")
        except ValueError:
            raise InvalidRecord("bad Content-Length header") from None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise InputTooLarge(f"request body is over the {limit:,}-byte limit")
    return bytes(body)


def create_app(*, allow_fetch: bool = False, pipeline: Pipeline | None = None,
               max_request_bytes: int = MAX_REQUEST_BYTES) -> FastAPI:
    """Build the app. ``pipeline`` defaults to ``Pipeline()`` (the shipped model)."""
    state: dict[str, Any] = {"pipeline": None, "model_error": None}
    # One analysis at a time: the runtime already uses every core for one article, and this
    # keeps the detector free of concurrent use.
    analyze_lock = threading.Lock()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        chosen = pipeline if pipeline is not None else Pipeline()
        try:
            state["pipeline"] = await run_in_threadpool(chosen.load)
        except PropscanError as err:
            state["model_error"] = err.message
            log.error("model not loaded: %s", err.message)
        except Exception as err:  # a broken model must not stop the server from answering
            state["model_error"] = f"{type(err).__name__}: {err}"
            log.exception("model not loaded")
        yield

    app = FastAPI(title="propscan", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # the docs pages load scripts from a CDN
                  description="Find propaganda techniques in news articles, offline.")

    @app.exception_handler(PropscanError)
    async def _propscan_error(request: Request, err: PropscanError) -> Response:
        status = 503 if isinstance(err, ModelError) else err.http_status
        if request.url.path.startswith("/api/"):
            return _error_json(err.message, status)
        return _error_page(err.message, status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, err: StarletteHTTPException) -> Response:
        return _error_json(str(err.detail), err.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, err: RequestValidationError) -> Response:
        first = err.errors()[0] if err.errors() else {}
        return _error_json(f"invalid request: {first.get('msg', 'bad input')}", 422)

    @app.middleware("http")
    async def _never_crash(request: Request, call_next: Any) -> Response:
        try:
            return await call_next(request)
        except Exception:  # last resort: log it, answer JSON, keep serving
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return _error_json("internal error (please report it)", 500)

    def _analyze(article: Article) -> Article:
        if state["pipeline"] is None:
            raise ServiceUnavailable(
                f"the detection model is not loaded: {state['model_error'] or 'starting up'}")
        with analyze_lock:
            return state["pipeline"].analyze(article)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """Liveness, and whether the model is loaded."""
        ready = state["pipeline"] is not None
        return JSONResponse({"ok": True, "model_loaded": ready, "model_error": state["model_error"],
                             "version": __version__, "fetch_enabled": allow_fetch},
                            headers={**_BASE_HEADERS, "Content-Security-Policy": _API_CSP})

    @app.get("/api/v1/techniques")
    async def techniques() -> JSONResponse:
        """The 14 techniques: PTC label, readable label, definition, colour."""
        return JSONResponse({"ok": True, "techniques": [
            {"name": t.name, "label": t.label, "definition": t.definition, "colour": t.colour}
            for t in TECHNIQUES]}, headers={**_BASE_HEADERS, "Content-Security-Policy": _API_CSP})

    @app.post("/api/v1/analyze", openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "object", "properties": {
            "text": {"type": "string"}, "html": {"type": "string"},
            "url": {"type": "string", "description": "needs serve --allow-fetch"},
            "title": {"type": "string"}, "authors": {"type": "array", "items": {"type": "string"}},
            "published": {"type": "string"}, "outlet": {"type": "string"},
            "id": {"type": "string"}, "language": {"type": "string"}}}}}}})
    async def analyze(request: Request, format: str = "json") -> Response:
        """Analyze one article: JSON with ``text`` or ``html`` (or ``url``) plus metadata.

        Answers ``Article.to_dict()`` (``?format=html`` answers the HTML report instead).
        """
        if format not in ("json", "html"):
            raise InvalidRecord("format must be 'json' or 'html'")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise UnsupportedFormat("send the article as JSON (Content-Type: application/json)")
        body = await _read_body(request, max_request_bytes)
        try:
            record = json.loads(body)
        except (ValueError, UnicodeDecodeError) as err:
            raise InvalidRecord(f"request body is not valid JSON ({err})") from None
        record = _check_record(record)
        if "url" in record and not (isinstance(record.get("text"), str)
                                    or isinstance(record.get("html"), str)):
            record = await _fetch_into(record)
        article = await run_in_threadpool(_ingest_record, record)
        article = await run_in_threadpool(_analyze, article)
        if format == "html":
            report = render_report(article)
            return _page(report.html, _report_csp(report))
        return JSONResponse(article.to_dict(), headers={
            **_BASE_HEADERS, "Content-Security-Policy": _API_CSP})

    def _check_record(record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise InvalidRecord("request body must be a JSON object")
        for key in _TEXT_FIELDS:
            if key in record and record[key] is not None and not isinstance(record[key], str):
                raise InvalidRecord(f"field {key!r} must be a string")
        authors = record.get("authors")
        if authors is not None and not (isinstance(authors, list)
                                        and all(isinstance(a, str) for a in authors)):
            raise InvalidRecord("field 'authors' must be a list of strings")
        if not any(isinstance(record.get(k), str) for k in ("text", "html", "url")):
            raise InvalidRecord("request needs a 'text', 'html' or 'url' field")
        for key in ("text", "html"):
            if isinstance(record.get(key), str) and not record[key].strip():
                raise EmptyInput(f"field {key!r} is empty")
        return record

    async def _fetch_into(record: dict[str, Any]) -> dict[str, Any]:
        if not allow_fetch:
            raise FetchDisabled("URL fetching is disabled; start the server with "
                                "`propscan serve --allow-fetch` or send 'text'/'html'")
        from propscan.web.fetch import fetch_url

        page = await run_in_threadpool(fetch_url, record["url"])
        record = dict(record)
        key = "html" if "html" in page.content_type.lower() or not page.content_type else "text"
        if "text/plain" in page.content_type.lower():
            key = "text"
        record[key] = page.text
        return record

    def _ingest_record(record: dict[str, Any]) -> Article:
        from propscan.ingest import from_record

        article = from_record(record, source="api")
        return article

    def _report_csp(report: Any) -> str:
        return (f"default-src 'none'; style-src {report.style_hash}; "
                f"script-src {report.script_hash}; img-src data:; base-uri 'none'; "
                "form-action 'none'")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        html, csp = _index_page(state["model_error"], allow_fetch)
        return _page(html, csp)

    @app.post("/report", response_class=HTMLResponse, include_in_schema=False)
    async def report(request: Request) -> Response:
        """The form's target: pasted text or an uploaded file -> the HTML report page."""
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_request_bytes:
            raise InputTooLarge(f"request body is over the {max_request_bytes:,}-byte limit")
        try:
            form = await request.form(max_files=1, max_fields=10,
                                      max_part_size=max_request_bytes)
        except StarletteHTTPException as err:
            raise InvalidRecord(f"bad form data: {err.detail}") from None
        except Exception as err:  # multipart parser errors
            raise InvalidRecord(f"bad form data: {type(err).__name__}") from None
        title = form.get("title")
        meta = {"title": title.strip()} if isinstance(title, str) and title.strip() else None
        upload = form.get("file")
        text = form.get("text")
        if upload is not None and not isinstance(upload, str) and upload.filename:
            name = upload.filename
            if not name.lower().endswith(_UPLOAD_SUFFIXES):
                raise UnsupportedFormat(f"{name}: upload a .txt, .html or .json file")
            data = await upload.read(max_request_bytes + 1)
            if len(data) > max_request_bytes:
                raise InputTooLarge(f"{name} is over the {max_request_bytes:,}-byte limit")
            article = await run_in_threadpool(_ingest_upload, data, name, meta)
        elif isinstance(text, str) and text.strip():
            from propscan.ingest import from_text

            article = await run_in_threadpool(lambda: from_text(text, meta=meta,
                                                                source="pasted text"))
        else:
            raise EmptyInput("paste some text or choose a file")
        article = await run_in_threadpool(_analyze, article)
        rendered = render_report(article, home_url="/")
        return _page(rendered.html, _report_csp(rendered))

    def _ingest_upload(data: bytes, name: str, meta: dict[str, Any] | None) -> Article:
        from propscan.ingest import from_bytes

        articles = from_bytes(data, name=name)
        article = articles[0]
        if len(articles) > 1:
            article.warnings.append(f"{name} holds {len(articles)} records; showing the first")
        if meta and meta.get("title"):
            article.meta.title = meta["title"]
        return article

    return app
