"""propscan's command line: thin commands over the core (parse, call, render)."""

from __future__ import annotations

from propscan.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``propscan`` console script."""
    app()


# Command modules register themselves on `app` when imported.
from propscan.cli import (  # noqa: E402,F401
    adapt,
    analyze,
    batch,
    corrections,
    evaluate,
    ptc,
    semeval,
    serve,
)
