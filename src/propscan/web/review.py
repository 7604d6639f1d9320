"""Review over HTTP: reviewers' corrections of the findings of a served corpus database.

* ``POST /api/v1/corpus/articles/{id}/corrections`` with JSON ``{"reviewer", "action",
  "start", "end", "technique", "new_technique"}`` -> 201 ``{"ok": true, "correction": {...}}``;
* ``GET /api/v1/corpus/articles/{id}/corrections`` -> ``{"ok": true, "corrections": [...]}``.

The database is ``request.app.state.corpus`` (a :class:`propscan.corpus.CorpusDatabase`);
every write takes its ``write_lock``, so two tabs reviewing the same article at once lose
nothing. A server started with ``--read-only`` refuses corrections with 403. Errors are raised
as PropscanErrors and rendered by the app's one handler in its standard JSON shape.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt, StrictStr

from propscan.corpus.corrections import (
    ACTIONS,
    MAX_REVIEWER_CHARS,
    Correction,
    add_correction,
    corrections_for,
)
from propscan.errors import ReadOnlyCorpus
from propscan.web.explorer import served_corpus

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/corpus", tags=["corpus review"])


class CorrectionRequest(BaseModel):
    """A reviewer's correction of one article (see :mod:`propscan.corpus.corrections`)."""

    reviewer: StrictStr = Field(max_length=MAX_REVIEWER_CHARS,
                                description="who reviews (required, typed once)")
    action: StrictStr = Field(description=" | ".join(ACTIONS))
    start: StrictInt | None = Field(None, description="offset into the article's text")
    end: StrictInt | None = Field(None, description="offset, exclusive")
    technique: StrictStr | None = Field(None, description="the finding's technique (PTC name)")
    new_technique: StrictStr | None = Field(None, description="relabel: the new technique")


# ``:path``: article ids are often URLs, slashes included
@router.post("/articles/{article_id:path}/corrections", status_code=201)
def post_correction(article_id: str, body: CorrectionRequest, request: Request
                    ) -> JSONResponse:
    """Record one correction (accept, reject, relabel, add, reviewed) of the article."""
    corpus = served_corpus(request)
    if corpus.read_only or getattr(request.app.state, "read_only", False):
        raise ReadOnlyCorpus("this server is read-only (--read-only): review is off")
    correction = Correction(article_id=article_id, reviewer=body.reviewer.strip(),
                            action=body.action, start=body.start, end=body.end,
                            technique=body.technique, new_technique=body.new_technique)
    with corpus.write_lock, corpus.cursor() as cur:
        stored = add_correction(cur, correction)
    return JSONResponse({"ok": True, "correction": stored.to_dict()}, status_code=201)


@router.get("/articles/{article_id:path}/corrections")
def get_corrections(article_id: str, request: Request) -> JSONResponse:
    """The article's corrections, oldest first."""
    with served_corpus(request).cursor() as cur:
        found = corrections_for(cur, article_id)
    return JSONResponse({"ok": True, "corrections": [c.to_dict() for c in found]})
