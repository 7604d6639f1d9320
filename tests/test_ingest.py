"""Ingestion on real and invented inputs: metadata, body boundaries, cleaning, offsets."""

from __future__ import annotations

import codecs
import json
import re
from datetime import date

import pytest

from propscan.doc import Finding
from propscan.errors import (
    BinaryInput,
    EmptyInput,
    EncodingError,
    InputTooLarge,
    InvalidRecord,
    UnsupportedFormat,
)
from propscan.ingest import (
    detect_format,
    from_bytes,
    from_html,
    from_record,
    from_text,
    iter_bytes,
    read_path,
)
from tests.conftest import INVENTED_EXAMPLE


def _assert_map_exact(article) -> None:
    """Every cleaned character maps to input characters it came from."""
    m = article.offset_map
    assert len(m) == len(article.clean_text)
    for i, ch in enumerate(article.clean_text):
        source = article.text[m.starts[i]:m.ends[i]]
        assert source, i
        if len(source) == 1:
            assert ch == source or (ch in " \n" and source.isspace()), (i, ch, source)


def test_shared_example_metadata_and_body(shared_example):
    [article] = read_path(shared_example)
    meta = article.meta
    assert meta.title == "Aleppo Proves Western Media Sources Wrong"
    assert meta.published == date(2016, 12, 18)
    assert meta.authors == ["Jean Périer"]
    assert meta.outlet == "New Eastern Outlook"
    assert meta.language == "en"
    assert article.clean_text.startswith("The members of the so-called")
    assert article.text[article.body_start:].startswith("The members of the so-called")
    assert "4323123123123" not in article.clean_text
    assert "4323123123123" in article.text  # the input stays as decoded
    assert "independent researcher" not in article.clean_text  # the bio is not body
    assert article.text[article.body_end:].lstrip().startswith("Jean P")
    assert article.clean_text.endswith("the policies he has been pursuing.")
    _assert_map_exact(article)


def test_ptc_article_offsets_unchanged(ptc_articles):
    path = ptc_articles / "article111111111.txt"
    raw = path.read_text(encoding="utf-8")
    [article] = read_path(path)
    assert article.text == raw  # offsets index the file itself, as PTC labels do
    assert article.input_format == "ptc"
    assert article.meta.title == raw.split("\n", 1)[0]
    assert article.body_start == raw.index("\n\n") + 2
    assert article.clean_text == article.text[article.body_start:article.body_end]
    span = article.finding_from_clean(Finding(0, 6, "Loaded_Language", 0.5))
    assert article.text[span.start:span.end] == span.text == article.clean_text[:6]


def test_invented_example():
    [article] = read_path(INVENTED_EXAMPLE)
    assert article.meta.authors == ["Mara Lindqvist"]
    assert article.meta.outlet == "Averly Morning Ledger"
    assert article.meta.published == date(2025, 2, 3)
    assert "9182736450" not in article.clean_text


def test_plain_text_without_header_is_all_body():
    text = "Officials met on Tuesday to discuss the budget. They agreed on nothing at all."
    article = from_text(text)
    assert article.meta.title is None and article.meta.authors == []
    assert (article.body_start, article.body_end) == (0, len(text))
    assert article.clean_text == text


@pytest.mark.parametrize("text", [
    "Author and candidate Ann Example explains how listening helps heal the world.",
    "For many leaders, mounting public ire would be cause for worry, but this is a long first "
    "paragraph that ends like a sentence.\n\n1:14 AM UTC",
])
def test_headerless_text_sentences_are_body_not_header_or_title(text):
    article = from_text(text)
    assert article.meta.authors == [] and article.meta.title is None
    assert article.body_start == 0


def test_byline_header_variants():
    article = from_text("By Jay Example--\n\nA headline\n\nThe body text is here, and long enough.")
    assert article.meta.authors == ["Jay Example"]
    assert article.meta.title == "A headline"


# Invented page furniture of the kinds crawlers keep above an article's text.
_HEADLINE = "Harbour council votes to close the old ferry pier"
_FIRST_PARAGRAPH = ("The council of an invented harbour town voted on Monday to close its ferry "
                    "pier, after a survey found the timber unsafe.")


