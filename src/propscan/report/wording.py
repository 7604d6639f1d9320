"""Words a reader sees beside the figures, shared by the terminal and the HTML report."""

from __future__ import annotations

from propscan.detect.scoring import SHORT_TEXT_WORDS
from propscan.doc import Article, Finding
from propscan.techniques import get_semeval_technique, get_technique

__all__ = ["short_text_note", "ordinal", "reason_cue", "voice_note", "finding_name",
           "semeval_name", "CONFIDENCE_NOTE",
           "MODEL_SCORE_NOTE", "SCORES_NOTE", "AUTHOR_VOICE", "QUOTED_NOTE"]

#: What a finding's confidence means (shown beside every finding).
CONFIDENCE_NOTE = ("confidence: the calibrated probability that the fragment is a real finding "
                   "of that technique (fitted on held-out folds)")
#: What the "model score" in a finding's reason means.
MODEL_SCORE_NOTE = ("model score: the span model's uncalibrated p(real fragment), before the "
                    "technique is chosen")
#: Both, as one note under a list of findings.
SCORES_NOTE = f"{CONFIDENCE_NOTE[0].upper()}{CONFIDENCE_NOTE[1:]}; {MODEL_SCORE_NOTE}."
#: How a report names the figures over the author's findings only (``scores["author"]``).
AUTHOR_VOICE = "the author's own words"
#: What a quoted finding is, beside the control that hides them.
QUOTED_NOTE = ("Quoted findings lie in quotations or reported speech: the words are the "
               "source's, reported by the author.")


def no_findings_note(article: Article) -> str:
    """What to say when an article has no finding: none found, or none looked for."""
    if article.analysed:
        return "No propaganda techniques were found."
    language = article.meta.language
    if language and language != "en":
        return (f"Not analysed for techniques: the article's language is {language!r} and the "
                "detector reads English only.")
    return "Not analysed for techniques (detection was not run)."


def voice_note(voice: str, speaker: str | None) -> str | None:
    """The words "quoted: SPEAKER" (or "quoted (no named source)") for a finding in reported
    speech; None for one in the author's own voice."""
    if voice != "quoted":
        return None
    return f"quoted: {speaker}" if speaker else "quoted (no named source)"


def short_text_note(words: int) -> str | None:
    """The caution a report shows beside the figures of an article under
    :data:`~propscan.detect.scoring.SHORT_TEXT_WORDS` body words; None for longer ones."""
    if words >= SHORT_TEXT_WORDS:
        return None
    if words <= 0:
        return "No words in the body: there are no rates to compare."
    return (f"Only {words} word{'' if words == 1 else 's'}: one fragment more or less moves "
            f"the rate by {1000 / words:.1f} per 1,000 words, so under {SHORT_TEXT_WORDS} words "
            "these figures and ranks are rough.")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 92nd, 100th (percentile ranks as words)."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def reason_cue(reason: str, label: str, definition: str) -> str:
    """A finding's reason without the leading "Label: definition" that a report already shows
    beside it (the detector writes reasons as "Label: definition Cue: ...; confidence C.")."""
    for prefix in (f"{label}: {definition}", f"{label}:"):
        if reason.startswith(prefix):
            return reason[len(prefix):].strip()
    return reason


def semeval_name(finding: Finding) -> tuple[str, str] | None:
    """(technique, category) of a finding in the SemEval-2023 taxonomy, the category looked up
    when the finding lacks it; None when the finding has no SemEval-2023 technique."""
    if not finding.technique_2023:
        return None
    category = finding.category_2023
    if not category:
        try:
            category = get_semeval_technique(finding.technique_2023).category
        except KeyError:
            category = "unknown category"
    return finding.technique_2023, category


def finding_name(finding: Finding) -> str:
    """A finding named in both taxonomies when it has a SemEval-2023 technique ("Loaded
    language · Manipulative wording: Loaded_Language"), else by its PTC-14 label."""
    try:
        label = get_technique(finding.technique).label
    except KeyError:
        label = finding.technique
    named = semeval_name(finding)
    return f"{label} · {named[1]}: {named[0]}" if named else label
