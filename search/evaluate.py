"""Retrieval quality on question and story files, measured through the same Searcher users get.

Questions (`question`, `relevant_urls`): recall@1/5/10, MRR@10 and nDCG@10 per mode, an article counting
as relevant when any of its URLs (or its folded story copies') is a relevant URL: a relevant URL is looked up
in the index first (`relevant_keys`), so an article stored once under two URLs (a page and its duplicate
at `/index.html`, merged by the build) is found whichever of them the question names. A question with a `date`
(YYYY-MM-DD or YYYY/MM/DD) can be asked on that day, as a user would have asked it: `as_of` = the end of
that day, its time words read relative to it, the recency prior at its default. Without (`dated=False`,
or a question without a date) it is asked timeless: no as_of, no time words, no recency prior — the
searcher as it ranked before issue 13.
Stories (`headline`, `urls`): related-article recall@5/@10 over (member, other member) pairs, and
headline → members recall@10.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

from index.errors import ArticleNotFoundError, NewsdeskError
from index.normalize import canonical_url, normalize_date
from search.query import DEFAULT_RECENCY
from search.results import SearchResult
from search.searcher import Searcher


@dataclass(slots=True)
class QuestionScores:
    mode: str
    questions: int
    dated: bool  # each question asked on its date (else timeless)
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    ndcg_at_10: float
    seconds: float


@dataclass(slots=True)
class StoryScores:
    stories: int
    pairs: int
    related_recall_at_5: float
    related_recall_at_10: float
    headline_recall_at_10: float
    members_missing: int  # story URLs not in the index (not counted)
    seconds: float


def load_jsonl(path: Path) -> list[dict]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise NewsdeskError(f"cannot read {path}: {exc.strerror or exc}") from exc
    records = [json.loads(line) for line in lines if line.strip()]
    if not records:
        raise NewsdeskError(f"{path} has no records")
    return records


def open_with_questions(index_dir: Path, questions: Path) -> tuple[Searcher, list[dict]]:
    """The searcher of `index_dir` and the records of `questions`, for the evaluation scripts; a
    NewsdeskError (the scripts print it as a skip) when either is missing."""
    if not Path(questions).is_file():
        raise NewsdeskError(f"{questions} not found (the evaluation files live in ../shared/data)")
    searcher = Searcher.open(index_dir)
    return searcher, load_jsonl(questions)


def file_kind(records: list[dict]) -> str:
    first = records[0]
    if "question" in first and "relevant_urls" in first:
        return "questions"
    if "urls" in first:
        return "stories"
    raise NewsdeskError("an eval file needs `question` + `relevant_urls` (questions) or `urls` (stories) fields")


# What a relevant item is known by: the id of the article the index holds at a relevant URL, else the URL's
# canonical form (an article the index does not hold; a blank URL canonicalizes to None and matches nothing).
# Ids and canonical URLs (scheme://...) cannot be mistaken for each other, so one set holds both.
Relevant = AbstractSet[str | None]


def relevant_keys(searcher: Searcher, urls: Iterable[str]) -> Relevant:
    """The relevant items of `urls`: the article stored at each URL (under any URL it was seen at), else the URL."""
    keys: set[str | None] = set()
    for url in urls:
        if not isinstance(url, str) or not url.strip():
            keys.add(None)  # a blank or null relevant URL: nothing can match it, but it counts in nDCG's ideal
            continue
        try:
            keys.add(searcher.resolve(url))
        except ArticleNotFoundError:
            keys.add(canonical_url(url))
    return keys


def _result_keys(result: SearchResult) -> Relevant:
    """A result's article and its folded copies, by id and by canonical URL."""
    copies = [(result.id, result.url), *((copy.id, copy.url) for copy in result.also)]
    return {key for article_id, url in copies for key in (article_id, canonical_url(url) if url else None) if key}


def rank_of_relevant(results: list[SearchResult], relevant: Relevant) -> int | None:
    """1-based rank of the first result that is (or has folded a copy that is) a relevant article or URL."""
    for rank, result in enumerate(results, start=1):
        if _result_keys(result) & relevant:
            return rank
    return None


def _ndcg(results: list[SearchResult], relevant: Relevant, k: int) -> float:
    gains = 0.0
    found: set[str | None] = set()
    for rank, result in enumerate(results[:k], start=1):
        hit = (_result_keys(result) & relevant) - found
        if hit:
            found |= hit
            gains += 1 / math.log2(rank + 1)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return gains / ideal if ideal else 0.0


def has_dates(records: list[dict]) -> bool:
    """Whether any question carries the `date` it was asked on."""
    return any(record.get("date") for record in records)


