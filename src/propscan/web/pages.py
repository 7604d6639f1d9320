"""The web app's responses: the input form, error pages and JSON errors, with their headers.

Every response carries :data:`BASE_HEADERS` and a Content-Security-Policy; pages that need
no script get none, and the report page allows only its own script by hash.
"""

from __future__ import annotations

from html import escape
from importlib import resources
from typing import Any

from fastapi.responses import HTMLResponse, JSONResponse

from propscan import __version__
from propscan.ingest.formats import ANALYZE_SUFFIXES
from propscan.report.html import csp_hash

__all__ = ["BASE_HEADERS", "API_CSP", "error_json", "error_page", "page", "index_page",
           "report_csp"]

BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def error_json(message: str, status: int, code: str = "error",
               headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message, "status": status, "code": code},
                        status_code=status, headers={
                            **BASE_HEADERS, "Content-Security-Policy": API_CSP,
                            **(headers or {})})


def page(html: str, csp: str, status: int = 200,
         headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers={
        **BASE_HEADERS, "Content-Security-Policy": csp + "; frame-ancestors 'none'",
        "Cache-Control": "no-store", **(headers or {})})


def _css() -> str:
    return (resources.files("propscan.web") / "static" / "index.css").read_text(encoding="utf-8")


def index_page(model_error: str | None, allow_fetch: bool, min_confidence: float
               ) -> tuple[str, str]:
    """The input form (no script at all) and its CSP."""
    css = _css()
    notice = ""
    if model_error:
        notice = (f'<p class="notice" role="status">The detection model is not loaded, so '
                  f"analysis is unavailable: {escape(model_error)}</p>")
    fetch_note = "" if not allow_fetch else (
        '<p class="hint">URL fetching is enabled for the API '
        '(<code>{"url": ...}</code>).</p>')
    accept = ",".join((*ANALYZE_SUFFIXES, "text/plain", "text/html", "application/json"))
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
<input id="file" name="file" type="file" accept="{escape(accept)}">
<label for="title">Title (optional)</label>
<input id="title" name="title" type="text" maxlength="500">
<label for="min_confidence">Leave out findings below this confidence
 (0 to 1; default {min_confidence:g})</label>
<input id="min_confidence" name="min_confidence" type="number" min="0" max="1" step="0.01"
 value="{min_confidence:g}">
<button type="submit" id="analyze">Analyze</button>
</form>
<p class="hint">Confidence is calibrated: of findings at 0.3, about three in ten are real
findings of their technique.</p>
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


#: the explorer's HTML pages, whose errors a browser should see as a page, not as JSON
_EXPLORER_PAGES = ("/corpus", "/corpus/charts", "/corpus/compare")


def answers_with_page(path: str, method: str, accept: str) -> bool:
    """Whether an error on this request is shown as an HTML page: the analyze form's
    report, or a browser's GET of an explorer page (the API and exports keep JSON)."""
    if path == "/report":
        return True
    explorer = path in _EXPLORER_PAGES or path.startswith("/corpus/articles/")
    return explorer and method == "GET" and "text/html" in accept


def error_page(message: str, status: int, headers: dict[str, str] | None = None,
               path: str = "/report") -> HTMLResponse:
    css = _css()
    heading, back = (("Could not analyze", "/") if path == "/report" else
                     ("Not found" if status == 404 else "Could not show this page", "/corpus"))
    html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>propscan: error</title><style>{css}</style></head><body><main>"
            f'<h1>{heading}</h1><p class="notice" role="alert">{escape(message)}</p>'
            f'<p><a href="{back}">Back</a></p></main></body></html>')
    return page(html, f"default-src 'none'; style-src {csp_hash(css)}; base-uri 'none'",
                status, headers)


def report_csp(report: Any) -> str:
    return (f"default-src 'none'; style-src {report.style_hash}; "
            f"script-src {report.script_hash}; img-src data:; base-uri 'none'; "
            "form-action 'none'")
