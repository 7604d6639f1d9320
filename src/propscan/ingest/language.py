"""Offline language identification (py3langid, model bundled in the package).

Loading py3langid's model takes about half a second (an LZMA archive), which every
``propscan analyze`` would pay; text that is plainly English (one word in thirty is "the",
which no other language writes) is called English without it.
"""

from __future__ import annotations

import re

__all__ = ["detect_language"]

_MIN_CHARS = 20  # below this, identification is a guess: report nothing
_WORD = re.compile(r"[^\W\d_]+")
_MIN_WORDS_FOR_SHORTCUT = 40
_THE_SHARE = 1 / 30  # "the" is about one English word in fifteen; other languages lack it
_FUNCTION_SHARE = 0.12  # "the", "and", "of", "to", "a", "in": about a fifth of English words
_FUNCTION_WORDS = frozenset({"the", "and", "of", "to", "a", "in"})


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None when the text is too short to tell."""
    sample = text[:10000]
    if len(sample.strip()) < _MIN_CHARS:
        return None
    if _plainly_english(sample):
        return "en"
    import py3langid  # loads its bundled model on first use

    lang, _score = py3langid.classify(sample)
    return str(lang)


def _plainly_english(sample: str) -> bool:
    words = [w.lower() for w in _WORD.findall(sample)]
    if len(words) < _MIN_WORDS_FOR_SHORTCUT:
        return False
    the = words.count("the")
    function = sum(1 for w in words if w in _FUNCTION_WORDS)
    return the >= _THE_SHARE * len(words) and function >= _FUNCTION_SHARE * len(words)
