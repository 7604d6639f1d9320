"""A small real batch database for the explorer's tests: invented articles written through the
batch store (``DuckDBStore``), with findings at exact offsets into each article's text."""

from __future__ import annotations

from pathlib import Path

from propscan.batch.engines import Result
from propscan.batch.store import DuckDBStore
from propscan.doc import Finding, count_words

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'

#: (id, title, outlet, published, language, analysed, body, [(phrase, technique)])
ARTICLES = [
    ("a1", "Budget talks resume", "PolitiFact", "2024-01-10", "en", True,
     "The corrupt elites met again. They will destroy the nation, critics warned.",
     [("corrupt elites", "Name_Calling,Labeling"), ("destroy the nation", "Loaded_Language")]),
    ("a2", "Budget vote delayed", "politifact.", "2024-01-22", "en", True,
     "Lawmakers delayed the vote. Only a fool would support this plan.",
     [("Only a fool", "Name_Calling,Labeling")]),
    ("a3", "Harbour reopens", "Daily Tide", "2024-03-05", "en", True,
     "The harbour reopened on Monday after repairs. Ships returned slowly.", []),
    ("a4", "Storm warning issued", "Daily Tide", "2024-03-19", "en", True,
     "A monstrous storm will wreck everything. Make the coast safe again!",
     [("monstrous storm", "Loaded_Language"), ("Make the coast safe again!", "Slogans"),
      ("wreck everything", "Exaggeration,Minimisation")]),
    ("a5", "Marché local", "Le Quai", "2024-03-20", "fr", False,
     "Le marché ouvre ses portes ce samedi matin.", []),
    ("a6", HOSTILE, HOSTILE, "2024-04-02", "en", True,
     f"Plain words {HOSTILE} and a terrible disaster for all.",
     [("terrible disaster", "Loaded_Language")]),
    ("https://news.example/b/7", "Undated opinion", None, None, "en", True,
     "They say it is a total catastrophe. A total catastrophe, they repeat.",
     [("total catastrophe", "Loaded_Language"), ("A total catastrophe", "Repetition")]),
]


def build(path: Path) -> Path:
    """Write the articles to a DuckDB batch store at ``path``; returns it."""
    results = []
    for aid, title, outlet, published, language, analysed, body, marks in ARTICLES:
        text = f"{title}\n\n{body}"
        start = len(title) + 2
        spans = []
        for phrase, technique in marks:
            i = text.index(phrase, start)
            spans.append(Finding(i, i + len(phrase), technique, 0.8, phrase, "invented"))
        results.append(Result(
            id=aid, source=f"{aid}.txt", status="ok", title=title, published=published,
            outlet=outlet, language=language, input_format="text", n_words=count_words(body),
            analysed=analysed, text=text, body_start=start, body_end=len(text),
            scores={"n_spans": len(spans)} if analysed else {}, spans=spans))
    results.append(Result(id="bad", source="bad.txt", status="error", error="could not decode"))
    with DuckDBStore(path) as store:
        run = store.start_run(["invented/"])
        store.set_model(run, {"name": "test-model", "version": "t1"})
        store.write(results, run)
        store.finish_run(run, len(results) - 1, 1, 0)
        # an article stored before texts were kept
        store.con_.execute(
            "INSERT INTO articles (id, run_id, source, title, outlet, published, language, "
            "n_words, n_spans, scores, status, analysed) VALUES ('old1', ?, 'old.txt', "
            "'Old article', 'Daily Tide', DATE '2024-05-01', 'en', 40, 1, '{}', 'ok', true)",
            [run])
        store.con_.execute("INSERT INTO spans (article_id, start, \"end\", technique, "
                           "confidence, text) VALUES ('old1', 0, 3, 'Doubt', 0.5, 'Old')")
    return path

