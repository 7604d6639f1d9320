"""Who says it: verbs of saying, speakers, sentences and indirect speech, for :mod:`quotes`.

Everything here works on a *masked* copy of the text, the same length as the text, in which
the inside of every quotation is replaced by :data:`MASK` (line breaks kept), so a verb or a
full stop inside quoted words never passes for the author's. A speaker is returned as written
in the text ("the head of the Kessarian Observers", "he"): the noun phrase before or after the
verb of saying, without an apposition set off by commas or a time phrase ("on Monday").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MASK", "Reported", "attribution_after", "attribution_before", "find_indirect",
           "participle_clause", "sentence_spans", "speaker_before", "word_count"]

MASK = "\x01"

_SAY = (r"said|says|say|told|tells|added|adds|claimed|claims|stated|states|declared|declares|"
        r"wrote|writes|tweeted|tweets|warned|warns|insisted|insists|argued|argues|asked|asks|"
        r"explained|explains|noted|notes|alleged|alleges|announced|announces|replied|replies|"
        r"responded|responds|continued|recalled|recalls|admitted|admits|acknowledged|stressed|"
        r"emphasi[sz]ed|observed|commented|remarked|concluded|maintained|maintains|charged|"
        r"countered|boasted|complained|lamented|predicted|promised|vowed|urged|demanded|"
        r"denied|shouted|cried|whispered|posted|reported|reports|confirmed|confirms|suggested|"
        r"asserted|asserts|contended|testified|chanted|exclaimed|yelled|screamed|joked|quipped|"
        r"threatened|agreed|objected|protested|read|reads|clarified|revealed|conceded|"
        r"cautioned|reiterated|concludes|indicated|pointed out")
# Verbs that name rather than say: they attribute a quoted label only with an object between
# verb and quote ("X called the strike "sabotage""); "a group called "Y"" is a plain name.
_NAMING = (r"called|calls|call|dubbed|branded|labell?ed|termed|described|describes|dismissed|"
           r"referred|refers")
_PARTICIPLE = (r"saying|adding|claiming|insisting|warning|arguing|noting|stating|explaining|"
               r"alleging|declaring|writing|telling|asking|announcing")
# Verbs that take a bare clause ("The minister said the attack was ..."), no "that" needed;
# others ("confirmed", "declared", "wrote") mostly take an object ("wrote a letter").
_BARE_CLAUSE = {"said", "says", "claimed", "claims", "insisted", "insists", "warned", "warns",
                "argued", "argues", "added", "alleged", "alleges", "stated", "tweeted", "told",
                "maintained"}
# A reported clause has a finite verb: an auxiliary, a past tense in -ed or a common irregular.
_FINITE = re.compile(
    r"\b(?:is|was|are|were|will|would|could|can|should|has|have|had|must|may|might|did|does|"
    r"do|[a-z]+n't|[a-z]{2,}ed|fled|took|made|gave|went|came|saw|knew|got|left|won|lost|ran|"
    r"fell|held|began|brought|thought|sent|spent|stole|broke|told|said|put|hit|cut|shot|kept|"
    r"led|met|paid|sold|stood|hid|fought|caught|sought|built|rose|drove|wants|needs|plans)\b",
    re.I)
_AUX = (r"(?:(?:has|have|had|also|later|then|once|reportedly|previously|further|again|would|"
        r"will|recently|earlier|quickly|simply|flatly|bluntly|angrily|famously|repeatedly|"
        r"publicly|openly|allegedly|even|often|never|always|just|clearly|firmly|calmly|already|"
        r"now|still|herself|himself|themselves|itself|used to)\s+){0,3}")
_WORD = r"[^\W_][\w'’&.-]*"
_NP = rf"{_WORD}(?:[ \t]+[\w'’&.-]+){{0,9}}?"
_ATTR_VERB = re.compile(rf"\b(?<!so-)(?<!so )(?P<verb>{_SAY}|{_NAMING}|{_PARTICIPLE})\b", re.I)
_AFTER_SUBJECT_VERB = re.compile(
    rf"[,:;—–-]?[ \t]*(?P<spk>{_NP})[ \t]+{_AUX}(?P<verb>{_SAY})\b")
_AFTER_VERB_SUBJECT = re.compile(rf"[,—–-]?[ \t]*(?P<verb>{_SAY})[ \t]+(?P<spk>{_WORD})")
_SOURCE_PHRASE = r"according to|as reported by|as quoted by|as cited by|citing|in the words of"
_AFTER_SOURCE = re.compile(rf"[,—–-]?[ \t]*(?:{_SOURCE_PHRASE})[ \t]+(?P<spk>{_WORD})", re.I)
_AS_PUT = re.compile(rf"[,—–-]?[ \t]*as[ \t]+(?P<spk>{_NP})[ \t]+"
                     rf"(?:put it|calls? it|called it|calls? them|called them|said|says)\b", re.I)
_LEAD_SOURCE = re.compile(rf"(?:{_SOURCE_PHRASE}|to quote)[ \t]+(?P<spk>[^,:]{{1,80}}?)"
                          rf"[ \t]*[,:][ \t]*$", re.I)
_LEAD_AS_PUT = re.compile(rf"\bas[ \t]+(?P<spk>{_NP})[ \t]+put it[ \t]*[,:]?[ \t]*$", re.I)
_FRONT_SOURCE = re.compile(rf"[ \t]*(?:{_SOURCE_PHRASE})[ \t]+(?P<spk>[^,]{{1,80}}?),", re.I)
_TAIL_SOURCE = re.compile(rf",[ \t]*(?:{_SOURCE_PHRASE})[ \t]+(?P<spk>[^,]{{1,80}}?)"
                          rf"[ \t]*[.!?]*[ \t]*$", re.I)
_MID_SOURCE = re.compile(rf",[ \t]*(?:{_SOURCE_PHRASE})[ \t]+(?P<spk>[^,]{{1,80}}?),", re.I)
# "..., officials said (on Friday)." / "..., said the army.": the sentence before is reported.
_TAIL_ATTRIBUTION = re.compile(
    rf",[ \t]*(?:(?P<spk>{_NP})[ \t]+{_AUX}(?P<verb>{_SAY})|(?P<verb2>{_SAY})[ \t]+"
    rf"(?!that\b)(?P<spk2>[^,.!?]{{1,80}}?))(?P<rest>[ \t]+(?:reporters|journalists|"
    rf"on|in|at|last|this|during|yesterday|today|tonight|earlier|later|from|when|after|before)"
    rf"\b[^,.!?]{{0,40}})?[ \t]*[.!?]*[ \t]*$")
_THAT_CLAUSE = re.compile(r"(?P<pre>(?:[ \t]+[\w'’.-]+){0,5}?)[ \t]+that[ \t]+")
_BARE_SKIP = re.compile(
    r"(?:[ \t]+(?:on|last|this|in|at|during|earlier)(?:[ \t]+(?:a|an|the|his|her|their|its))?"
    r"[ \t]+(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|week|month|year|"
    r"statement|interview|speech|letter|post|video|tweet|broadcast|night|morning|evening)\b)?"
    r"|[ \t]+(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today)\b")
_TOLD_OBJECT = re.compile(r"[ \t]+(?:reporters|journalists|the press|the media|the crowd|"
                          r"parliament|me|us|him|her|them|[A-Z][\w-]+(?:[ \t]+[A-Z][\w-]+){0,2}|"
                          r"(?:the|a|an)[ \t]+[\w-]+)")
_PARTICIPLE_CLAUSE = re.compile(rf",[ \t]*(?:{_PARTICIPLE})[ \t]+(?:that[ \t]+)?", re.I)
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’»)\]]*[ \t]+(?=[^a-z\s])|\n+")


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOP = _wordset("and but or that which who whom whose when while where because although though "
                 "if as after before during since in on at with than so yet not no is was are "
                 "were be been being it's this these those do does did can could should may "
                 "might must has have had will would shall about from into over under why how "
                 "what whether that's that’s it’s there's there’s here's what's what’s")
_STOP_FORWARD = _STOP | _wordset("to yesterday today tonight last earlier adding according "
                                 "referring speaking noting insisting")
_LEADING_TIME = re.compile(r"^(?:(?:yesterday|today|tonight|later|then|meanwhile|earlier|now|"
                           r"also|however|separately|finally|still|instead|monday|tuesday|"
                           r"wednesday|thursday|friday|saturday|sunday|last|this|week|month|"
                           r"year|morning|evening)\b[ \t]*)+", re.I)
# "Rahimi, a former adviser, said": the head before the apposition speaks.
_APPOSITION = re.compile(r"([^,;:\n" + MASK + r"]+),[ \t]+(?:a|an|the|who|[a-z][\w-]*)\b"
                         r"[^,\n]*,[ \t]*$")
_PRONOUNS = _wordset("he she they it i we you")
# Indirect speech from these counts as the author's: nobody in particular is quoted.
_VAGUE = frozenset(["some", "many", "others", "people", "some people", "many people",
                    "most people", "everyone", "everybody", "someone", "somebody", "nobody",
                    "one", "few", "i", "we", "you"])
# "according to the census" cites data, not a voice.
_DATA_SOURCES = re.compile(r"\b(?:census|estimates?|figures|data|statistics|poll|survey|records"
                           r"|tally|count)\b", re.I)
_ABBREVIATIONS = _wordset("mr mrs ms dr prof gen col lt sgt capt gov sen rep st jr sr inc ltd co "
                           "corp vs etc no jan feb mar apr jun jul aug sep sept oct nov dec")
_PREPOSITION = _wordset("of about to for with from by in on at into over under against goodbye "
                        "nothing not")


@dataclass(frozen=True)
class Reported:
    """A stretch of reported speech found without quotation marks."""

    start: int
    end: int
    speaker: str


def word_count(text: str) -> int:
    """Words in ``text``, the measure of a short, scare-quotable label."""
    return len(re.findall(r"[^\W_]+(?:['’-][^\W_]+)*", text))


def sentence_spans(masked: str) -> list[tuple[int, int]]:
    """Sentences of the masked text as (start, end), line breaks always ending one."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(masked):
        if m.group().strip() and _is_abbreviation(masked, m.start()):
            continue
        if masked[start:m.start()].strip():
            spans.append((start, m.end() if m.group().strip() else m.start()))
        start = m.end()
    if masked[start:].strip():
        spans.append((start, len(masked)))
    return spans


