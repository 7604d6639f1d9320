"""The local web app and HTTP API. ``create_app()`` builds it; ``propscan serve`` runs it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app"]


def create_app(**kwargs: Any) -> FastAPI:
    """Build the FastAPI app (imported lazily so ``import propscan.web`` stays light)."""
    from propscan.web.app import create_app as _create_app

    return _create_app(**kwargs)
