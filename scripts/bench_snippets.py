"""Speed and reach of result snippets: `search.snippets.snippet` over real passages and questions.

    python scripts/bench_snippets.py                    # the repo's sample corpus, every sample question
    python scripts/bench_snippets.py --corpus ../shared/data/eval/rtqa-5k.jsonl.gz \\
        --questions ../shared/data/eval/questions_dev.jsonl

Each question is paired with every passage of every article in the corpus (samples) or of its relevant
articles (when the corpus is large); passages are cut as the index cuts them, with word pieces estimated
from words. Prints p50/p95 of one snippet call in microseconds, the snippets' lengths, and how many of the
passage's distinct query words the snippet still shows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index.chunking import ChunkingParams, chunk_text  # noqa: E402
from index.model import Article  # noqa: E402
from index.readers import read_paths  # noqa: E402
from search.highlight import highlight_spans, query_terms, stem  # noqa: E402
from search.snippets import snippet  # noqa: E402

SAMPLE_CORPUS = REPO / "data" / "sample"
SAMPLE_QUESTIONS = REPO / "data" / "eval" / "sample_questions.jsonl"
REPEATS = 20  # calls per (question, passage): the minimum of a few is the honest cost on a busy machine


def word_pieces(texts) -> list[int]:
    return [len(t.split()) * 4 // 3 + 1 for t in texts]  # ~1.3 word pieces per English word


def load(corpus: Path, questions: Path, per_question_only: bool) -> list[tuple[str, str]]:
    """(question, passage) pairs."""
    asked = [json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    wanted = {url for q in asked for url in q.get("relevant_urls", [])} if per_question_only else None
    passages: dict[str, list[str]] = {}
    for article in read_paths([corpus]):
        if not isinstance(article, Article) or (wanted is not None and article.url not in wanted):
            continue
        chunks = chunk_text(str(article.url), article.text, ChunkingParams(), word_pieces)
        passages[str(article.url)] = [c.text for c in chunks]
    pairs = []
    for q in asked:
        urls = q.get("relevant_urls", []) if per_question_only else list(passages)
        pairs += [(q["question"], text) for url in urls for text in passages.get(url, [])]
    return pairs


def summary(timings: list[float]) -> str:
    timings = sorted(timings) or [0.0]
    p95 = timings[int(0.95 * (len(timings) - 1))]
    return f"p50 {statistics.median(timings):.1f} µs, p95 {p95:.1f} µs, max {timings[-1]:.1f} µs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SAMPLE_CORPUS)
    parser.add_argument("--questions", type=Path, default=SAMPLE_QUESTIONS)
    parser.add_argument("--target", type=int, default=300)
    args = parser.parse_args()

    pairs = load(args.corpus, args.questions, per_question_only=args.corpus != SAMPLE_CORPUS)
    if not pairs:
        print("no (question, passage) pairs: check --corpus and --questions", file=sys.stderr)
        return 1
    timings, cut_timings, lengths, passage_lengths, kept = [], [], [], [], []
    for question, passage in pairs:
        spans = highlight_spans(passage, query_terms(question))
        best = float("inf")
        for _ in range(REPEATS):
            started = time.perf_counter_ns()
            result = snippet(passage, spans, args.target)
            best = min(best, time.perf_counter_ns() - started)
        timings.append(best / 1000)
        if len(result.text) < len(passage):
            cut_timings.append(best / 1000)
        lengths.append(len(result.text))
        passage_lengths.append(len(passage))
        in_passage = {stem(passage[s:e]) for s, e in spans}
        if in_passage:
            kept.append(len({stem(result.text[s:e]) for s, e in result.highlights}) / len(in_passage))

    print(f"{len(pairs)} (question, passage) pairs, target {args.target} characters")
    print(f"snippet time, all passages: {summary(timings)}")
    print(f"snippet time, passages cut ({len(cut_timings)}): {summary(cut_timings)}")
    print(f"passage length: mean {statistics.mean(passage_lengths):.0f}, max {max(passage_lengths)}")
    print(f"snippet length: mean {statistics.mean(lengths):.0f}, max {max(lengths)}")
    if kept:
        print(f"distinct query words of the passage still in the snippet: mean {statistics.mean(kept):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
