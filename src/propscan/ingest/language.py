"""Offline language identification (py3langid, model bundled in the package)."""

from __future__ import annotations

__all__ = ["detect_language"]

_MIN_CHARS = 20  # below this, identification is a guess: report nothing


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None when the text is too short to tell."""
    sample = text[:10000]
    if len(sample.strip()) < _MIN_CHARS:
        return None
    import py3langid  # loads its bundled model on first use

    lang, _score = py3langid.classify(sample)
    return str(lang)