@pytest.mark.parametrize("furniture", [
    ["Advertisement"],
    ["Updated", "January 6, 2020"],
    ["Photo by Example Person"],
    ["© 2021, Example Pages"],
    ["A. Example / Getty Images"],
    ["NEW You can now listen to Example News articles!", "Send this page to someone via email"],
    ["The pier at dusk. Credit: Example Archive"],
    ["31/12/2019 - 14h08"],
])
def test_page_furniture_above_the_text_is_neither_title_nor_body(furniture):
    text = "\n\n".join([*furniture, _HEADLINE, _FIRST_PARAGRAPH])
    article = from_text(text)
    assert article.meta.title == _HEADLINE
    assert article.text[article.body_start:].startswith(_FIRST_PARAGRAPH)
    assert article.clean_text == _FIRST_PARAGRAPH
    _assert_map_exact(article)


def test_page_furniture_without_a_headline_leaves_the_text_as_body():
    article = from_text("Advertisement\n\n" + _FIRST_PARAGRAPH)
    assert article.meta.title is None
    assert article.clean_text == _FIRST_PARAGRAPH
    # furniture alone is still analysed: a record is never dropped for it
    only = from_text("Advertisement\n\nUpdated")
    assert only.clean_text == "Updated"


def test_page_furniture_between_paragraphs_is_dropped_from_the_clean_text():
    second = "Engineers will inspect the new pier next spring, the invented mayor said."
    third = "Ferries will use the fishing quay until then."
    text = "\n\n".join([_HEADLINE, _FIRST_PARAGRAPH, "Advertisement", second,
                        "Photo: A. Example/Example Press.", third, "© 2020 Example Agency"])
    article = from_text(text)
    assert article.clean_text == "\n\n".join([_FIRST_PARAGRAPH, second, third])
    _assert_map_exact(article)
    assert article.text[article.body_end:].startswith("\n\n© 2020")
    start = article.clean_text.index("Ferries")
    span = article.finding_from_clean(Finding(start, start + 7, "Loaded_Language", 0.5))
    assert article.text[span.start:span.end] == "Ferries"


@pytest.mark.parametrize("sentence", [
    "Photos by the agency show the damaged timber of the old pier.",
    "The council explained the new credit: it halves the fare for pensioners.",
    "Copyright law was not mentioned at the meeting.",
    "Fares / apply to residents only, the clerk said.",
    "Updated timetables will be posted at the quay.",
])
def test_prose_that_starts_like_furniture_stays_in_the_body(sentence):
    text = "\n\n".join([_HEADLINE, _FIRST_PARAGRAPH, sentence])
    assert from_text(text).clean_text == "\n\n".join([_FIRST_PARAGRAPH, sentence])


def test_ptc_files_keep_every_line_of_their_body(ptc_articles):
    raw = (ptc_articles / "article727869189.txt").read_text(encoding="utf-8")
    assert "\nAdvertisement\n" in raw
    [article] = read_path(ptc_articles / "article727869189.txt")
    assert article.clean_text == article.text[article.body_start:article.body_end]
    assert "\nAdvertisement\n" in article.clean_text
    # a PTC file is taken as it is, first line included
    ptc = from_text("Advertisement\n\nThe pier closed.\nFerries moved.", input_format="ptc")
    assert ptc.meta.title == "Advertisement"
    assert ptc.clean_text == "The pier closed.\nFerries moved."


@pytest.mark.parametrize("headline", [
    "Updated rules for drivers come into force", "By the numbers: the invented budget",
    "March 2020 was the wettest month on record", "Credit card fraud rises again",
    "Photography students win an invented prize",
])
def test_headlines_that_start_like_furniture_stay_titles(headline):
    article = from_text(headline + "\n\n" + _FIRST_PARAGRAPH)
    assert article.meta.title == headline


def test_no_ptc_title_looks_like_furniture(ptc_articles):
    from propscan.ingest.plaintext import is_page_furniture

    titles = [p.read_text(encoding="utf-8").split("\n", 1)[0]
              for p in sorted(ptc_articles.glob("article*.txt"))]
    assert len(titles) == 371
    assert [t for t in titles if is_page_furniture(t)] == []


