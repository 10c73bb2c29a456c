"""Retrieval: dense (FAISS) and lexical (BM25) candidates, filters applied inside each retriever, and the
one loop that retrieves deeper until a page of results is full (for search and related alike).

A filter restricts what each retriever may return — the vector search scans only the allowed passages,
BM25 zeroes the others — rather than trimming a fixed-depth list afterwards, so a narrow filter still
finds its few articles.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np

from index import lexical, vectors
from index.encoders import Encoder
from index.model import Hits
from index.snapshot import Snapshot
from index.threads import shared_pool
from search.cache import LRU
from search.candidates import Candidate, PassageArticles
from search.fusion import Fused
from search.grouping import StoryGroup
from search.highlight import query_terms
from search.published import PublicationTimes
from search.query import Filters
from search.related_ranking import RelatedSettings, more_like_this_terms

MAX_QUERY_TERMS = 32  # words of a query given to BM25; a pasted paragraph would otherwise score every passage
MAX_DEPTH = 20_000  # passages per retriever past which a page is left short rather than searched deeper
DEEPEN_FACTOR = 4
FILTER_CACHE_SIZE = 64

BM25Weights = tuple[float, float]  # (title, text) column weights


@dataclass(slots=True)
class Candidates:
    """Both retrievers' candidates, best first. `exhausted`: each retriever returned fewer passages than
    asked for, so retrieving deeper would find nothing more."""

    dense: list[Candidate]
    lexical: list[Candidate]
    exhausted: bool

    def without(self, article_ids: Collection[str]) -> Candidates:
        """The candidates of other articles than `article_ids` (related: the article itself, its story)."""
        return Candidates(
            [c for c in self.dense if c.article_id not in article_ids],
            [c for c in self.lexical if c.article_id not in article_ids],
            self.exhausted,
        )


@dataclass(slots=True, frozen=True)
class TermCoverage:
    """Per article (in `PublicationTimes.article_keys` order), how many of a query's `terms` it holds."""

    counts: np.ndarray
    terms: int


@dataclass(slots=True)
class Ranking:
    """One retrieval depth's outcome: the candidates, their fusion and the story groups (the results)."""

    candidates: Candidates
    fused: Fused
    groups: list[StoryGroup]


def deepen(depth: int, needed: int, rank: Callable[[int], Ranking]) -> Ranking:
    """`rank(depth)` from `depth` passages per retriever on, growing fourfold until it holds `needed` story
    groups, the retrievers run out of passages, or the depth reaches `MAX_DEPTH`. Fusion and story folding
    shrink a depth's passages to fewer results than expected (many passages of one article, many copies of
    one story, a filter), so a fixed depth would leave late pages short."""
    while True:
        ranking = rank(depth)
        if len(ranking.groups) >= needed or ranking.candidates.exhausted or depth >= MAX_DEPTH:
            return ranking
        depth *= DEEPEN_FACTOR


