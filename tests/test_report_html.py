"""The HTML report: exact text, overlapping fragments, legend, embedded JSON, CSP, escaping."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from propscan.doc import Article, Metadata, Span
from propscan.ingest import from_text
from propscan.offsets import OffsetMap
from propscan.report.html import csp_hash, render_article, segment_spans

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
        reason: str = "", occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = article.text.index(fragment, start + 1)
    span = article.span_from_text(start, start + len(fragment), technique, confidence, reason)
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
    spans = [Span(2, 8, "A", 1, ""), Span(4, 6, "B", 1, ""), Span(5, 10, "C", 1, "")]
    segs = segment_spans(spans, 0, 12)
    assert [(a, b) for a, b, _ in segs] == [(0, 2), (2, 4), (4, 5), (5, 6), (6, 8), (8, 10),
                                            (10, 12)]
    assert [c for _, _, c in segs] == [[], [0], [0, 1], [0, 2, 1], [0, 2], [2], []]


def test_segments_clip_to_the_body_and_ignore_empty_spans():
    spans = [Span(0, 5, "A", 1, ""), Span(7, 7, "B", 1, "")]
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
    from propscan.detect.scoring import ordinal, score_article

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
    html = render_article(make_article("Just some neutral text about the weather."))
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
        article.spans.append(article.span_from_clean(cs, cs + len(phrase), technique, 0.7))
    page = parse(render_article(article))
    assert "".join(page.body_text) == article.text[article.body_start:article.body_end]
    assert {t for ids, t in page.marks} >= {"so-called", "moderate opposition"}


def test_legend_heading_counts_fragments_in_words():
    a = make_article("The corrupt elites lie.")
    add(a, "lie", "Loaded_Language")
    assert "Techniques (1 fragment)<" in render_article(a)
    add(a, "corrupt elites", "Name_Calling,Labeling")
    assert "Techniques (2 fragments)<" in render_article(a)
