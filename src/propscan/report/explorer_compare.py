"""The compare page's form and the names of its two sides (A and B)."""

from __future__ import annotations

from html import escape

from propscan.corpus.queries import CorpusFilter

__all__ = ["compare_form", "side_name"]


def side_name(tag: str, side: CorpusFilter) -> str:
    """``A: outlet X, 2024-01-01 to 2024-06-30`` (what sets the side apart)."""
    parts = [f"outlet {side.outlet}" if side.outlet else "all outlets"]
    if side.date_from or side.date_to:
        parts.append(f"{side.date_from or '…'} to {side.date_to or '…'}")
    return f"{tag}: {', '.join(parts)}"


def compare_form(base: CorpusFilter, *values: str | None) -> str:
    """The form that picks an outlet and a period for each side; the rest of the current
    filter travels along as hidden fields."""
    names = ("a_outlet", "b_outlet", "a_from", "a_to", "b_from", "b_to")
    labels = ("A: outlet", "B: outlet", "A: from", "A: to", "B: from", "B: to")
    fields = "".join(
        f'<label>{label}<input type="{"text" if "outlet" in name else "date"}" name="{name}" '
        f'value="{escape(value or "")}"></label>'
        for name, label, value in zip(names, labels, values, strict=True))
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                     for k, v in base.params())
    return (f'<form class="filters" method="get" action="/corpus/compare">{hidden}{fields}'
            '<button type="submit">Compare</button></form>'
            '<p class="muted">Two outlets, or two periods (of one outlet or all): each side '
            "keeps the rest of the current filter.</p>")
