"""The local web app and HTTP API (FastAPI), over :class:`propscan.pipeline.Pipeline`.

* ``GET /``: a form to paste text or upload a file; ``POST /report`` answers with the same HTML
  report as ``propscan analyze --format html``.
* ``GET /api/v1/techniques``, ``POST /api/v1/analyze`` (JSON in, ``Article.to_dict()`` out),
  ``GET /healthz``, ``GET /openapi.json``.

The app only moves requests to the core: records go through ``check_record`` and
``Pipeline.analyze_record``, uploads through ``Pipeline.analyze_bytes``; which reader an input
needs is decided in :mod:`propscan.ingest`. The model loads once, in the lifespan handler, and
is closed there on shutdown. What bounds a request (body cap, analysis lanes, Host check) is in
:mod:`propscan.web.limits`. Every error is JSON ``{"ok": false, "error", "status", "code"}`` on
the API (an HTML page on the form routes); nothing a client sends should produce a 500.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from propscan import __version__
from propscan.corpus.database import CorpusDatabase
from propscan.doc import Article
from propscan.errors import (
    ConfigError,
    EmptyInput,
    FetchDisabled,
    InvalidRecord,
    ModelError,
    ModelUnavailable,
    PropscanError,
    ServerBusy,
    UnsupportedFormat,
)
from propscan.ingest.formats import ANALYZE_SUFFIXES, suffix_of
from propscan.ingest.records import check_record, loads
from propscan.pipeline import DEFAULT_MIN_CONFIDENCE, Pipeline
from propscan.report.html import render_report
from propscan.techniques import (
    SEMEVAL_TECHNIQUE_NAMES,
    TECHNIQUES,
    category_colour,
    get_semeval_technique,
)
from propscan.web.limits import (
    AnalysisLane,
    WebLimits,
    allowed_hosts,
    check_host,
    read_body,
    with_min_confidence,
)
from propscan.web.pages import (
    API_CSP,
    BASE_HEADERS,
    answers_with_page,
    error_json,
    error_page,
    index_page,
    page,
    report_csp,
)

__all__ = ["create_app", "WebLimits"]

log = logging.getLogger("propscan.web")
T = TypeVar("T")
_RECORD_SCHEMA = {"type": "object", "properties": {
    "text": {"type": "string"}, "html": {"type": "string"},
    "url": {"type": "string", "description": "needs serve --allow-fetch"},
    "title": {"type": "string"}, "authors": {"type": "array", "items": {"type": "string"}},
    "published": {"type": "string"}, "outlet": {"type": "string"},
    "id": {"type": "string"}, "language": {"type": "string"},
    "min_confidence": {"type": "number", "minimum": 0, "maximum": 1,
                       "description": "leave out findings below this confidence"}}}


def create_app(*, allow_fetch: bool = False, pipeline: Pipeline | None = None,
               min_confidence: float | None = None, limits: WebLimits | None = None,
               bound_host: str = "127.0.0.1", trusted_hosts: Iterable[str] = (),
               corpus: CorpusDatabase | None = None, read_only: bool = False) -> FastAPI:
    """Build the app. ``pipeline`` defaults to ``Pipeline()`` (the shipped model);
    ``min_confidence`` is the default threshold (else the pipeline's); ``bound_host`` and
    ``trusted_hosts`` decide which Host headers are answered (loopback names always).
    ``corpus`` serves a batch database at ``/corpus`` (opened in the lifespan unless open
    already, closed there); ``read_only`` turns review off."""
    limits = limits or WebLimits()
    default_threshold = _min_confidence(
        min_confidence if min_confidence is not None
        else pipeline.min_confidence if pipeline is not None else DEFAULT_MIN_CONFIDENCE,
        "min_confidence", ConfigError)
    hosts = allowed_hosts(bound_host, trusted_hosts)
    state: dict[str, Any] = {"lanes": None, "model_error": None}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if corpus is not None and corpus.con_ is None:
            await run_in_threadpool(corpus.open)
        large = pipeline if pipeline is not None else Pipeline()
        # the small lane has a session and worker threads of its own, so its windows never
        # queue behind a large article's on the large lane's threads
        small = Pipeline(model_dir=large.model_dir, threads=large.threads, detect=large.detect,
                         min_confidence=large.min_confidence)
        try:
            await run_in_threadpool(large.load)
            await run_in_threadpool(small.load)
            state["lanes"] = (
                AnalysisLane("small", small, waiting=limits.small_waiting,
                             max_wait_s=limits.small_max_wait_s),
                AnalysisLane("large", large, waiting=limits.large_waiting,
                             max_wait_s=limits.large_max_wait_s))
        except PropscanError as err:
            state["model_error"] = err.message
            log.error("model not loaded: %s", err.message)
        except Exception as err:  # a broken model must not stop the server from answering
            state["model_error"] = f"{type(err).__name__}: {err}"
            log.exception("model not loaded")
        try:
            yield
        finally:
            # an adapted model switched in (propscan.web.adapt_jobs) is closed here too
            served = [lane.pipeline for lane in state["lanes"] or ()]
            state["lanes"] = None
            for loaded in (small, large, *served):
                await run_in_threadpool(loaded.close)
            if corpus is not None:
                await run_in_threadpool(corpus.close)

    app = FastAPI(title="propscan", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # the docs pages load scripts from a CDN
                  description="Find propaganda techniques in news articles, offline.")
    app.state.corpus = corpus
    app.state.read_only = read_only or (corpus is not None and corpus.read_only)
    app.state.serving = state  # the lanes, whose pipelines an adapted model replaces
    if corpus is not None:
        from propscan.web import explorer, review

        # review first: its .../{id:path}/corrections routes must match before the
        # explorer's /api/v1/corpus/articles/{id:path}
        app.include_router(review.router)
        app.include_router(explorer.router)
        if not app.state.read_only:  # a read-only server has no adapt routes (404)
            from propscan.web import adapt_jobs

            app.state.adapt_jobs = adapt_jobs.AdaptJobs(corpus)
            app.include_router(adapt_jobs.router)

    @app.exception_handler(PropscanError)
    async def _propscan_error(request: Request, err: PropscanError) -> Response:
        status = 503 if isinstance(err, ModelError) else err.http_status
        headers = ({"Retry-After": str(err.retry_after_s)} if isinstance(err, ServerBusy)
                   else None)
        if _page_wanted(request):
            return error_page(err.message, status, headers, request.url.path)
        return error_json(err.message, status, err.code, headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException) -> Response:
        if _page_wanted(request):
            return error_page(str(err.detail), err.status_code, path=request.url.path)
        return error_json(str(err.detail), err.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, err: RequestValidationError) -> Response:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"invalid request: {where}: {first.get('msg', 'bad input')}"
        if _page_wanted(request):
            return error_page(message, 422, path=request.url.path)
        return error_json(message, 422, "invalid_request")

    @app.middleware("http")
    async def _guard(request: Request, call_next: Any) -> Response:
        """Host check first; security headers on every response (/openapi.json too); and
        the last resort: an unexpected error is logged and answered as JSON."""
        try:
            check_host(request.headers.get("host"), hosts)
        except PropscanError as err:
            return error_json(err.message, err.http_status, err.code)
        try:
            response: Response = await call_next(request)
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return error_json("internal error (please report it)", 500, "internal_error")
        for name, value in (*BASE_HEADERS.items(), ("Content-Security-Policy", API_CSP)):
            response.headers.setdefault(name, value)
        return response

    async def run_analysis(size: int, work: Callable[[Pipeline], T]) -> T:
        """``work`` on the lane for a request of ``size`` bytes."""
        lanes = state["lanes"]
        if lanes is None:
            raise ModelUnavailable(
                f"the detection model is not loaded: {state['model_error'] or 'starting up'}")
        small, large = lanes
        return await (small if size <= limits.small_request_bytes else large).run(work)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """Liveness, whether the model is loaded (and which serves), and how busy the
        analysis lanes are."""
        lanes = state["lanes"] or ()
        info = lanes[-1].pipeline.model_info if lanes else {}
        return JSONResponse({
            "ok": True, "model_loaded": bool(lanes), "model_error": state["model_error"],
            "model": {"name": info["name"], "version": info["version"]} if info else None,
            "version": __version__, "fetch_enabled": allow_fetch,
            "min_confidence": default_threshold,
            "analyses": {lane.name: lane.state for lane in lanes}})

    @app.get("/api/v1/techniques")
    async def techniques() -> JSONResponse:
        """Both taxonomies: the 14 PTC techniques (label, definition, colour) and SemEval-2023's
        23 in 6 categories (label, category, definition; the category's colour)."""
        return JSONResponse({"ok": True, "techniques": [
            {"name": t.name, "label": t.label, "definition": t.definition, "colour": t.colour}
            for t in TECHNIQUES], "techniques_2023": [
            {"name": t.name, "label": t.label, "category": t.category,
             "definition": t.definition, "colour": category_colour(t.category)}
            for t in map(get_semeval_technique, SEMEVAL_TECHNIQUE_NAMES)]})

    @app.post("/api/v1/analyze", openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": _RECORD_SCHEMA}}}})
    async def analyze(request: Request, format: str = "json",
                      min_confidence: Annotated[float | None, Query(
                          ge=0, le=1, description="overrides the body's min_confidence")
                      ] = None) -> Response:
        """Analyze one article: JSON with ``text`` or ``html`` (or ``url``) plus metadata.

        Answers ``Article.to_dict()`` (``?format=html`` answers the HTML report instead).
        """
        if format not in ("json", "html"):
            raise InvalidRecord("format must be 'json' or 'html'")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise UnsupportedFormat("send the article as JSON (Content-Type: application/json)")
        body = await read_body(request, limits)
        record = loads(body, what="request body")
        threshold = default_threshold
        if isinstance(record, dict) and "min_confidence" in record:
            threshold = _min_confidence(record.pop("min_confidence"), "field 'min_confidence'")
        if min_confidence is not None:
            threshold = _min_confidence(min_confidence, "query parameter 'min_confidence'")
        size = len(body)
        if isinstance(record, dict) and "url" in record and not (
                isinstance(record.get("text"), str) or isinstance(record.get("html"), str)):
            record, size = await fetch_into(record)
        record = check_record(record, "request body")
        article = await run_analysis(size, lambda p: with_min_confidence(
            p, threshold).analyze_record(record, source="api"))
        if format == "html":
            report = render_report(article)
            return page(report.html, report_csp(report))
        return JSONResponse(article.to_dict())

    async def fetch_into(record: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """The record with the page at its ``url`` as ``html`` or ``text``, and its size."""
        if not allow_fetch:
            raise FetchDisabled("URL fetching is disabled; start the server with "
                                "`propscan serve --allow-fetch` or send 'text'/'html'")
        from propscan.errors import FetchRefused
        from propscan.web.fetch import fetch_url

        if not isinstance(record["url"], str):
            raise FetchRefused("field 'url' must be a string")
        fetched = await run_in_threadpool(fetch_url, record["url"])
        content_type = fetched.content_type.lower()
        key = "text" if "text/plain" in content_type else "html"
        return {**record, key: fetched.text}, len(fetched.text.encode("utf-8", "replace"))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        html, csp = index_page(state["model_error"], allow_fetch, default_threshold)
        return page(html, csp)

    @app.post("/report", response_class=HTMLResponse, include_in_schema=False)
    async def report(request: Request) -> Response:
        """The form's target: pasted text or an uploaded file -> the HTML report page."""
        body = await read_body(request, limits)
        form = await _parse_form(request, body, limits)
        title = form.get("title")
        title = title.strip() if isinstance(title, str) else ""
        threshold = _form_min_confidence(form.get("min_confidence"), default_threshold)
        upload = form.get("file")
        text = form.get("text")
        if upload is not None and not isinstance(upload, str) and upload.filename:
            name = upload.filename
            if suffix_of(name) not in ANALYZE_SUFFIXES:
                raise UnsupportedFormat(f"{name}: upload one of "
                                        f"{', '.join(ANALYZE_SUFFIXES)}")
            data = await upload.read()
            articles = await run_analysis(len(body), lambda p: with_min_confidence(
                p, threshold).analyze_bytes(data, name=name))
            article = _first(articles, name)
            if title:
                article.meta.title = title
        elif isinstance(text, str) and text.strip():
            record = check_record({"text": text, **({"title": title} if title else {})},
                                  "form")
            article = await run_analysis(len(body), lambda p: with_min_confidence(
                p, threshold).analyze_record(record, source="pasted text"))
        else:
            raise EmptyInput("paste some text or choose a file")
        rendered = render_report(article, home_url="/")
        return page(rendered.html, report_csp(rendered))

    return app


def _min_confidence(value: object, where: str,
                    error: type[PropscanError] = InvalidRecord) -> float:
    """A threshold: a number from 0 to 1 (not a string, not a boolean), else ``error``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and 0 <= value <= 1):
        raise error(f"{where} must be a number from 0 to 1, got {str(value)[:40]!r}")
    return float(value)


def _form_min_confidence(field: object, default: float) -> float:
    """The form's threshold field (text); empty means the server's default."""
    if not isinstance(field, str) or not field.strip():
        return default
    try:
        return _min_confidence(float(field), "min_confidence")
    except ValueError:
        raise InvalidRecord(f"min_confidence must be a number from 0 to 1, got "
                            f"{field[:40]!r}") from None


async def _parse_form(request: Request, body: bytes, limits: WebLimits) -> FormData:
    """The form from a body already read within the cap (nothing streams to disk beyond it)."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(request.scope, receive=replay).form(
            max_files=1, max_fields=10, max_part_size=limits.max_request_bytes)
    except StarletteHTTPException as err:
        raise InvalidRecord(f"bad form data: {err.detail}") from None
    except Exception as err:  # multipart parser errors
        raise InvalidRecord(f"bad form data: {type(err).__name__}") from None


def _first(articles: list[Article], name: str) -> Article:
    if not articles:
        raise EmptyInput(f"{name} holds no article")
    article = articles[0]
    if len(articles) > 1:
        article.warnings.append(f"{name} holds {len(articles)} records; showing the first")
    return article


def _page_wanted(request: Request) -> bool:
    return answers_with_page(request.url.path, request.method,
                             request.headers.get("accept", ""))