def _is_abbreviation(text: str, dot: int) -> bool:
    word = re.search(r"[\w.]*$", text[max(0, dot - 12):dot])
    token = word.group() if word else ""
    return token.lower() in _ABBREVIATIONS or bool(re.fullmatch(r"(?:[A-Z]\.?)+", token))


def attribution_after(masked: str, end: int) -> str | None:
    """The speaker named right after a quotation that closes at ``end``, or None.
    Returns "" when a verb of saying follows but names nobody."""
    window = masked[end:end + 160].split("\n", 1)[0]
    for pattern in (_AFTER_SOURCE, _AS_PUT):
        m = pattern.match(window)
        if m:
            speaker = _forward_phrase(window, m.start("spk"))
            return speaker if speaker and not _DATA_SOURCES.search(speaker) else ""
    m = _AFTER_VERB_SUBJECT.match(window)
    if m:
        return _forward_phrase(window, m.start("spk"))
    m = _AFTER_SUBJECT_VERB.match(window)
    if m:
        return m.group("spk") if _valid_speaker(m.group("spk")) else ""
    return None


def attribution_before(lead: str) -> tuple[bool, str | None]:
    """(a verb of saying introduces the quotation, its speaker or None) from the lead: the
    sentence before the opening mark."""
    m = _LEAD_SOURCE.search(lead) or _LEAD_AS_PUT.search(lead)
    if m:
        return True, _clean_speaker(m.group("spk"))
    verbs = list(_ATTR_VERB.finditer(lead))
    for verb in reversed(verbs):
        name = verb.group("verb").lower()
        between = lead[verb.end():].strip(" \t,:")
        if re.fullmatch(_NAMING, name) and not between:
            continue  # "a group called "X"": a name, not a quotation
        if re.fullmatch(_PARTICIPLE, name):
            return True, None  # ", adding: ...", "by saying that": the caller may inherit
        speaker = speaker_before(lead, verb.start())
        if speaker:
            return True, speaker
    return False, None