class Retriever:
    """Candidate passages of one generation (a snapshot) from its vector indexes and BM25 postings; safe to
    share between threads."""

    def __init__(self, snapshot: Snapshot, encoder: Encoder, query_cache_size: int, bm25_weights: BM25Weights) -> None:
        self.snapshot = snapshot
        self.generation = snapshot.generation
        self.encoder = encoder
        self.vector_index = snapshot.vectors
        self.passage_articles = PassageArticles(snapshot.passage_ids, snapshot.passage_articles)
        self.times = PublicationTimes(
            snapshot.passage_ids, snapshot.passage_articles, snapshot.store.published_dates(), snapshot.dead_mask()
        )
        self._query_cache_size = query_cache_size
        self._query_vectors: LRU[str, np.ndarray] = LRU(query_cache_size)
        self._allowed: LRU[Filters, np.ndarray] = LRU(FILTER_CACHE_SIZE)  # passage mask per filter
        self._allowed_ids: LRU[Filters, np.ndarray] = LRU(FILTER_CACHE_SIZE)
        self._source_masks: LRU[tuple[str, ...], np.ndarray] = LRU(FILTER_CACHE_SIZE)
        self._reweighting = threading.Lock()
        # Its documents are the passage map's positions, in order: a passage mask is a document mask.
        self._lexical_index = self._open_lexical(bm25_weights)
        self._stemmer = lexical.QueryStemmer()

    # --- candidates ----------------------------------------------------------------------------

    def candidates(self, query: str, mode: str, depth: int, filters: Filters, bm25_weights: BM25Weights) -> Candidates:
        """Up to `depth` passages from each retriever `mode` uses ("hybrid": both), within `filters`."""
        allowed = self.allowed_ids(filters)
        if allowed is not None and not len(allowed):
            # Nothing to find (a recent pass over days without news, dates before the first article):
            # at a million passages each retriever would still cost milliseconds to return nothing.
            return Candidates([], [], exhausted=True)
        if mode == "hybrid":
            # Both at once: FAISS and numpy let go of the GIL, so BM25 (7 ms at a million passages, where
            # its arrays span every passage) runs on another core while the segments' vectors are searched.
            lexical = shared_pool("bm25").submit(self.lexical_hits, query, depth, filters, bm25_weights)
            dense = self.dense_hits(self.query_vector(query), depth, filters)
            return self._candidates(dense, lexical.result(), depth)
        dense = self.dense_hits(self.query_vector(query), depth, filters) if mode != "lexical" else Hits.empty()
        found = self.lexical_hits(query, depth, filters, bm25_weights) if mode != "dense" else Hits.empty()
        return self._candidates(dense, found, depth)

    def nearest(self, vector: np.ndarray, depth: int, filters: Filters) -> Candidates:
        """Up to `depth` passages nearest to `vector` (dense only), within `filters`."""
        return self._candidates(self.dense_hits(vector, depth, filters), Hits.empty(), depth)

    def _candidates(self, dense: Hits, found: Hits, depth: int) -> Candidates:
        exhausted = len(dense.ids) < depth and len(found.ids) < depth
        articles = self.passage_articles
        return Candidates(articles.candidates(dense), articles.candidates(found), exhausted)

    def dense_hits(self, vector: np.ndarray, depth: int, filters: Filters) -> Hits:
        return vectors.search(self.vector_index, vector, depth, self.allowed_ids(filters))

    def lexical_hits(self, query: str, depth: int, filters: Filters, bm25_weights: BM25Weights) -> Hits:
        return self.lexical_index(bm25_weights).search(self.lexical_terms(query), depth, self.allowed_mask(filters))

    def more_like_this(
        self,
        title: str,
        text: str,
        own_passages: np.ndarray,
        settings: RelatedSettings,
        filters: Filters,
        bm25_weights: BM25Weights,
    ) -> list[Candidate]:
        """Passages most like an article's (`title`, `text`; its passage ids `own_passages`): BM25 over its
        `settings.terms` most distinctive terms (search.related_ranking), within `filters`."""
        index = self.lexical_index(bm25_weights)
        chosen = more_like_this_terms(index, self._stemmer, title, text, own_passages, settings)
        hits = index.search({t.term: 1 for t in chosen}, settings.lexical_depth, self.allowed_mask(filters))
        return self.passage_articles.candidates(hits)

    def lexical_terms(self, query: str) -> dict[str, int]:
        """The query's content words as BM25 terms (stemmed by FTS5), each with how often it occurs."""
        return self._stemmer.terms(" ".join(query_terms(query)[:MAX_QUERY_TERMS]))

    def term_coverage(self, query: str) -> TermCoverage:
        """How many of the query's distinct BM25 terms each article holds, in any passage (title or text)."""
        terms = self.lexical_terms(query)
        index = self._lexical_index  # the postings are the same for any column weights
        owners = self.times.owners
        counts = np.zeros(len(self.times.article_keys), dtype=np.int32)
        for term in terms:
            docs = index.documents_with(term)  # over every segment, deleted passages left out
            if not len(docs):
                continue
            holds = np.zeros(len(counts), dtype=bool)
            holds[owners[docs]] = True
            counts += holds
        return TermCoverage(counts, len(terms))

    def best_passages(
        self, query: str, article_ids: Collection[str], bm25_weights: BM25Weights
    ) -> dict[str, Candidate]:
        """Each article's passage BM25 scores highest for `query`; its first passage when none holds a word
        of it (a match by meaning found beyond the candidates, an article listed for its date)."""
        times = self.times
        article_ids = list(article_ids)
        positions = times.positions(article_ids)
        wanted = np.isin(times.owners, positions[positions >= 0]) & times.live
        hits = self.lexical_index(bm25_weights).search(self.lexical_terms(query), int(wanted.sum()), wanted)
        best: dict[str, Candidate] = {}
        for candidate in self.passage_articles.candidates(hits):
            best.setdefault(candidate.article_id, candidate)
        for article_id, at in zip(article_ids, positions.tolist(), strict=True):
            if at >= 0:
                best.setdefault(article_id, Candidate(int(times.first_passages[at]), article_id))
        return best

    # --- what the retrievers hold ----------------------------------------------------------------

    def query_vector(self, query: str) -> np.ndarray:
        return self._query_vectors.get(query, lambda: self.encoder.encode([query])[0])

    def clear_query_cache(self) -> None:
        self._query_vectors = LRU(self._query_cache_size)

    def allowed_ids(self, filters: Filters) -> np.ndarray | None:
        """The passage ids `filters` allows (None: every live passage), cached for repeated filters."""
        mask = self.allowed_mask(filters)
        if mask is None:
            return None
        return self._allowed_ids.get(filters, lambda: self.times.passage_ids[mask])

    def allowed_mask(self, filters: Filters) -> np.ndarray | None:
        """Which passages (in passage id order) `filters` allows; None: every live passage. Sources are read
        from the store (once per set of sources), times from memory (search.published)."""
        if not filters.active:
            return None

        def compute() -> np.ndarray:
            mask = self.times.passage_mask(filters.until, filters.date_from, filters.date_to)
            if filters.sources:
                mask &= self._source_masks.get(filters.sources, lambda: self._source_mask(filters.sources))
            return mask

        return self._allowed.get(filters, compute)

    def _source_mask(self, sources: tuple[str, ...]) -> np.ndarray:
        ids = self.snapshot.store.passage_ids_where(sources)
        mask = np.zeros(len(self.times.passage_ids), dtype=bool)
        at, found = _positions(self.times.passage_ids, ids)
        mask[at[found]] = True
        return mask

    def lexical_index(self, bm25_weights: BM25Weights) -> lexical.LexicalIndex:
        """The BM25 postings scored with `bm25_weights`: BM25's impacts are computed for one pair of
        column weights when the postings are opened, so other weights open them again."""
        index = self._lexical_index
        if index.weights != bm25_weights:
            with self._reweighting:
                if self._lexical_index.weights != bm25_weights:
                    self._lexical_index = self._open_lexical(bm25_weights)
                index = self._lexical_index
        return index

    def _open_lexical(self, weights: BM25Weights) -> lexical.LexicalIndex:
        return self.snapshot.lexical(*weights)


def _positions(ordered: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `ids` sits in the ascending `ordered`, and whether it is there at all."""
    at = np.searchsorted(ordered, ids)
    at[at >= len(ordered)] = 0
    return at, (ordered[at] == ids) if len(ordered) else np.zeros(len(ids), dtype=bool)