def test_cleaning_mojibake_zero_width_and_spaces():
    text = ("Headline here\n\nThe caf\u00c3\u00a9 was   full.\u200b It  was\u00a0loud."
            "\n\n\n\nEnd of it.")
    article = from_text(text)
    assert article.clean_text == "The café was full. It was loud.\n\nEnd of it."
    _assert_map_exact(article)
    cs = article.clean_text.index("café")
    span = article.finding_from_clean(Finding(cs, cs + 4, "Loaded_Language", 1.0))
    assert span.text == "caf\u00c3\u00a9"  # the span covers the original bytes


def test_non_english_is_not_analysed_and_says_why():
    from propscan.pipeline import Pipeline

    article = from_text("Die Regierung hat heute neue Maßnahmen beschlossen, die viele Bürger "
                        "für ungerecht halten und gegen die sie protestieren wollen.")
    assert article.meta.language == "de"
    Pipeline().analyze(article)  # no model is loaded for it
    assert not article.analysed and article.spans == []
    assert any("not analysed for techniques" in w and "'de'" in w for w in article.warnings)


def test_html_page_with_metadata():
    html = """<!doctype html><html><head><title>Invented Daily: Council votes</title>
    <meta property="og:site_name" content="Invented Daily">
    <meta name="author" content="Pat Example">
    <meta property="article:published_time" content="2024-05-17T08:00:00Z">
    </head><body><nav>Home | World | Sport</nav><article><h1>Council votes on the harbour</h1>
    <p>INVENTED EXAMPLE. The council of an imaginary town voted on Tuesday to rebuild the old
    harbour wall, after months of debate between fishermen and shop owners.</p>
    <p>Opponents called the plan a shameful waste of money, while supporters said that the town
    could not afford to wait any longer for repairs that were decades overdue.</p>
    </article><footer>Copyright Invented Daily</footer></body></html>"""
    [article] = from_bytes(html.encode(), name="page.html")
    assert article.input_format == "html"
    assert article.meta.outlet == "Invented Daily"
    assert article.meta.authors == ["Pat Example"]
    assert article.meta.published == date(2024, 5, 17)
    assert "shameful waste of money" in article.clean_text
    assert "Home | World" not in article.text
    assert "Copyright" not in article.text
    _assert_map_exact(article)


def test_html_without_text_is_refused():
    with pytest.raises(EmptyInput):
        from_html("<html><head><title>Only a title</title></head><body> </body></html>")


def test_jsonl_records_with_metadata():
    lines = [
        {"text": "INVENTED. The minister praised the glorious reform again and again.",
         "title": "Reform", "author": "A. Writer", "date": "2023-01-02", "outlet": "Example Post"},
        {"html": "<html><body><article><p>INVENTED. A quiet day in the imaginary town, where "
                 "the market opened as usual and nobody complained about anything at all.</p>"
                 "</article></body></html>", "url": "https://example.org/a"},
    ]
    data = "\n".join(json.dumps(x) for x in lines).encode()
    first, second = from_bytes(data, name="records.jsonl")
    assert first.meta.title == "Reform" and first.meta.authors == ["A. Writer"]
    assert first.meta.published == date(2023, 1, 2) and first.meta.outlet == "Example Post"
    assert second.id == "https://example.org/a" and second.input_format == "html"
    assert first.id.startswith("sha256:") and first.id != second.id


def test_record_errors():
    with pytest.raises(InvalidRecord):
        from_record({"title": "no text"})
    with pytest.raises(InvalidRecord):
        from_bytes(b'{"text": "ok"}\n{broken', name="r.jsonl")
    with pytest.raises(UnsupportedFormat):
        from_bytes(b"hello world", input_format="pdf")


def test_format_detection():
    assert detect_format("a.html", "x") == "html"
    assert detect_format(None, "<!DOCTYPE html><html>") == "html"
    assert detect_format(None, '{"text": "x"}') == "json"
    assert detect_format("article123.txt", "x") == "ptc"
    assert detect_format("article123.txt", "A title\n\nOne sentence.\nAnother one.") == "ptc"
    # paragraphs only, as in scraped news saved under PTC-like names: plain text
    assert detect_format("article123.txt", "A title\n\nOne paragraph.\n\nAnother.") == "text"
    assert detect_format(None, "Just words.") == "text"


