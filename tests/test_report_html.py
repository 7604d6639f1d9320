"""The HTML report: exact text, overlapping fragments, legend, embedded JSON, CSP, escaping."""

from __future__ import annotations

import itertools
import json
import math
import re
from html import escape
from html.parser import HTMLParser

import pytest

from propscan.doc import Article, Finding, Metadata
from propscan.ingest import from_text
from propscan.offsets import OffsetMap
from propscan.report.html import csp_hash, render_article, report_assets, segment_spans
from propscan.report.wording import CONFIDENCE_NOTE, SCORES_NOTE
from propscan.techniques import TECHNIQUES

XSS = {
    "script": "<script>alert('x')</script>",
    "onerror": '"><img src=x onerror=alert(1)>',
    "javascript": "javascript:alert(document.cookie)",
    "close": "</script><script>alert(2)</script><!--",
}


class PageParser(HTMLParser):
    """Collects what the safety and structure tests look at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._in: str | None = None
        self._attrs: dict[str, str | None] = {}
        self._buf: list[str] = []
        self.body_text: list[str] = []
        self.text: list[str] = []  # every visible text node of the page
        self._body_depth = 0
        self.marks: list[tuple[str, str]] = []  # (data-spans, text inside the mark)
        self._mark_stack: list[list] = []

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        self.tags.append((tag, d))
        if tag in ("script", "style"):
            self._in, self._attrs, self._buf = tag, d, []
        if self._body_depth:
            self._body_depth += 1
        elif tag == "div" and d.get("class") == "body":
            self._body_depth = 1
        if tag == "mark":
            self._mark_stack.append([d.get("data-spans", ""), []])

    def handle_endtag(self, tag):
        if tag == self._in:
            content = "".join(self._buf)
            if tag == "script":
                self.scripts.append((self._attrs, content))
            else:
                self.styles.append(content)
            self._in = None
        if self._body_depth:
            self._body_depth -= 1
        if tag == "mark" and self._mark_stack:
            ids, parts = self._mark_stack.pop()
            self.marks.append((ids, "".join(parts)))

    def handle_data(self, data):
        if self._in:
            self._buf.append(data)
        else:
            self.text.append(data)
        if self._body_depth:
            self.body_text.append(data)
            for entry in self._mark_stack:
                entry[1].append(data)


def parse(page: str) -> PageParser:
    p = PageParser()
    p.feed(page)
    p.close()
    return p


def make_article(text: str, body_start: int = 0, **meta) -> Article:
    return Article(text=text, clean_text=text[body_start:],
                   offset_map=OffsetMap.identity(len(text) - body_start, body_start),
                   body_start=body_start, body_end=len(text), meta=Metadata(**meta))


def add(article: Article, fragment: str, technique: str, confidence: float = 0.8,
        reason: str = "", occurrence: int = 0) -> Finding:
    start = -1
    for _ in range(occurrence + 1):
        start = article.text.index(fragment, start + 1)
    span = article.finding_from_text(start, start + len(fragment), technique, confidence, reason)
    article.spans.append(span)
    return span


@pytest.fixture()
def overlapping() -> Article:
    text = ("Headline here\n\nThe corrupt elites will destroy this great nation. "
            "Only a fool would doubt it. Make the nation great again!")
    a = make_article(text, body_start=15, title="Headline here", authors=["A. Writer"],
                     outlet="Example News")
    add(a, "corrupt elites", "Name_Calling,Labeling", 0.91, "labels a group")
    add(a, "corrupt elites will destroy this great nation", "Appeal_to_fear-prejudice", 0.7)
    add(a, "great nation", "Flag-Waving", 0.6)  # nested inside the previous span
    add(a, "Only a fool would doubt it", "Black-and-White_Fallacy", 0.55)
    add(a, "Make the nation great again!", "Slogans", 0.88)
    a.scores = {"propaganda_score": 0.62, "fragments": 5}
    return a


def test_segments_split_at_every_boundary_and_list_covering_spans_longest_first():
    spans = [Finding(2, 8, "A", 1, ""), Finding(4, 6, "B", 1, ""), Finding(5, 10, "C", 1, "")]
    segs = segment_spans(spans, 0, 12)
    assert [(a, b) for a, b, _ in segs] == [(0, 2), (2, 4), (4, 5), (5, 6), (6, 8), (8, 10),
                                            (10, 12)]
    assert [c for _, _, c in segs] == [[], [0], [0, 1], [0, 2, 1], [0, 2], [2], []]


def test_segments_clip_to_the_body_and_ignore_empty_spans():
    spans = [Finding(0, 5, "A", 1, ""), Finding(7, 7, "B", 1, "")]
    assert segment_spans(spans, 3, 9) == [(3, 5, [0]), (5, 9, [])]


def test_body_text_is_exactly_the_input_body(overlapping):
    page = parse(render_article(overlapping))
    assert "".join(page.body_text) == overlapping.text[15:]


def test_each_fragment_lies_inside_every_span_it_names(overlapping):
    page = parse(render_article(overlapping))
    spans = overlapping.to_dict()["spans"]  # data-spans index this sorted list
    assert page.marks
    for ids, text in page.marks:
        for i in ids.split():
            assert text in spans[int(i)]["text"]
    # the nested segment "great nation" is covered by 2 spans, stacked
    stacked = [ids for ids, text in page.marks if text == "great nation"]
    assert len(stacked) == 1 and len(stacked[0].split()) == 2


def test_fragments_are_focusable_and_stack_underlines(overlapping):
    html = render_article(overlapping)
    marks = re.findall(r"<mark [^>]*>", html)
    assert marks and all('tabindex="0"' in m for m in marks)
    assert re.search(r'<mark class="frag t5 l1"[^>]*><span class="u t6 l0 in">great nation',
                     html)


def test_legend_counts_and_metadata(overlapping):
    html = render_article(overlapping)
    assert re.search(r'Name calling / labeling <span class="count">1</span>', html)
    assert re.search(r'Slogans <span class="count">1</span>', html)
    assert html.count('data-cls="') == 5
    assert "<h1>Headline here</h1>" in html
    assert "By A. Writer" in html and "Example News" in html
    assert "propaganda score" in html and "0.62" in html


def test_embedded_json_is_article_to_dict(overlapping):
    page = parse(render_article(overlapping))
    blocks = {a.get("id"): c for a, c in page.scripts if a.get("type") == "application/json"}
    assert json.loads(blocks["propscan-json"]) == overlapping.to_dict()
    tips = json.loads(blocks["propscan-data"])["spans"]
    assert [t["label"] for t in tips][:2] == ["Appeal to fear / prejudice",
                                             "Name calling / labeling"]
    assert tips[1]["confidence"] == "91%" and tips[1]["reason"] == "labels a group"


def test_csp_allows_exactly_the_inline_script_and_style(overlapping):
    page = parse(render_article(overlapping))
    csp = next(d["content"] for t, d in page.tags
               if t == "meta" and d.get("http-equiv") == "Content-Security-Policy")
    [code] = [c for a, c in page.scripts if "type" not in a]
    [style] = page.styles
    assert f"script-src {csp_hash(code)};" in csp
    assert f"style-src {csp_hash(style)};" in csp
    assert "unsafe-inline" not in csp and "default-src 'none'" in csp


def test_report_is_self_contained(overlapping):
    page = parse(render_article(overlapping))
    for tag, attrs in page.tags:
        assert tag not in ("link", "iframe", "img", "object", "embed")
        assert "src" not in attrs, (tag, attrs)


def test_nested_scores_render_as_figures_and_a_technique_table():
    a = make_article("Some text here.")
    a.scores = {"overall": {"spans": 3, "per_1000_words": 20.607},
                "techniques": {"Doubt": {"spans": 2, "coverage": 0.0519},
                               "Slogans": {"spans": 1, "coverage": 0.2}},
                "percentiles": {}}
    html = render_article(a)
    assert "<dt>per 1,000 words</dt><dd>20.6</dd>" in html
    assert re.search(r'<th scope="row"><span class="swatch t3"></span>Doubt</th><td>2</td>'
                     r"<td>0.0519</td>", html)
    assert "<h3>percentiles</h3>" not in html  # empty groups are left out


def test_detector_scores_read_in_words_with_ranks_among_the_references():
    from propscan.detect.scoring import score_article
    from propscan.report.wording import ordinal

    a = make_article("The corrupt elites lie. The corrupt elites steal. Honest people work hard "
                     "every day and ask for nothing but fairness from those who govern them.")
    add(a, "corrupt elites", "Name_Calling,Labeling")
    add(a, "corrupt elites", "Name_Calling,Labeling", occurrence=1)
    add(a, "lie", "Loaded_Language")
    a.scores = score_article(a)  # the real figures against the shipped reference statistics
    page = parse(render_article(a))
    text = " ".join(" ".join(page.text).split())
    overall = a.scores["overall"]
    assert (f"{overall['spans']} fragments in {overall['words']} words: "
            f"{overall['per_1000_words']:.1f} per 1,000 words") in text
    ptc = a.scores["percentiles"]["ptc_train"]
    assert f"PTC training articles {ordinal(round(ptc['overall']['per_1000_words']))} " \
           "percentile" in text
    # techniques by their labels, coverage in per cent, ranks as ordinals
    name_calling = a.scores["techniques"]["Name_Calling,Labeling"]
    assert (f"Name calling / labeling 2 {name_calling['per_1000_words']:.3g} "
            f"{100 * name_calling['coverage']:.1f}% "
            f"{ordinal(round(ptc['Name_Calling,Labeling']['per_1000_words']))}") in text
    assert "not a verdict" in text and "ptc_train" not in text
    assert f"Only {overall['words']} words: one fragment more or less" in text
    long = make_article(" ".join(["Honest people work hard every day."] * 30))
    long.scores = score_article(long)
    assert "one fragment more or less" not in " ".join(parse(render_article(long)).text)


@pytest.mark.parametrize("payload", XSS.values(), ids=XSS.keys())
def test_payloads_in_detector_shaped_scores_are_escaped(payload):
    a = make_article("Some text here.")
    a.scores = {"overall": {"spans": 1, "per_1000_words": 1.0, "coverage": 0.1, "words": 10},
                "techniques": {payload: {"spans": 1, "per_1000_words": payload,
                                         "coverage": 0.1}},
                "percentiles": {"ptc_train": {payload: {"per_1000_words": payload}}}}
    html = render_article(a)
    _assert_inert(html)
    text = "".join(parse(html).text)
    assert "1 fragment in 10 words" in text and payload in text


def test_tooltip_reason_drops_the_repeated_definition():
    a = make_article("A fragment to explain.")
    add(a, "fragment", "Doubt", 0.5,
        reason="Doubt: Questioning the credibility of someone or something. Cue: score 0.5.")
    page = parse(render_article(a))
    data = next(c for attrs, c in page.scripts if attrs.get("id") == "propscan-data")
    assert json.loads(data)["spans"][0]["reason"] == "Cue: score 0.5."


def test_no_spans_says_so():
    article = make_article("Just some neutral text about the weather.")
    assert "Not analysed for techniques" in render_article(article)
    article.analysed = True  # detection ran and found nothing
    html = render_article(article)
    assert "No propaganda techniques were found." in html
    assert "<mark" not in html


def test_unknown_technique_renders_with_its_raw_name():
    a = make_article("An odd fragment here.")
    add(a, "odd fragment", "Some_New_Technique")
    html = render_article(a)
    assert 'class="frag tx l0 in"' in html and "Some_New_Technique" in html


def _assert_inert(html: str) -> None:
    page = parse(html)
    for tag, attrs in page.tags:
        assert tag != "img", attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src", "action"):
                assert not (value or "").strip().lower().startswith("javascript:"), (tag, value)
    # only our own three script elements: two inert JSON blocks and the constant code
    assert len(page.scripts) == 3
    assert sum(1 for a, _ in page.scripts if a.get("type") == "application/json") == 2
    assert "alert" not in next(c for a, c in page.scripts if "type" not in a)


@pytest.mark.parametrize("payload", XSS.values(), ids=XSS.keys())
def test_payloads_in_every_field_are_escaped(payload):
    text = f"{payload}\n\nBody starts {payload} and the evil {payload} ends here."
    a = make_article(text, body_start=text.index("Body"), title=payload, authors=[payload],
                     outlet=payload, url=payload, language="en")
    add(a, f"evil {payload}", "Loaded_Language", 0.9, reason=payload)
    a.id = payload
    a.warnings.append(payload)
    a.scores = {payload: payload, "techniques": {payload: {payload: payload}},
                "overall": {payload: 1.0}}
    html = render_article(a)
    _assert_inert(html)
    page = parse(html)
    # the payload survives as visible text, so nothing was silently dropped
    assert payload in "".join(page.body_text)
    assert html.count("<script") == 3


def test_javascript_url_is_not_a_link_but_http_url_is():
    a = make_article("Text body here.", url="javascript:alert(1)")
    assert "href=\"javascript" not in render_article(a)
    b = make_article("Text body here.", url="https://example.org/a?b=1&c=2")
    assert 'href="https://example.org/a?b=1&amp;c=2"' in render_article(b)


def test_real_ingested_article_round_trips(shared_example):
    article = from_text(shared_example.read_text(encoding="utf-8"), source="example")
    clean = article.clean_text
    for phrase, technique in (("so-called", "Loaded_Language"),
                              ("moderate opposition", "Doubt")):
        cs = clean.index(phrase)
        article.spans.append(
            article.finding_from_clean(Finding(cs, cs + len(phrase), technique, 0.7)))
    page = parse(render_article(article))
    assert "".join(page.body_text) == article.text[article.body_start:article.body_end]
    assert {t for ids, t in page.marks} >= {"so-called", "moderate opposition"}


def test_legend_heading_counts_fragments_in_words():
    a = make_article("The corrupt elites lie.")
    add(a, "lie", "Loaded_Language")
    assert "Techniques (1 fragment)<" in render_article(a)
    add(a, "corrupt elites", "Name_Calling,Labeling")
    assert "Techniques (2 fragments)<" in render_article(a)


def _lab(colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB hex colour."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    xyz = ((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
           0.2126 * r + 0.7152 * g + 0.0722 * b,
           (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
    fx, fy, fz = (t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29
                  for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def _ciede2000(lab1: tuple[float, float, float], lab2: tuple[float, float, float]) -> float:
    """CIEDE2000 colour difference (Sharma, Wu and Dalal, 2005)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = math.hypot(a1, b1), math.hypot(a2, b2)
    h1 = math.degrees(math.atan2(b1, a1)) % 360 if c1 else 0.0
    h2 = math.degrees(math.atan2(b2, a2)) % 360 if c2 else 0.0
    dh = 0.0 if c1 * c2 == 0 else (h2 - h1 + 180) % 360 - 180
    d_hue = 2 * math.sqrt(c1 * c2) * math.sin(math.radians(dh / 2))
    l_mean, c_mean = (l1 + l2) / 2, (c1 + c2) / 2
    if c1 * c2 == 0:
        h_mean = h1 + h2
    elif abs(h1 - h2) <= 180:
        h_mean = (h1 + h2) / 2
    else:
        h_mean = (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_mean - 30)) + 0.24 * math.cos(math.radians(2 * h_mean))
         + 0.32 * math.cos(math.radians(3 * h_mean + 6))
         - 0.20 * math.cos(math.radians(4 * h_mean - 63)))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c, s_h = 1 + 0.045 * c_mean, 1 + 0.015 * c_mean * t
    r_t = (-math.sin(math.radians(60 * math.exp(-(((h_mean - 275) / 25) ** 2))))
           * 2 * math.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7)))
    dl, dc, dhh = (l2 - l1) / s_l, (c2 - c1) / s_c, d_hue / s_h
    return math.sqrt(dl ** 2 + dc ** 2 + dhh ** 2 + r_t * dc * dhh)


