"""The terminal view at 80 columns: one block per finding, the cleaned body, the notes."""

from __future__ import annotations

import io

from rich.console import Console

from propscan import ingest
from propscan.doc import Finding
from propscan.report.terminal import highlighted_body, render_article
from propscan.report.wording import SCORES_NOTE
from propscan.techniques import TECHNIQUES

SENTENCE = ("The corrupt and treacherous elites, who have always despised ordinary working "
            "people, will stop at nothing to destroy this once great nation forever. ")


def _render(article, width: int = 80) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO())
    render_article(article, console)
    return console.export_text().splitlines()


def _reason(technique_index: int, cue: str, confidence: float) -> str:
    t = TECHNIQUES[technique_index]  # the detector's shape: "Label: definition Cue: ...; ..."
    return f"{t.label}: {t.definition} Cue: {cue}; confidence {confidence:.2f}."


def _article_with_findings(n: int):
    article = ingest.from_text("A headline\n\n" + SENTENCE * n, input_format="text")
    clean = article.clean_text
    for i in range(n):
        start = clean.index("The corrupt", i * len(SENTENCE))
        end = start + len(SENTENCE) - 2  # a fragment of 100+ characters
        found = Finding(start, end, TECHNIQUES[i % 14].name, 0.41, clean[start:end],
                        _reason(i % 14, "word “corrupt”, model score 0.53", 0.41))
        article.spans.append(article.finding_from_clean(found))
    return article


def test_findings_fit_80_columns_in_a_few_lines_each() -> None:
    n = 23
    lines = _render(_article_with_findings(n))
    assert max(len(line) for line in lines) <= 80
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{n} findings"))
    findings_lines = len(lines) - start
    # a block per finding (a blank line, the header, two or three lines of fragment, the
    # cue), each technique's definition once and the note: the table this replaced took
    # 449 lines for 23 findings, one word a line in its Reason column
    assert findings_lines <= 8 * n, findings_lines
    assert sum("confidence 0.41" in line for line in lines) >= n
    assert "model score 0.53" in "\n".join(lines)


def test_a_note_under_the_findings_says_what_confidence_and_model_score_mean() -> None:
    text = " ".join(" ".join(_render(_article_with_findings(2))).split())
    assert SCORES_NOTE in text
    assert "calibrated probability" in SCORES_NOTE and "uncalibrated p(real" in SCORES_NOTE


def test_terminal_body_is_the_cleaned_text_with_highlights_in_place() -> None:
    raw = "Title line\n\n9182736450The so-called experts lie. They always lie to you.\n"
    article = ingest.from_text(raw, input_format="text")
    assert "9182736450" not in article.clean_text  # the README: digit runs are removed
    fragment = "so-called experts lie"
    cs = article.clean_text.index(fragment)
    article.spans.append(article.finding_from_clean(
        Finding(cs, cs + len(fragment), "Name_Calling,Labeling", 0.5)))
    body = highlighted_body(article)
    assert body.plain == article.clean_text
    (styled,) = body.spans
    assert body.plain[styled.start:styled.end] == fragment
    assert "9182736450" not in "\n".join(_render(article))


def _article_with_a_quoted_finding():
    from propscan.detect.scoring import score_article

    article = ingest.from_text("A title\n\n\"The corrupt elites lie to you,\" the minister said. "
                               "The so-called opposition shelled the city again.",
                               input_format="text")
    for fragment, technique in (("corrupt elites", "Name_Calling,Labeling"),
                                ("so-called opposition", "Loaded_Language")):
        start = article.text.index(fragment)
        article.spans.append(article.finding_from_text(start, start + len(fragment),
                                                       technique, 0.6))
    article.spans[0].voice, article.spans[0].speaker = "quoted", "the minister"
    article.scores = score_article(article)
    return article


def test_a_quoted_finding_names_its_speaker_and_an_authors_does_not() -> None:
    lines = _render(_article_with_a_quoted_finding())
    quoted = [line for line in lines if "quoted: the minister" in line]
    assert len(quoted) == 1 and "Name calling / labeling" in quoted[0]
    assert not any("quoted" in line for line in lines if "Loaded language" in line)
    article = _article_with_a_quoted_finding()
    article.spans[0].speaker = None
    assert any("quoted (no named source)" in line for line in _render(article))


def test_the_score_line_gives_the_authors_own_rate_beside_the_overall_one() -> None:
    article = _article_with_a_quoted_finding()
    overall, author = article.scores["overall"], article.scores["author"]
    assert (overall["spans"], author["spans"]) == (2, 1)
    text = " ".join(" ".join(_render(article)).split())
    assert (f"Article score: 2 spans, {overall['per_1000_words']:.1f} per 1,000 words") in text
    assert (f"in the author's own words, quotations left out: 1 span, "
            f"{author['per_1000_words']:.1f} per 1,000 words, "
            f"{100 * author['coverage']:.0f}% covered") in text


def test_a_quoted_finding_is_underlined_in_the_body() -> None:
    article = _article_with_a_quoted_finding()
    body = highlighted_body(article)
    styles = {body.plain[s.start:s.end]: str(s.style) for s in body.spans}
    assert "underline" in styles["corrupt elites"]
    assert "underline" not in styles["so-called opposition"]


def test_an_article_not_analysed_says_so_instead_of_no_findings() -> None:
    """A non-English article (or --no-detect) was not looked at: "no techniques found" would
    read as a clean bill."""
    import io

    from rich.console import Console

    from propscan.ingest import from_text
    from propscan.report.html import render_article
    from propscan.report.terminal import render_article as render_terminal

    article = from_text("Le gouvernement a annoncé une réforme. Les syndicats appellent à la "
                        "grève générale dans tout le pays, et le ministre répond.",
                        meta={"language": "fr"})
    console = Console(width=80, record=True, file=io.StringIO())
    render_terminal(article, console)
    shown = " ".join(console.export_text().split())
    assert "Not analysed for techniques: the article's language is 'fr'" in shown
    assert "No propaganda techniques" not in shown
    html = render_article(article)
    assert "Not analysed for techniques" in html and "No propaganda techniques" not in html
    article.analysed = True
    assert "No propaganda techniques were found" in render_article(article)


def test_findings_with_semeval_names_are_coloured_by_category_and_named_twice() -> None:
    from propscan.techniques import category_colour, get_technique

    article = _article_with_findings(2)
    first, second = sorted(article.spans, key=Finding.sort_key)
    first.technique_2023 = "Loaded_Language"  # a PTC Loaded_Language finding
    first.category_2023 = "Manipulative wording"
    text = " ".join(" ".join(_render(article, width=200)).split())
    assert "Loaded language · Manipulative wording: Loaded_Language" in text
    # the legend: the category, then its technique with the SemEval-2023 definition
    assert "Manipulative wording Loaded language (Loaded_Language)" in text
    body = highlighted_body(article)
    colours = {str(span.style).split(" on ")[1].split()[0] for span in body.spans}
    assert category_colour("Manipulative wording") in colours
    # the other finding has no SemEval-2023 name: its PTC technique's colour
    assert get_technique(second.technique).colour in colours
    assert get_technique(first.technique).colour not in colours