def speaker_before(text: str, end: int) -> str | None:
    """The noun phrase ending just before ``end`` (a verb of saying), skipping auxiliaries
    and adverbs; over an apposition ("Rahimi, a former adviser, said") to its head."""
    seg = re.sub(rf"[ \t]+{_AUX}$", "", text[max(0, end - 200):end] + " ")
    cut = max(seg.rfind(ch) for ch in ",;:()[]\"“”„«»‘\n—–" + MASK)
    words = seg[cut + 1:].split()
    if not words and cut >= 0 and seg[cut] == ",":
        m = _APPOSITION.search(seg[:cut + 1])
        if m:
            words = m.group(1).split()
    for i in range(len(words) - 1, -1, -1):
        if words[i].lower() in _STOP:
            words = words[i + 1:]
            break
    if words and words[-1].lower() in _PRONOUNS:
        words = words[-1:]  # "In the interview he claimed": the pronoun is the subject
    phrase = _clean_speaker(" ".join(words[-10:]))
    return phrase if phrase and _valid_speaker(phrase) else None


def _forward_phrase(text: str, start: int) -> str | None:
    """The noun phrase starting at ``start``, up to punctuation or a preposition of time/place."""
    m = re.match(r"[^,;:!?()\n\"“”«»" + MASK + r"]*", text[start:])
    words: list[str] = []
    for word in (m.group() if m else "").split():
        if words and word.lower() in _STOP_FORWARD:
            break
        words.append(word)
        if word.endswith(".") and word.rstrip(".").lower() not in _ABBREVIATIONS \
                and not re.fullmatch(r"(?:[A-Z]\.)+", word):
            break
    return _clean_speaker(" ".join(words[:10]))


