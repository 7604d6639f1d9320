"""The 14 propaganda techniques of the PTC corpus: names, definitions and display colours.

The label strings are exactly those of the PTC files (SemEval-2020 Task 11), so that predictions
can be written back in the official formats. Definitions follow the PTC annotation guidelines
(Da San Martino et al., 2019), shortened.

Colours come from known qualitative palettes (ColorBrewer Set2/Set3, Tableau 20, Kelly's colours of
maximum contrast, Paul Tol's "light"): of their colours light enough for black text (contrast at
least 7:1) and not washed out on white, the 14 whose closest pair is farthest apart (CIEDE2000
14.9; two colours people tell apart at a glance differ by 10 or more).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Technique", "TECHNIQUES", "TECHNIQUE_NAMES", "get_technique"]


@dataclass(frozen=True)
class Technique:
    name: str  # the PTC label string
    label: str  # short human-readable name
    definition: str
    colour: str  # hex background colour for highlights


TECHNIQUES: tuple[Technique, ...] = (
    Technique("Loaded_Language", "Loaded language",
              "Words or phrases with strong emotional implications, used to sway the reader.",
              "#ffd92f"),
    Technique("Name_Calling,Labeling", "Name calling / labeling",
              "Labelling the object of the propaganda as something the audience fears, hates or "
              "finds undesirable (or loves and praises).", "#f99379"),
    Technique("Repetition", "Repetition",
              "Repeating the same message over and over so the audience comes to accept it.",
              "#a6d854"),
    Technique("Doubt", "Doubt",
              "Questioning the credibility of someone or something.", "#77aadd"),
    Technique("Exaggeration,Minimisation", "Exaggeration / minimisation",
              "Representing something as excessively better or worse than it is, or downplaying "
              "it.", "#ff7f0e"),
    Technique("Appeal_to_fear-prejudice", "Appeal to fear / prejudice",
              "Building support for an idea by instilling anxiety or panic about an alternative, "
              "possibly based on preconceived judgements.", "#bebada"),
    Technique("Flag-Waving", "Flag-waving",
              "Playing on strong national (or group) feeling to justify or promote an action or "
              "idea.", "#9edae5"),
    Technique("Causal_Oversimplification", "Causal oversimplification",
              "Assuming one cause when there are many, or blaming a single actor for a complex "
              "issue.", "#ffbb78"),
    Technique("Appeal_to_Authority", "Appeal to authority",
              "Stating that a claim is true because an authority or expert says so, without "
              "other evidence.", "#44bb99"),
    Technique("Slogans", "Slogans",
              "A brief and striking phrase, often with labelling and stereotyping, that acts as "
              "an emotional appeal.", "#e377c2"),
    Technique("Whataboutism,Straw_Men,Red_Herring", "Whataboutism / straw man / red herring",
              "Discrediting a position by charging hypocrisy, refuting a distorted version of "
              "it, or diverting attention to an irrelevant issue.", "#c2b280"),
    Technique("Black-and-White_Fallacy", "Black-and-white fallacy",
              "Presenting two alternatives as the only possibilities when more exist; in the "
              "extreme, dictatorship (only one option).", "#ccebc5"),
    Technique("Thought-terminating_Cliches", "Thought-terminating cliché",
              "Short, generic phrases that discourage critical thought and end a discussion.",
              "#aaaa00"),
    Technique("Bandwagon,Reductio_ad_hitlerum", "Bandwagon / reductio ad Hitlerum",
              "Urging the audience to join in because everyone else does, or discrediting an "
              "idea because a hated group supports it.", "#f7b6d2"),
)

TECHNIQUE_NAMES: tuple[str, ...] = tuple(t.name for t in TECHNIQUES)
_BY_NAME = {t.name: t for t in TECHNIQUES}


def get_technique(name: str) -> Technique:
    """Look a technique up by its PTC label string; raises KeyError for an unknown name."""
    return _BY_NAME[name]