class AskedAt(NamedTuple):
    """The time arguments of `Searcher.search` a question is asked with."""

    as_of: str | None
    time_words: bool
    recency: str


TIMELESS = AskedAt(None, False, "off")  # ranked as before as_of existed


def asked_on(record: dict) -> AskedAt:
    """A question asked on its `date` (its time words and the default recency prior relative to it);
    timeless without one."""
    if not record.get("date"):
        return TIMELESS
    try:
        day = normalize_date(record["date"])
    except ValueError as exc:
        raise NewsdeskError(f"question {record.get('qid') or record['question']!r}: {exc}") from None
    return AskedAt(day, True, DEFAULT_RECENCY)


def question_ranks(
    searcher: Searcher, records: list[dict], mode: str, dated: bool = False
) -> tuple[list[int | None], list[float]]:
    """Per question: the 1-based rank of its first relevant article in the top 10 (None if absent), nDCG@10;
    each question asked on its date when `dated`, else timeless."""
    ranks, ndcgs = [], []
    for record in records:
        relevant = relevant_keys(searcher, record["relevant_urls"])
        asked = asked_on(record) if dated else TIMELESS
        results = searcher.search(
            record["question"], k=10, mode=mode, as_of=asked.as_of, time_words=asked.time_words, recency=asked.recency
        ).results
        ranks.append(rank_of_relevant(results, relevant))
        ndcgs.append(_ndcg(results, relevant, 10))
    return ranks, ndcgs


def mean_reciprocal_rank(ranks: Iterable[int | None]) -> float:
    ranks = list(ranks)
    return sum(1 / r for r in ranks if r) / len(ranks) if ranks else 0.0


def evaluate_questions(
    searcher: Searcher, records: list[dict], modes: Iterable[str], dated: bool = False
) -> list[QuestionScores]:
    """Scores per mode, each question asked on its date when `dated` (else timeless)."""
    scores = []
    for mode in modes:
        started = time.perf_counter()
        ranks, ndcgs = question_ranks(searcher, records, mode, dated)
        n = len(records)
        scores.append(
            QuestionScores(
                mode=mode,
                questions=n,
                dated=dated,
                recall_at_1=round(sum(r is not None and r <= 1 for r in ranks) / n, 4),
                recall_at_5=round(sum(r is not None and r <= 5 for r in ranks) / n, 4),
                recall_at_10=round(sum(r is not None for r in ranks) / n, 4),
                mrr_at_10=round(mean_reciprocal_rank(ranks), 4),
                ndcg_at_10=round(sum(ndcgs) / n, 4),
                seconds=round(time.perf_counter() - started, 2),
            )
        )
    return scores


def evaluate_stories(searcher: Searcher, records: list[dict]) -> StoryScores:
    """A member's story copies are folded away from its related list by design; they count as found."""
    started = time.perf_counter()
    pairs = found5 = found10 = missing = 0
    headline_hits = headline_total = 0
    for record in records:
        ids = {}
        for url in record["urls"]:
            try:
                ids[searcher.resolve(url)] = url
            except ArticleNotFoundError:
                missing += 1
        for member in ids:
            others = set(ids) - {member}
            if not others:
                continue
            copies = {c.id for c in searcher.article(member).also}
            results = searcher.related(member, k=10).results
            ranked_ids = [[r.id, *(c.id for c in r.also)] for r in results]
            for other in others:
                pairs += 1
                if other in copies:
                    found5 += 1
                    found10 += 1
                    continue
                rank = next((i for i, group in enumerate(ranked_ids, start=1) if other in group), None)
                found5 += rank is not None and rank <= 5
                found10 += rank is not None
        if record.get("headline") and ids:
            # Timeless: a story file says nothing of when a headline would be searched for.
            results = searcher.search(
                record["headline"], k=10, time_words=TIMELESS.time_words, recency=TIMELESS.recency
            ).results
            shown = {i for r in results for i in (r.id, *(c.id for c in r.also))}
            headline_total += len(ids)
            headline_hits += len(shown & set(ids))
    return StoryScores(
        stories=len(records),
        pairs=pairs,
        related_recall_at_5=round(found5 / pairs, 4) if pairs else 0.0,
        related_recall_at_10=round(found10 / pairs, 4) if pairs else 0.0,
        headline_recall_at_10=round(headline_hits / headline_total, 4) if headline_total else 0.0,
        members_missing=missing,
        seconds=round(time.perf_counter() - started, 2),
    )


def as_dicts(scores: Iterable[QuestionScores] | StoryScores) -> object:
    if isinstance(scores, StoryScores):
        return asdict(scores)
    return [asdict(s) for s in scores]
