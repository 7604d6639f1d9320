"""The SemEval-2023 taxonomy: 23 names as the task spells them, each with a definition, a
category and a colour; 6 category colours people tell apart; the PTC-14 correspondence."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import pytest

from propscan.techniques import (
    PTC_TO_SEMEVAL,
    SEMEVAL_CATEGORIES,
    SEMEVAL_TECHNIQUE_NAMES,
    TECHNIQUE_NAMES,
    SemevalTechnique,
    category_colour,
    get_semeval_technique,
)
from tests.conftest import SHARED
from tests.test_report_html import _ciede2000, _lab

SEMEVAL_SPANS = SHARED / "data" / "semeval2023-en-train" / "train-labels-subtask-3-spans.txt"


def _luminance(colour: str) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_23_techniques_in_6_categories_each_with_definition_category_and_colour():
    assert len(SEMEVAL_TECHNIQUE_NAMES) == 23 == len(set(SEMEVAL_TECHNIQUE_NAMES))
    assert SEMEVAL_CATEGORIES == ("Attack on reputation", "Justification", "Simplification",
                                  "Distraction", "Call", "Manipulative wording")
    definitions = set()
    for name in SEMEVAL_TECHNIQUE_NAMES:
        t = get_semeval_technique(name)
        assert isinstance(t, SemevalTechnique) and t.name == name
        assert t.label and "_" not in t.label
        assert len(t.definition.split()) >= 8 and t.definition.endswith("."), name
        definitions.add(t.definition)
        assert t.category in SEMEVAL_CATEGORIES
        assert re.fullmatch(r"#[0-9a-f]{6}", category_colour(t.category))
    assert len(definitions) == 23
    per_category = Counter(get_semeval_technique(n).category for n in SEMEVAL_TECHNIQUE_NAMES)
    assert per_category == {"Attack on reputation": 5, "Justification": 5, "Simplification": 3,
                            "Distraction": 3, "Call": 3, "Manipulative wording": 4}
    # the task's order lists a category's techniques together
    runs = [c for c, _ in itertools.groupby(get_semeval_technique(n).category
                                            for n in SEMEVAL_TECHNIQUE_NAMES)]
    assert len(runs) == 6


def test_names_are_spelt_as_in_the_semeval_2023_label_files():
    for name in ("Name_Calling-Labeling", "Appeal_to_Fear-Prejudice", "False_Dilemma-No_Choice",
                 "Questioning_the_Reputation", "Appeal_to_Time", "Appeal_to_Values",
                 "Consequential_Oversimplification", "Obfuscation-Vagueness-Confusion"):
        assert name in SEMEVAL_TECHNIQUE_NAMES
    if not SEMEVAL_SPANS.exists():
        pytest.skip("../shared/data/semeval2023-en-train is not beside the checkout")
    with open(SEMEVAL_SPANS, encoding="utf-8") as fh:
        used = {line.split("\t")[1] for line in fh if line.strip()}
    assert len(used) == 19 and used <= set(SEMEVAL_TECHNIQUE_NAMES)


def test_unknown_names_raise_key_error():
    with pytest.raises(KeyError):
        get_semeval_technique("Loaded language")
    with pytest.raises(KeyError):
        get_semeval_technique("Name_Calling,Labeling")  # the PTC spelling
    with pytest.raises(KeyError):
        category_colour("Attack")


def test_category_colours_differ_at_a_glance_and_carry_black_text():
    colours = {c: category_colour(c) for c in SEMEVAL_CATEGORIES}
    assert len(set(colours.values())) == 6
    closest = min((_ciede2000(_lab(colours[a]), _lab(colours[b])), a, b)
                  for a, b in itertools.combinations(colours, 2))
    assert closest[0] >= 20, closest  # 10 already tells two colours apart at a glance
    for category, colour in colours.items():  # WCAG AAA contrast with black text
        assert (_luminance(colour) + 0.05) / 0.05 >= 7, category


def test_every_ptc_technique_maps_to_semeval_names():
    assert set(PTC_TO_SEMEVAL) == set(TECHNIQUE_NAMES)
    for ptc, names in PTC_TO_SEMEVAL.items():
        assert names and len(set(names)) == len(names), ptc
        assert set(names) <= set(SEMEVAL_TECHNIQUE_NAMES), ptc
    # renames are one to one; the merged PTC classes split
    assert PTC_TO_SEMEVAL["Name_Calling,Labeling"] == ("Name_Calling-Labeling",)
    assert PTC_TO_SEMEVAL["Thought-terminating_Cliches"] == ("Conversation_Killer",)
    assert set(PTC_TO_SEMEVAL["Whataboutism,Straw_Men,Red_Herring"]) >= {
        "Whataboutism", "Straw_Man", "Red_Herring"}
    assert set(PTC_TO_SEMEVAL["Bandwagon,Reductio_ad_hitlerum"]) == {
        "Appeal_to_Popularity", "Guilt_by_Association"}
    # no SemEval-2023 technique is claimed by two PTC classes
    claimed = Counter(n for names in PTC_TO_SEMEVAL.values() for n in names)
    assert max(claimed.values()) == 1