def test_ciede2000_matches_published_pairs():
    # pairs 1, 7 and 24 of Sharma et al.'s test data
    assert _ciede2000((50, 2.6772, -79.7751), (50, 0, -82.7485)) == pytest.approx(2.0425, abs=1e-4)
    assert _ciede2000((50, 0, 0), (50, -1, 2)) == pytest.approx(2.3669, abs=1e-4)
    assert _ciede2000((50, 2.5, 0), (73, 25, -18)) == pytest.approx(27.1492, abs=1e-4)


def test_technique_colours_differ_at_a_glance_and_carry_black_text():
    # CIEDE2000 of about 2 is a just-noticeable difference; 10 or more is clearly another
    # colour (the three pinks this replaced were 4.4 apart)
    labs = {t.label: _lab(t.colour) for t in TECHNIQUES}
    closest = min((_ciede2000(labs[a], labs[b]), a, b)
                  for a, b in itertools.combinations(labs, 2))
    assert closest[0] >= 12, closest

    def luminance(colour: str) -> float:
        def linear(c: float) -> float:
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        r, g, b = (linear(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    for t in TECHNIQUES:  # WCAG contrast with black text, AAA is 7:1
        assert (luminance(t.colour) + 0.05) / 0.05 >= 7, t.label


def test_report_explains_confidence_and_model_score(overlapping):
    html = render_article(overlapping)
    note = escape(SCORES_NOTE)
    assert html.count(note) == 2  # under the legend (the tooltips) and under the findings
    assert f'<th scope="col" title="{escape(CONFIDENCE_NOTE)}">Confidence</th>' in html


def test_report_fits_a_phone_screen(overlapping):
    html = render_article(overlapping)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    css, _ = report_assets()
    # headers wrap between words only, and wide tables scroll in their own box
    assert re.search(r"table\.findings th, table\.figures th \{[^}]*overflow-wrap: normal", css)
    assert ".table-scroll { max-width: 100%; overflow-x: auto; }" in css
    assert html.count('<div class="table-scroll"><table') == html.count("<table")


def _article_with_a_quoted_and_an_author_finding() -> Article:
    """One finding inside the minister's quotation, one in the author's own words."""
    from propscan.detect.scoring import score_article

    a = from_text("A title\n\n\"The corrupt elites lie to you,\" the minister said. The so-called "
                  "opposition shelled the city again.", input_format="text")
    quoted = add(a, "corrupt elites", "Name_Calling,Labeling", 0.7)
    quoted.voice, quoted.speaker = "quoted", "the minister"
    add(a, "so-called opposition", "Loaded_Language", 0.6)
    a.scores = score_article(a)
    return a


def _mark_classes(page: PageParser) -> dict[str, list[str]]:
    """Each fragment's text -> its mark's classes (marks never nest, so the lists align)."""
    attrs = [d for tag, d in page.tags if tag == "mark"]
    return {text: (d.get("class") or "").split()
            for d, (_ids, text) in zip(attrs, page.marks, strict=True)}


def test_a_quoted_finding_is_dotted_and_its_tooltip_names_the_speaker():
    page = parse(render_article(_article_with_a_quoted_and_an_author_finding()))
    classes = _mark_classes(page)
    quoted, own = classes["corrupt elites"], classes["so-called opposition"]
    assert "quoted" in quoted and "in" not in quoted  # dotted underline, no solid fill
    assert "quoted" not in own and "in" in own
    assert sum("quoted" in (d.get("class") or "").split() for tag, d in page.tags
               if tag in ("mark", "span")) == 1
    css = page.styles[0]
    assert ".body .quoted { border-bottom-style: dotted; }" in css
    data = next(c for attrs, c in page.scripts if attrs.get("id") == "propscan-data")
    voices = [s["voice"] for s in json.loads(data)["spans"]]
    assert voices == ["quoted: the minister", ""]  # reading order: the quotation first
    js = next(c for attrs, c in page.scripts if not attrs)
    assert "s.voice" in js and "hide-quoted" in js


def test_an_unattributed_quotation_says_it_names_no_source():
    a = _article_with_a_quoted_and_an_author_finding()
    a.spans[0].speaker = None
    page = parse(render_article(a))
    data = next(c for attrs, c in page.scripts if attrs.get("id") == "propscan-data")
    assert json.loads(data)["spans"][0]["voice"] == "quoted (no named source)"


def test_the_legend_has_a_keyboard_control_that_hides_quoted_findings():
    page = parse(render_article(_article_with_a_quoted_and_an_author_finding()))
    (box,) = [d for tag, d in page.tags if tag == "input" and d.get("id") == "show-quoted"]
    assert box.get("type") == "checkbox" and "checked" in box  # a native, focusable control
    text = " ".join(" ".join(page.text).split())
    assert "Show the 1 quoted finding, drawn with a dotted underline" in text
    css = page.styles[0]
    assert ".hide-quoted .body .quoted { border-bottom-color: transparent; }" in css
    assert ".hide-quoted tr.quoted { display: none; }" in css
    # an article without quoted findings has no such control
    a = _article_with_a_quoted_and_an_author_finding()
    a.spans[0].voice, a.spans[0].speaker = "author", None
    assert 'id="show-quoted"' not in render_article(a)


def test_findings_table_marks_the_quoted_row_with_its_speaker():
    page = parse(render_article(_article_with_a_quoted_and_an_author_finding()))
    rows = [d.get("class") for tag, d in page.tags if tag == "tr"]
    assert rows.count("quoted") == 1
    text = " ".join(" ".join(page.text).split())
    assert "quoted: the minister corrupt elites" in text
    assert "quoted: the minister so-called" not in text


def test_figures_show_all_findings_and_the_authors_own_words():
    from propscan.detect.scoring import score_article

    a = _article_with_a_quoted_and_an_author_finding()
    overall, author = a.scores["overall"], a.scores["author"]
    assert (overall["spans"], author["spans"]) == (2, 1)
    text = " ".join("".join(parse(render_article(a)).text).split())
    assert (f"2 fragments in {overall['words']} words: {overall['per_1000_words']:.1f} per "
            "1,000 words") in text
    assert (f"In the author's own words (1 quoted fragment left out): 1 fragment, "
            f"{author['per_1000_words']:.1f} per 1,000 words, "
            f"{100 * author['coverage']:.0f}% of the body covered.") in text
    a.spans[0].voice = "author"
    a.scores = score_article(a)
    text = " ".join("".join(parse(render_article(a)).text).split())
    assert "No fragment lies in a quotation or reported speech" in text


def test_a_quoted_finding_inside_an_authors_one_leaves_the_fill_to_the_author():
    a = _article_with_a_quoted_and_an_author_finding()
    outer = add(a, "The corrupt elites lie to you", "Doubt", 0.5)  # the author's, around it
    page = parse(render_article(a))
    inner = [(d.get("class") or "").split() for tag, d in page.tags
             if tag == "span" and "u" in (d.get("class") or "").split()]
    assert inner == [["u", "t1", "l0", "quoted"]]  # the quoted one: dotted, not filled
    mark = _mark_classes(page)["corrupt elites"]
    assert "in" in mark and "quoted" not in mark and outer.voice == "author"


def test_findings_with_semeval_names_colour_by_category_and_group_the_legend():
    from propscan.techniques import SEMEVAL_TECHNIQUE_NAMES, category_colour

    a = make_article("The corrupt elites lie. Traitors all! Act now or never.")
    add(a, "corrupt", "Loaded_Language").technique_2023 = "Loaded_Language"
    add(a, "Traitors", "Name_Calling,Labeling").technique_2023 = "Name_Calling-Labeling"
    slogan = add(a, "Act now or never", "Slogans")
    slogan.technique_2023, slogan.category_2023 = "Appeal_to_Time", "Call"
    add(a, "lie", "Doubt")  # no SemEval-2023 name: coloured by its PTC technique
    html = render_article(a)
    css, _ = report_assets()
    classes = {name: f"s{i}" for i, name in enumerate(SEMEVAL_TECHNIQUE_NAMES)}
    # each SemEval-2023 technique's class carries its category's colour
    for name, category in (("Loaded_Language", "Manipulative wording"),
                           ("Name_Calling-Labeling", "Attack on reputation"),
                           ("Appeal_to_Time", "Call")):
        assert f".{classes[name]} {{ --c: {category_colour(category)}; }}" in css
        assert f'class="frag {classes[name]} l0 in"' in html
    assert f".hide-{classes['Appeal_to_Time']} .{classes['Appeal_to_Time']}" in css
    ptc_doubt = f"t{[t.name for t in TECHNIQUES].index('Doubt')}"
    assert f'class="frag {ptc_doubt} l0 in"' in html
    # named in both taxonomies in the findings table and the tooltip data
    data = json.loads(next(c for attrs, c in parse(html).scripts
                           if attrs.get("id") == "propscan-data"))
    labels = {s["label"] for s in data["spans"]}
    assert "Loaded language · Manipulative wording: Loaded_Language" in labels
    assert "Slogans · Call: Appeal_to_Time" in labels
    assert escape("Slogans · Call: Appeal_to_Time") in html
    # the legend lists categories in the task's order, techniques under them
    legend = html[html.index('<ul class="legend"'):html.index("</section>",
                                                            html.index('<ul class="legend"'))]
    groups = re.findall(r'<span class="group-name"><span class="swatch k\d"></span>([^<]+)',
                        legend)
    assert groups == ["Attack on reputation", "Call", "Manipulative wording"]
    assert legend.index("Appeal to time") > legend.index("Call")
    assert f'data-cls="{ptc_doubt}"' in legend  # the finding without a SemEval-2023 name
