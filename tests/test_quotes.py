"""The quotation and attribution pass: pairing, speakers, scare quotes, and the labelled set.

The set (tests/data/voice_set.jsonl, invented sentences, see tests/data/README.md) carries the
issue's targets: voice accuracy >= 0.95 and scare quotes the author's >= 0.9. Run with ``-s``
to see the figures.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propscan.ingest.quotes import KINDS, Quotation, find_quotations, voice_at

VOICE_SET = Path(__file__).parent / "data" / "voice_set.jsonl"


def _quoted(text: str) -> list[tuple[str, str | None, str]]:
    """(quoted words, speaker, kind) of each quotation, in order."""
    return [(text[q.start:q.end], q.speaker, q.kind) for q in find_quotations(text)]


def _voice(text: str, fragment: str) -> tuple[str, str | None]:
    start = text.index(fragment)
    return voice_at(find_quotations(text), start, start + len(fragment))


# --- pairing -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, quoted", [
    ('"Enough," he said.', '"Enough,"'),
    ("“Enough,” he said.", "“Enough,”"),
    ('"Enough of this.” he said.', '"Enough of this.”'),  # straight open, curly close
    ("«Assez», he said.", "«Assez»"),
    ("„Genug“, he said.", "„Genug“"),
    ("'Enough,' he said.", "'Enough,'"),
])
def test_marks_pair_across_styles(text: str, quoted: str) -> None:
    assert _quoted(text)[0][:2] == (quoted, "he")


def test_apostrophes_are_not_quotation_marks() -> None:
    text = "The rebels' leader didn't say it's over; the farmers' union wasn't asked."
    assert find_quotations(text) == []


def test_nested_quotes_take_the_outer_speaker() -> None:
    text = "\"They shouted 'traitors' at us,\" the mayor said."
    found = _quoted(text)
    assert found[0] == ("\"They shouted 'traitors' at us,\"", "the mayor", "direct")
    assert found[1] == ("'traitors'", "the mayor", "direct")  # shouted: reported words
    assert _voice(text, "traitors") == ("quoted", "the mayor")
    text = "\"The so-called 'experts' are paid liars,\" the spokesman said."
    assert _quoted(text)[1] == ("'experts'", "the spokesman", "scare")
    assert _voice(text, "experts") == ("quoted", "the spokesman")  # the spokesman's irony


def test_guillemets_hold_curly_quotes() -> None:
    text = "« Ils disent “la guerre, c'est la paix” », the pastor said."
    assert [q[0] for q in _quoted(text)] == ["« Ils disent “la guerre, c'est la paix” »",
                                             "“la guerre, c'est la paix”"]


def test_a_quotation_goes_on_over_paragraphs_that_open_with_a_mark() -> None:
    text = ('The minister said: "We will not negotiate.\n\n"They are criminals.\n\n'
            '"There is no other way."\n\nCritics disagreed.')
    (quote,) = [q for q in find_quotations(text) if q.kind == "direct"]
    assert text[quote.start:quote.end] == text[text.index('"We'):text.index("way.\"") + 5]
    assert quote.speaker == "The minister"
    assert _voice(text, "Critics disagreed") == ("author", None)


def test_an_unclosed_quotation_ends_with_its_paragraph() -> None:
    text = 'He said "we will win the war today\n\nThe army retreated on Monday.'
    assert _quoted(text)[0][0] == '"we will win the war today'
    assert _voice(text, "The army retreated") == ("author", None)


# --- attribution ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, speaker", [
    ('"We will crush them," the general said.', "the general"),
    ('"We will crush them," said the head of the Kessarian Observers.',
     "the head of the Kessarian Observers"),
    ('"We will crush them," Colonel Holt told reporters on Monday.', "Colonel Holt"),
    ('"We will crush them," according to El-Dorar media source.', "El-Dorar media source"),
    ('"We will crush them," as reported by Syrian journalists.', "Syrian journalists"),
    ('The general has repeatedly warned: "We will crush them."', "The general"),
    ('On Friday, the general said "we will crush them all."', "the general"),
    ('Holt, a former colonel, said: "We will crush them."', "Holt"),
    ('The general called the rebels "vermin to be crushed."', "The general"),
])
def test_attribution_before_and_after(text: str, speaker: str) -> None:
    (quote, found, kind) = _quoted(text)[0]
    assert (found, kind) == (speaker, "direct")


def test_an_interrupted_quote_keeps_its_speaker() -> None:
    text = '"We will fight in the hills," he said, "and we will win."'
    assert [q[1] for q in _quoted(text)] == ["he", "he"]


def test_an_unattributed_quote_inherits_the_last_speaker_of_its_paragraph() -> None:
    text = '"We are abandoned," the governor said. "They took everything from us."'
    assert [q[1] for q in _quoted(text)] == ["the governor", "the governor"]


def test_a_standalone_quote_has_no_speaker() -> None:
    assert _voice('"Those who betray us will pay with their blood."', "pay with") == \
        ("quoted", None)


@pytest.mark.parametrize("text, clause, speaker", [
    ("The minister said that the protesters were paid agents.",
     "the protesters were paid agents", "The minister"),
    ("Colonel Aziz claimed the rebels had used human shields.",
     "the rebels had used human shields", "Colonel Aziz"),
    ("The rebels massacred dozens of villagers, officials said.",
     "The rebels massacred dozens of villagers", "officials"),
    ("According to state media, the terrorist gangs fled at dawn.",
     "the terrorist gangs fled at dawn", "state media"),
    ("The militia shelled the town, as reported by local sources.",
     "The militia shelled the town", "local sources"),
])
def test_indirect_speech_covers_the_reported_clause(text: str, clause: str, speaker: str) -> None:
    indirect = [q for q in find_quotations(text) if q.kind == "indirect"]
    assert [(text[q.start:q.end], q.speaker) for q in indirect] == [(clause, speaker)]


@pytest.mark.parametrize("text", [
    "Some say the election was rigged from the start.",
    "It is claimed that the hospital was a military base.",
    "The town had 40,000 people before the war, according to the last census.",
    "He said nothing about the fire in the old town.",
    "The minister, a man of no principles, betrayed the voters again.",
])
def test_no_explicit_source_no_reported_speech(text: str) -> None:
    assert find_quotations(text) == []


# --- scare quotes and voice ----------------------------------------------------------------

@pytest.mark.parametrize("text, label", [
    ("The so-called “revolution” brought only hunger.", "“revolution”"),
    ("The notorious “White Helmets” appeared again.", "“White Helmets”"),
    ('The "rebels" had foreign rifles and foreign money.', '"rebels"'),
    ('The so-called "experts" told the committee that nothing could be done.', '"experts"'),
    ("The self-proclaimed «guardians of democracy» never held a vote.",
     "«guardians of democracy»"),
])
def test_scare_quotes_are_the_authors(text: str, label: str) -> None:
    assert (label, None, "scare") in _quoted(text)
    assert _voice(text, label.strip("\"“”«»")) == ("author", None)


def test_a_short_attributed_quote_is_not_a_scare_quote() -> None:
    assert _quoted('The strike was "an act of war," the president said.')[0][1:] == \
        ("the president", "direct")
    assert _quoted('"Absolutely not," Mr Tiller said.')[0][1:] == ("Mr Tiller", "direct")


def test_voice_needs_half_the_fragment_inside_a_quotation() -> None:
    quotes = [Quotation(10, 20, "the minister", "direct"), Quotation(30, 34, None, "scare")]
    assert voice_at(quotes, 15, 25) == ("quoted", "the minister")  # 5 of 10 characters
    assert voice_at(quotes, 16, 27) == ("author", None)  # 4 of 11 characters
    assert voice_at(quotes, 30, 34) == ("author", None)  # scare quotes are the author's
    assert voice_at(quotes, 12, 12) == ("quoted", "the minister")  # an empty fragment: its point
    assert voice_at([], 0, 5) == ("author", None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list('ab ,.:\n"“”„«»\'‘’') + [" said ", "the minister ",
                                                                " so-called ", " that "]),
                max_size=120).map("".join))
def test_quotations_are_well_formed_on_any_text(text: str) -> None:
    for q in find_quotations(text):
        assert 0 <= q.start < q.end <= len(text)
        assert q.kind in KINDS
        assert q.speaker is None or q.speaker.strip() == q.speaker != ""


def test_a_text_without_full_stops_stays_linear() -> None:
    text = 'the minister said "a b c" and ' * 8000  # 240,000 characters, one sentence
    began = time.perf_counter()
    assert len(find_quotations(text)) >= 8000
    assert time.perf_counter() - began < 10  # ~1 s; a quadratic pass took ~30 s


# --- the labelled set ----------------------------------------------------------------------

def _load_set() -> list[dict[str, Any]]:
    return [json.loads(line) for line in VOICE_SET.read_text(encoding="utf-8").splitlines()]


def voice_figures(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Voice accuracy, speaker exact match (case-insensitive, among all cases), scare quotes
    kept as the author's, and precision/recall of "quoted"."""
    right = speaker_right = scare_right = scares = tp = fp = fn = 0
    for row in rows:
        voice, speaker = voice_at(find_quotations(row["text"]), row["start"], row["end"])
        right += voice == row["voice"]
        speaker_right += voice == row["voice"] and \
            (speaker or "").lower() == (row["speaker"] or "").lower()
        scares += row["scare"]
        scare_right += row["scare"] and voice == "author"
        tp += voice == row["voice"] == "quoted"
        fp += voice == "quoted" != row["voice"]
        fn += row["voice"] == "quoted" != voice
    return {"cases": len(rows), "voice_accuracy": right / len(rows),
            "speaker_accuracy": speaker_right / len(rows),
            "scare_author": scare_right / scares if scares else 1.0, "scares": scares,
            "quoted_precision": tp / (tp + fp) if tp + fp else 1.0,
            "quoted_recall": tp / (tp + fn) if tp + fn else 1.0}