# ---- metadata of HTML pages (issue 26) --------------------------------------------------------
_BODY = ("<article><h1>Harbour wall vote</h1>" + "<p>INVENTED EXAMPLE. The council of an "
         "imaginary town voted on Tuesday to rebuild the old harbour wall, after months of "
         "debate between fishermen and shop owners.</p>" * 3 + "</article>")


def _page(head: str, body: str = _BODY) -> str:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


@pytest.mark.parametrize(("head", "authors", "outlet"), [
    ('<meta name="author" content="Pat Example Invented News International">'
     '<meta property="og:site_name" content="Invented News International">',
     ["Pat Example"], "Invented News International"),
    ('<meta name="author" content="Pat Example Invented International">'
     '<meta property="og:site_name" content="InventedInt">', ["Pat Example"], "InventedInt"),
    ('<meta name="author" content="Pat Timesworth"><meta property="og:site_name" '
     'content="Times">', ["Pat Timesworth"], "Times"),
    ('<meta name="copyright" content="Copyright 2014">', [], "invented.example"),
    ('<meta property="og:site_name" content="© 2011 Invented Media. All rights reserved.">',
     [], "Invented Media"),
    ('<meta name="twitter:site" content="@InventedInt">', [], "InventedInt"),
])
def test_html_authors_lose_the_outlet_and_copyright_lines_are_no_outlet(head, authors, outlet):
    article = from_html(_page(head), url="https://invented.example/2024/harbour")
    assert article.meta.authors == authors
    assert article.meta.outlet == outlet


def test_strip_outlet_keeps_names_it_cannot_separate():
    from propscan.ingest.html_extract import clean_outlet, strip_outlet

    assert strip_outlet("Pat Example, for Invented Post", "Invented Post", None) == "Pat Example"
    assert strip_outlet("Invented Post - Pat Example", "Invented Post", None) == "Pat Example"
    assert strip_outlet("Invented Post", "Invented Post", None) == "Invented Post"
    assert strip_outlet("Pat Example Invented News", None, "www.invented-news.com") == \
        "Pat Example"
    assert strip_outlet("Pat Smith", None, "smith.com") == "Pat Smith"  # a surname, not a host
    assert clean_outlet("Copyright 2014", None) is None
    assert clean_outlet("(c) 2010-2024", "invented.example") == "invented.example"


def test_html_with_only_a_menu_is_empty():
    with pytest.raises(EmptyInput, match="navigation"):
        from_html("<html><body><nav>Home | About</nav></body></html>", source="menu.html")
    with pytest.raises(EmptyInput):
        from_html(_page("", '<div role="navigation"><a>Home</a> | <a>About</a></div>'))


def test_html_nested_deeper_than_libxml2_keeps_its_text():
    for depth in (300, 20_000):
        article = from_html(_page("", "<div>" * depth + _BODY + "</div>" * depth))
        assert "rebuild the old harbour wall" in article.clean_text
        [note] = [w for w in article.warnings if " deep;" in w]
        assert int(re.search(r"([\d,]+) deep", note)[1].replace(",", "")) >= depth
        _assert_map_exact(article)
    plain = "<blockquote>" * 5000 + "<p>INVENTED. Deep quoted words.</p>" + "</blockquote>" * 5000
    article = from_html(_page("", plain))
    assert "Deep quoted words." in article.clean_text


# ---- decoding -------------------------------------------------------------------------------
def test_short_inputs_are_never_guessed_as_utf16():
    from propscan.ingest.decode import decode_bytes

    assert decode_bytes(b"\x93Hi\x94") == ("\u201cHi\u201d",
                                         "input is not UTF-8; decoded as cp1252")
    assert decode_bytes(b"caf\xe9")[0] == "café"
    text = "INVENTED. A sentence saved as UTF-16 by an old editor, with no byte order mark."
    for codec in ("utf-16-le", "utf-16-be"):
        decoded, warning = decode_bytes(text.encode(codec))
        assert decoded == text and "no byte order mark" in warning
    with pytest.raises(BinaryInput):  # too short to be evidence of UTF-16
        decode_bytes("Hi there".encode("utf-16-le"))