def _clean_speaker(phrase: str) -> str | None:
    phrase = _LEADING_TIME.sub("", phrase.strip(" \t.,")).strip()
    phrase = re.sub(r"^(?:and|but|or|as|so)\s+", "", phrase, flags=re.I)
    return phrase or None


def _valid_speaker(phrase: str) -> bool:
    words = phrase.lower().split()
    return bool(words) and not any(w in _STOP for w in words) and words[0] not in _PREPOSITION


def find_indirect(masked: str, start: int, end: int) -> Reported | None:
    """Reported speech without quotation marks in the sentence [start, end): "X said that ...",
    "X said the ...", "..., X said.", "according to X, ..."; None when there is none or the
    source is vague ("some say") or agentless ("it is claimed that")."""
    sent = masked[start:end]
    body_end = len(sent.rstrip(" \t.!?\"'”’"))
    for pattern, front in ((_FRONT_SOURCE, True), (_TAIL_SOURCE, False), (_MID_SOURCE, None)):
        m = pattern.match(sent) if front else pattern.search(sent)
        if not m:
            continue
        speaker = _clean_speaker(m.group("spk"))
        if not speaker or _DATA_SOURCES.search(speaker):
            return None
        lo, hi = (m.end(), body_end) if front else (0, m.start()) if front is False \
            else (0, body_end)
        return _reported(masked, start + lo, start + hi, speaker)
    m = _TAIL_ATTRIBUTION.search(sent)
    if m and not sent[max(0, m.start() - 4):m.start()].rstrip().endswith(MASK):
        if m.group("spk"):
            speaker = m.group("spk") if _valid_speaker(m.group("spk")) else None
        else:
            speaker = _clean_speaker(m.group("spk2"))
            speaker = speaker if speaker and _valid_speaker(speaker) else None
        if speaker and word_count(sent[:m.start()].replace(MASK, " ")) >= 3:
            return _reported(masked, start, start + m.start(), speaker)
    for verb in _ATTR_VERB.finditer(sent):
        name = verb.group("verb").lower()
        if re.fullmatch(_NAMING, name) or re.fullmatch(_PARTICIPLE, name):
            continue
        before = sent[max(0, verb.start() - 12):verb.start()].rstrip().lower()
        if re.search(r"\b(?:is|was|are|were|been|be|being)$", before):
            return None  # agentless passive: "it is said that"
        speaker = speaker_before(sent, verb.start())
        if not speaker:
            continue
        if speaker.lower() in _VAGUE:
            return None
        clause = _clause_start(sent, verb.end(), name)
        if clause is not None:
            return _reported(masked, start + clause, start + body_end, speaker)
    return None


def participle_clause(masked: str, start: int, end: int) -> int | None:
    """Where the clause of ", adding that ..." starts in [start, end), or None."""
    m = _PARTICIPLE_CLAUSE.search(masked, start, end)
    return m.end() if m else None


def _clause_start(sent: str, pos: int, verb: str) -> int | None:
    """Start of the reported clause after a verb of saying ending at ``pos``, or None."""
    that = _THAT_CLAUSE.match(sent, pos)
    if that and not re.search(r"[,;:" + MASK + "]", that.group("pre")) \
            and not _FINITE.search(that.group("pre")):
        return that.end()
    if verb not in _BARE_CLAUSE:
        return None
    if verb == "told":
        obj = _TOLD_OBJECT.match(sent, pos)
        if not obj:
            return None
        pos = obj.end()
    skip = _BARE_SKIP.match(sent, pos)
    if skip:
        pos = skip.end()
    rest = sent[pos:pos + 300]
    first = re.match(r"[ \t]+([^\W_][\w'’-]*)", rest)
    if not first or first.group(1).lower() in _PREPOSITION:
        return None
    clause = re.split(r"[.!?]", rest, maxsplit=1)[0]
    if word_count(clause) < 3 or not _FINITE.search(clause):
        return None
    return pos + first.start(1)


def _reported(masked: str, lo: int, hi: int, speaker: str) -> Reported | None:
    while lo < hi and masked[lo] in " \t,":
        lo += 1
    while hi > lo and masked[hi - 1] in " \t,.!?":
        hi -= 1
    return Reported(lo, hi, speaker) if hi > lo else None