def test_the_labelled_set_is_what_the_issue_asks_for() -> None:
    rows = _load_set()
    assert all(row["text"][row["start"]:row["end"]] == row["probe"] for row in rows)
    assert {row["voice"] for row in rows} == {"quoted", "author"}
    quotations = [row for row in rows if row["voice"] == "quoted" or row["scare"]]
    assert len(quotations) >= 160
    assert sum(row["scare"] for row in rows) >= 40
    assert sum(row["split"] != "dev" for row in rows) >= 40


def test_voice_on_the_labelled_set_reaches_the_targets() -> None:
    rows = _load_set()
    by_split: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_split[row["split"]].append(row)
    figures = {"all": voice_figures(rows)} | {k: voice_figures(v) for k, v in by_split.items()}
    for name, fig in figures.items():
        print(f"{name:9} cases {fig['cases']:3}  voice {fig['voice_accuracy']:.3f}  "
              f"speaker {fig['speaker_accuracy']:.3f}  scare-as-author {fig['scare_author']:.3f} "
              f"({fig['scares']})  quoted P {fig['quoted_precision']:.3f} "
              f"R {fig['quoted_recall']:.3f}")
    for name in ("all", "heldout2"):
        assert figures[name]["voice_accuracy"] >= 0.95, name
        assert figures[name]["scare_author"] >= 0.9, name