@pytest.mark.parametrize("data", [
    codecs.BOM_UTF16_LE + "odd".encode("utf-16-le") + b"x",
    codecs.BOM_UTF16_BE + b"\xd8\x00\x00a",
    codecs.BOM_UTF8 + b"caf\xe9",
])
def test_broken_unicode_behind_a_bom_is_an_encoding_error(data):
    from propscan.ingest.decode import decode_bytes

    with pytest.raises(EncodingError, match="byte order mark"):
        decode_bytes(data)


def test_json_records_must_be_utf8():
    with pytest.raises(EncodingError, match="JSON must be UTF-8"):
        from_bytes(b'{"text": "caf\xe9 au lait, invented"}', name="r.json")


# ---- records --------------------------------------------------------------------------------
@pytest.mark.parametrize(("record", "message"), [
    ({"text": "INVENTED words.", "authors": 5}, "'authors' must be a string or a list"),
    ({"text": "INVENTED words.", "title": ["a"]}, "'title' must be a string"),
    ({"text": "INVENTED words.", "id": "\ud800"}, "lone surrogate"),
    ({"text": "INVENTED \udfff words."}, "lone surrogate"),
    ({"text": "INVENTED words.", "title": "T" * 10_001}, "at most 10,000"),
    ({"text": "   "}, "is empty"),
])
def test_bad_records_are_invalid_records_in_every_entry_point(record, message):
    with pytest.raises(InvalidRecord, match=message):
        from_record(record)
    document = json.dumps(record).encode()  # a JSON escape carries the surrogate
    with pytest.raises(InvalidRecord, match=message):
        from_bytes(document, name="r.json")


def test_every_line_is_checked_before_the_first_article():
    good = json.dumps({"text": "INVENTED. A fine record of an imaginary town."})
    lines = "\n".join([good] * 5 + ['{"text": "x", "author": {"name": "Pat"}}'])
    articles = iter_bytes(lines.encode(), name="r.jsonl")
    with pytest.raises(InvalidRecord, match="line 6"):
        next(articles)


def test_json_nesting_is_limited_before_parsing():
    from propscan.ingest.records import MAX_JSON_DEPTH, loads

    assert loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    with pytest.raises(InvalidRecord, match="deeper than"):
        loads("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert loads('["' + "[" * 100 + '"]') == ["[" * 100]  # brackets in strings do not count
    with pytest.raises(InvalidRecord):
        loads("[" * 200_000 + "]" * 200_000)


def test_standard_input_holding_records_gets_the_record_cap():
    from propscan.ingest import MAX_ARTICLE_BYTES

    line = json.dumps({"text": "INVENTED. " + "word " * 2000}) + "\n"
    data = (line * (MAX_ARTICLE_BYTES // len(line) + 2)).encode()
    assert len(data) > MAX_ARTICLE_BYTES
    articles = iter_bytes(data, name=None)
    assert next(articles).clean_text.startswith("INVENTED.")
    with pytest.raises(InputTooLarge):
        from_bytes(b"word " * (MAX_ARTICLE_BYTES // 5 + 1), name=None)


@pytest.mark.parametrize("name", ["corpus.csv", "corpus.parquet", "crawl.warc.gz"])
def test_corpus_formats_are_left_to_batch(name):
    with pytest.raises(UnsupportedFormat, match="propscan batch"):
        from_bytes(b"text\nINVENTED words\n", name=name)


def test_plainly_english_text_skips_the_language_model_and_agrees_with_it():
    import py3langid

    from propscan.ingest.language import _plainly_english, detect_language

    english = ("INVENTED. The council of the imaginary town voted to rebuild the wall of the "
               "harbour, and the mayor said that the work would start in the spring. ") * 3
    assert _plainly_english(english) and detect_language(english) == "en"
    assert py3langid.classify(english)[0] == "en"
    dutch = "De regering heeft vandaag nieuwe maatregelen genomen die veel burgers oneerlijk " \
            "vinden. In de stad is het rustig, maar dat kan veranderen. " * 3
    assert not _plainly_english(dutch) and detect_language(dutch) == "nl"
