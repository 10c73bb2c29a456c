#!/usr/bin/env python3
"""Score the HTML reader's article bodies against hand-labelled ones.

Uses the pages and ground truth of the public article-extraction benchmark
(scrapinghub/article-extraction-benchmark), copied to ``../shared/data/raw/html/``, and scores
them the way that benchmark does, so the numbers compare with its published table:

- text is split into ``\\w+`` tokens, and each text becomes a bag of 4-token shingles;
- per page, true positives / false positives / false negatives are counted over the bags and
  divided by their sum, so a long page weighs no more than a short one;
- precision is the mean of per-page precisions over pages where something was extracted;
  recall is the mean of per-page recalls over pages with a true body; F1 is the harmonic mean
  of those two means (not the mean of per-page F1s).

A page where nothing was extracted scores recall 0 and does not enter precision; such pages are
listed as failures.

    .venv/bin/python scripts/eval_extraction.py [--data DIR] [--show-worst N]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index.model import Article, Skip  # noqa: E402
from index.readers import load_file  # noqa: E402
from index.readers.html import read_html  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared/data"
SHINGLE_SIZE = 4
_TOKEN = re.compile(r"\w+")


@dataclass(slots=True, frozen=True)
class PageScore:
    key: str
    tp: float
    fp: float
    fn: float

    @property
    def precision(self) -> float | None:
        if self.tp + self.fp == 0:
            return None
        return 1.0 if self.fp == self.fn == 0 else self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        if self.tp + self.fn == 0:
            return None
        return 1.0 if self.fp == self.fn == 0 else self.tp / (self.tp + self.fn)


def shingles(text: str, size: int = SHINGLE_SIZE) -> Counter[tuple[str, ...]]:
    """Bag of overlapping `size`-token shingles; a text shorter than `size` is one shingle."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return Counter()
    return Counter(tuple(tokens[i : i + size]) for i in range(max(1, len(tokens) - size + 1)))


def score_page(key: str, truth: str, predicted: str) -> PageScore:
    true_bag, predicted_bag = shingles(truth), shingles(predicted)
    tp = sum((true_bag & predicted_bag).values())
    fp = sum((predicted_bag - true_bag).values())
    fn = sum((true_bag - predicted_bag).values())
    total = tp + fp + fn
    if total:
        # Normalized so that every page weighs the same in the averages.
        return PageScore(key, tp / total, fp / total, fn / total)
    return PageScore(key, 0.0, 0.0, 0.0)


def summarize(scores: list[PageScore]) -> tuple[float, float, float]:
    precisions = [s.precision for s in scores if s.precision is not None]
    recalls = [s.recall for s in scores if s.recall is not None]
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def extract_body(path: Path) -> tuple[str, str | None]:
    """The body the HTML reader extracts from one page, and the skip reason when it extracted none."""
    loaded = load_file(path)
    if isinstance(loaded, Skip):
        return "", loaded.reason
    for item in read_html(loaded):
        if isinstance(item, Article):
            return item.text, None
        return "", item.reason
    return "", "reader yielded nothing"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help=f"shared data folder holding raw/html/ (default: {DEFAULT_DATA})",
    )
    parser.add_argument(
        "--show-worst", type=int, default=0, metavar="N", help="also list the N pages with the lowest F1"
    )
    args = parser.parse_args(argv)

    html_dir = args.data / "raw" / "html"
    truth_path = html_dir / "html-ground-truth.json"
    if not truth_path.is_file():
        print(f"skipped: {truth_path} not found (pass --data DIR to point at the shared data)")
        return 0
    truth = json.loads(truth_path.read_text(encoding="utf-8"))

    started = time.perf_counter()
    scores: list[PageScore] = []
    failures: list[tuple[str, str]] = []
    for key in sorted(truth):
        page = html_dir / f"{key}.html.gz"
        if not page.is_file():
            failures.append((key, "page file missing"))
            scores.append(score_page(key, truth[key].get("articleBody", ""), ""))
            continue
        body, reason = extract_body(page)
        if reason:
            failures.append((key, reason))
        scores.append(score_page(key, truth[key].get("articleBody", ""), body))
    elapsed = time.perf_counter() - started

    precision, recall, f1 = summarize(scores)
    print(f"pages: {len(scores)}  extraction failed: {len(failures)}  ({elapsed:.1f} s)")
    print(f"precision={precision:.3f}  recall={recall:.3f}  F1={f1:.3f}")
    for key, reason in failures:
        print(f"  failed {key[:16]}…: {reason}")
    if args.show_worst:

        def page_f1(s: PageScore) -> float:
            p, r = s.precision or 0.0, s.recall or 0.0
            return 2 * p * r / (p + r) if p + r else 0.0

        print(f"worst {args.show_worst} pages:")
        for s in sorted(scores, key=page_f1)[: args.show_worst]:
            print(
                f"  {s.key[:16]}…  P={s.precision or 0:.3f} R={s.recall or 0:.3f} F1={page_f1(s):.3f}"
                f"  {truth[s.key].get('url', '')}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
