"""The 14 propaganda techniques of the PTC corpus: names, definitions and display colours.

The label strings are exactly those of the PTC files (SemEval-2020 Task 11), so that predictions
can be written back in the official formats. Definitions follow the PTC annotation guidelines
(Da San Martino et al., 2019), shortened. Colours are chosen to stay distinguishable on white and
to pass WCAG AA contrast with black text.
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
              "#ffd166"),
    Technique("Name_Calling,Labeling", "Name calling / labeling",
              "Labelling the object of the propaganda as something the audience fears, hates or "
              "finds undesirable (or loves and praises).", "#f4978e"),
    Technique("Repetition", "Repetition",
              "Repeating the same message over and over so the audience comes to accept it.",
              "#b5e48c"),
    Technique("Doubt", "Doubt",
              "Questioning the credibility of someone or something.", "#a0c4ff"),
    Technique("Exaggeration,Minimisation", "Exaggeration / minimisation",
              "Representing something as excessively better or worse than it is, or downplaying "
              "it.", "#ffadad"),
    Technique("Appeal_to_fear-prejudice", "Appeal to fear / prejudice",
              "Building support for an idea by instilling anxiety or panic about an alternative, "
              "possibly based on preconceived judgements.", "#cdb4db"),
    Technique("Flag-Waving", "Flag-waving",
              "Playing on strong national (or group) feeling to justify or promote an action or "
              "idea.", "#9bf6ff"),
    Technique("Causal_Oversimplification", "Causal oversimplification",
              "Assuming one cause when there are many, or blaming a single actor for a complex "
              "issue.", "#fdffb6"),
    Technique("Appeal_to_Authority", "Appeal to authority",
              "Stating that a claim is true because an authority or expert says so, without "
              "other evidence.", "#caffbf"),
    Technique("Slogans", "Slogans",
              "A brief and striking phrase, often with labelling and stereotyping, that acts as "
              "an emotional appeal.", "#ffc6ff"),
    Technique("Whataboutism,Straw_Men,Red_Herring", "Whataboutism / straw man / red herring",
              "Discrediting a position by charging hypocrisy, refuting a distorted version of "
              "it, or diverting attention to an irrelevant issue.", "#e9c46a"),
    Technique("Black-and-White_Fallacy", "Black-and-white fallacy",
              "Presenting two alternatives as the only possibilities when more exist; in the "
              "extreme, dictatorship (only one option).", "#d9ed92"),
    Technique("Thought-terminating_Cliches", "Thought-terminating cliché",
              "Short, generic phrases that discourage critical thought and end a discussion.",
              "#bde0fe"),
    Technique("Bandwagon,Reductio_ad_hitlerum", "Bandwagon / reductio ad Hitlerum",
              "Urging the audience to join in because everyone else does, or discrediting an "
              "idea because a hated group supports it.", "#ffcfd2"),
)

TECHNIQUE_NAMES: tuple[str, ...] = tuple(t.name for t in TECHNIQUES)
_BY_NAME = {t.name: t for t in TECHNIQUES}


def get_technique(name: str) -> Technique:
    """Look a technique up by its PTC label string; raises KeyError for an unknown name."""
    return _BY_NAME[name]
