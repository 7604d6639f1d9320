"""How far the SemEval-2023 re-annotation of the PTC training articles agrees with PTC's spans.

Usage: python scripts/annotation_agreement.py [--data ../shared/data]

The SemEval-2023 files are the same articles with slightly different texts (dropped newlines,
added periods), so each 2023 fragment is carried onto the PTC text through a word
alignment (difflib) before the official SI measure compares the two annotations: the 2023
fragments as "predictions", the PTC ones as gold. A score near 1 means the re-annotation kept
PTC's fragments and changed only their classes, so it offers no second view of where
fragments are. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import difflib
import re
from pathlib import Path

import numpy as np

from propscan.evaluate import si_scores
from propscan.evaluate.ptc import read_articles, read_tc_labels

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
_WORD = re.compile(r"\S+")


def character_map(source: str, target: str) -> np.ndarray:
    """For each offset 0..len(source) of ``source``, the matching offset in ``target``.

    The texts are aligned word by word (a character-level diff of whole articles is
    quadratic and takes minutes); characters of matched words map one to one, the others
    take the offset after the previous character's.
    """
    src_words = [(m.start(), m.group()) for m in _WORD.finditer(source)]
    tgt_words = [(m.start(), m.group()) for m in _WORD.finditer(target)]
    mapped = np.full(len(source) + 1, -1, np.int64)
    matcher = difflib.SequenceMatcher(None, [w for _, w in src_words],
                                      [w for _, w in tgt_words], autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            (s_at, word), (t_at, _) = src_words[block.a + k], tgt_words[block.b + k]
            mapped[s_at:s_at + len(word)] = np.arange(t_at, t_at + len(word))
    mapped[len(source)] = len(target)
    for i in range(len(source)):
        if mapped[i] < 0:
            mapped[i] = mapped[i - 1] + 1 if i else 0
    return np.minimum(mapped, len(target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    args = parser.parse_args()
    ptc_texts = read_articles(args.data / "ptc-train" / "train-articles")
    ptc_gold = read_tc_labels(args.data / "ptc-train" / "train-task-flc-tc.labels")
    semeval = args.data / "semeval2023-en-train"
    rows: dict[str, list[tuple[int, int]]] = {}
    for line in (semeval / "train-labels-subtask-3-spans.txt").read_text().splitlines():
        aid, _technique, start, end = line.split("\t")
        rows.setdefault(aid, []).append((int(start), int(end)))
    carried = []
    for aid, spans in sorted(rows.items()):
        text = (semeval / "articles" / f"article{aid}.txt").read_text(encoding="utf-8")
        mapped = character_map(text, ptc_texts[aid])
        carried += [(aid, int(mapped[s]), int(mapped[min(e, len(text))])) for s, e in spans]
    gold = [(aid, s, e) for aid, _, s, e in ptc_gold if aid in rows]
    si = si_scores(carried, gold)
    print(f"{len(rows)} articles with SemEval-2023 fragments; {len(carried)} fragments carried "
          f"onto the PTC texts, {len(gold)} PTC fragments")
    print(f"SemEval-2023 spans scored against PTC's with the SI measure: P {si['precision']:.4f} "
          f"R {si['recall']:.4f} F1 {si['f1']:.4f}; {si['n_pred_no_overlap']} of "
          f"{si['n_pred']} merged 2023 fragments overlap no PTC fragment")
    exact = len(set(carried) & set(gold))
    print(f"identical (start, end) after alignment: {exact} of {len(set(gold))} distinct PTC "
          "fragments")


if __name__ == "__main__":
    main()
