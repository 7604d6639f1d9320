"""The 14 propaganda techniques of the PTC corpus and the 23 of SemEval-2023 Task 3.

Each has its label string, a definition and a display colour (for SemEval-2023: its category's).

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

__all__ = [
    "Technique", "TECHNIQUES", "TECHNIQUE_NAMES", "get_technique",
    "SemevalTechnique", "SEMEVAL_TECHNIQUES", "SEMEVAL_TECHNIQUE_NAMES", "SEMEVAL_CATEGORIES",
    "PTC_TO_SEMEVAL", "get_semeval_technique", "category_colour",
]


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


# --- The SemEval-2023 Task 3 taxonomy -----------------------------------------------------------
# 23 techniques in 6 categories (Piskorski et al., 2023, after the JRC annotation guidelines), the
# taxonomy CLEF CheckThat! 2024 reuses. Names are those of the task's label files; the order is the
# task's, category by category.

SEMEVAL_CATEGORIES: tuple[str, ...] = (
    "Attack on reputation", "Justification", "Simplification", "Distraction", "Call",
    "Manipulative wording",
)

# The 6 light colours (black text at WCAG AAA, 7:1) from the palettes above and Okabe-Ito's
# whose closest pair is farthest apart: CIEDE2000 25.7, well past the 10 that people tell
# apart at a glance.
_CATEGORY_COLOURS: dict[str, str] = {
    "Attack on reputation": "#fb8072",
    "Justification": "#56b4e9",
    "Simplification": "#f6a600",
    "Distraction": "#c5b0d5",
    "Call": "#bbcc33",
    "Manipulative wording": "#44bb99",
}


@dataclass(frozen=True)
class SemevalTechnique:
    name: str  # the SemEval-2023 label string
    label: str  # short human-readable name
    category: str  # one of SEMEVAL_CATEGORIES
    definition: str


_A, _J, _S, _D, _C, _M = SEMEVAL_CATEGORIES
SEMEVAL_TECHNIQUES: tuple[SemevalTechnique, ...] = (
    SemevalTechnique("Name_Calling-Labeling", "Name calling / labeling", _A,
                     "Pinning a loaded label on a person or group so the audience likes or "
                     "dislikes them without being given reasons."),
    SemevalTechnique("Guilt_by_Association", "Guilt by association", _A,
                     "Tainting a person or idea by linking it with someone or something the "
                     "audience already despises."),
    SemevalTechnique("Doubt", "Doubt", _A,
                     "Casting suspicion on whether someone is fit or honest enough for their "
                     "role, so their position loses weight."),
    SemevalTechnique("Appeal_to_Hypocrisy", "Appeal to hypocrisy", _A,
                     "Answering a position by accusing its holder of not living up to it "
                     "(tu quoque), instead of addressing it."),
    SemevalTechnique("Questioning_the_Reputation", "Questioning the reputation", _A,
                     "Running down someone's character or moral standing with claims unrelated "
                     "to the issue at hand, to damage their credibility."),
    SemevalTechnique("Flag_Waving", "Flag-waving", _J,
                     "Justifying a stance by presenting it as what a nation or group the "
                     "audience belongs to stands for or needs."),
    SemevalTechnique("Appeal_to_Authority", "Appeal to authority", _J,
                     "Treating a claim as settled because a named authority holds it, with no "
                     "further support."),
    SemevalTechnique("Appeal_to_Popularity", "Appeal to popularity", _J,
                     "Arguing that something is right or should be done because many or most "
                     "people already back it."),
    SemevalTechnique("Appeal_to_Values", "Appeal to values", _J,
                     "Linking a stance to values the audience holds dear (freedom, tradition, "
                     "fairness) as if that alone justified it."),
    SemevalTechnique("Appeal_to_Fear-Prejudice", "Appeal to fear / prejudice", _J,
                     "Winning support by stirring up fear of an alternative or playing on "
                     "existing prejudice."),
    SemevalTechnique("Causal_Oversimplification", "Causal oversimplification", _S,
                     "Putting a complex outcome down to a single cause or culprit when several "
                     "factors are at work."),
    SemevalTechnique("False_Dilemma-No_Choice", "False dilemma / no choice", _S,
                     "Offering two options as if they were the only ones, or one option as if "
                     "there were no other."),
    SemevalTechnique("Consequential_Oversimplification", "Consequential oversimplification",
                     _S, "Claiming that one step will set off a chain of ever worse (or better) "
                     "outcomes, without showing that it would (slippery slope)."),
    SemevalTechnique("Straw_Man", "Straw man", _D,
                     "Rebutting a distorted or weakened version of the opposing view in place "
                     "of the view itself."),
    SemevalTechnique("Red_Herring", "Red herring", _D,
                     "Steering attention away from the issue under discussion to an unrelated "
                     "one."),
    SemevalTechnique("Whataboutism", "Whataboutism", _D,
                     "Deflecting criticism by pointing to a wrong done by the critic or "
                     "another party."),
    SemevalTechnique("Slogans", "Slogans", _C,
                     "A short, punchy phrase that works on emotion rather than argument, often "
                     "with labels or stereotypes."),
    SemevalTechnique("Conversation_Killer", "Conversation killer", _C,
                     "A stock phrase that closes discussion and discourages further thought "
                     "(thought-terminating cliché)."),
    SemevalTechnique("Appeal_to_Time", "Appeal to time", _C,
                     "Pressing for action because the moment is supposedly now or never, "
                     "leaving no time to weigh it."),
    SemevalTechnique("Loaded_Language", "Loaded language", _M,
                     "Emotionally charged words or phrases chosen to sway the reader rather "
                     "than describe."),
    SemevalTechnique("Obfuscation-Vagueness-Confusion", "Obfuscation / vagueness / confusion",
                     _M, "Wording left deliberately unclear, so the audience reads into it what "
                     "suits them or cannot pin the claim down."),
    SemevalTechnique("Exaggeration-Minimisation", "Exaggeration / minimisation", _M,
                     "Making something look far bigger, better or worse than it is, or playing "
                     "it down."),
    SemevalTechnique("Repetition", "Repetition", _M,
                     "Saying the same word, phrase or idea again and again until the audience "
                     "takes it in."),
)

SEMEVAL_TECHNIQUE_NAMES: tuple[str, ...] = tuple(t.name for t in SEMEVAL_TECHNIQUES)
_SEMEVAL_BY_NAME = {t.name: t for t in SEMEVAL_TECHNIQUES}

# Each PTC-14 class -> the SemEval-2023 techniques it covers. Merged classes list the most
# frequent first (counts from the re-annotation of the PTC training articles), so the first name
# is the best single guess. PTC's Doubt also took attacks on character, now
# Questioning_the_Reputation.
PTC_TO_SEMEVAL: dict[str, tuple[str, ...]] = {
    "Loaded_Language": ("Loaded_Language",),
    "Name_Calling,Labeling": ("Name_Calling-Labeling",),
    "Repetition": ("Repetition",),
    "Doubt": ("Doubt", "Questioning_the_Reputation"),
    "Exaggeration,Minimisation": ("Exaggeration-Minimisation",),
    "Appeal_to_fear-prejudice": ("Appeal_to_Fear-Prejudice",),
    "Flag-Waving": ("Flag_Waving",),
    "Causal_Oversimplification": ("Causal_Oversimplification",),
    "Appeal_to_Authority": ("Appeal_to_Authority",),
    "Slogans": ("Slogans",),
    "Whataboutism,Straw_Men,Red_Herring": ("Red_Herring", "Appeal_to_Hypocrisy", "Whataboutism",
                                           "Straw_Man"),
    "Black-and-White_Fallacy": ("False_Dilemma-No_Choice",),
    "Thought-terminating_Cliches": ("Conversation_Killer",),
    "Bandwagon,Reductio_ad_hitlerum": ("Guilt_by_Association", "Appeal_to_Popularity"),
}


def get_semeval_technique(name: str) -> SemevalTechnique:
    """Look a technique up by its SemEval-2023 label string; raises KeyError for an unknown name."""
    return _SEMEVAL_BY_NAME[name]


def category_colour(category: str) -> str:
    """The hex highlight colour of a SemEval-2023 category; raises KeyError for an unknown one."""
    return _CATEGORY_COLOURS[category]
