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

from index import layout, lexical, vectors
from index.encoders import Encoder
from index.model import Hits
from index.store import StorePerThread
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
    """Per article (in `PublicationTimes.article_ids` order), how many of a query's `terms` it holds."""

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
    """Candidate passages of one generation from the vector index and the BM25 postings; safe to share
    between threads."""

    def __init__(
        self,
        generation: layout.Generation,
        stores: StorePerThread,
        encoder: Encoder,
        query_cache_size: int,
        bm25_weights: BM25Weights,
    ) -> None:
        self.generation = generation
        self.stores = stores
        self.encoder = encoder
        self.vector_index = vectors.read_index(generation.faiss)
        owners = stores.get().passage_owners()
        self.passage_articles = PassageArticles(owners)
        self.times = PublicationTimes(owners.passage_ids, owners.article_ids, stores.get().published_dates())
        self._query_cache_size = query_cache_size
        self._query_vectors: LRU[str, np.ndarray] = LRU(query_cache_size)
        self._allowed: LRU[Filters, np.ndarray] = LRU(FILTER_CACHE_SIZE)  # passage mask per filter
        self._allowed_ids: LRU[Filters, np.ndarray] = LRU(FILTER_CACHE_SIZE)
        self._source_masks: LRU[tuple[str, ...], np.ndarray] = LRU(FILTER_CACHE_SIZE)
        self._reweighting = threading.Lock()
        self._lexical_index = self._open_lexical(bm25_weights)
        # Where each BM25 document sits among the passage ids: a filter's passage mask becomes the
        # postings' mask by one gather (the same for any column weights: the documents do not change).
        self._lexical_positions = _positions(owners.passage_ids, self._lexical_index.doc_ids)
        self._stemmer = lexical.QueryStemmer()

    # --- candidates ----------------------------------------------------------------------------

    def candidates(self, query: str, mode: str, depth: int, filters: Filters, bm25_weights: BM25Weights) -> Candidates:
        """Up to `depth` passages from each retriever `mode` uses ("hybrid": both), within `filters`."""
        # BM25 from the in-memory postings takes about a millisecond: handing it to another thread
        # to overlap with the vector search would cost about as much as it saves.
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
        return self.lexical_index(bm25_weights).search(self.lexical_terms(query), depth, self._lexical_allowed(filters))

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
        hits = index.search({t.term: 1 for t in chosen}, settings.lexical_depth, self._lexical_allowed(filters))
        return self.passage_articles.candidates(hits)

    def _lexical_allowed(self, filters: Filters) -> np.ndarray | None:
        """The postings documents `filters` allows (None: all)."""
        mask = self.allowed_mask(filters)
        if mask is None:
            return None
        at, found = self._lexical_positions
        return mask[at] & found

    def lexical_terms(self, query: str) -> dict[str, int]:
        """The query's content words as BM25 terms (stemmed by FTS5), each with how often it occurs."""
        return self._stemmer.terms(" ".join(query_terms(query)[:MAX_QUERY_TERMS]))

    def term_coverage(self, query: str) -> TermCoverage:
        """How many of the query's distinct BM25 terms each article holds, in any passage (title or text)."""
        terms = self.lexical_terms(query)
        index = self._lexical_index  # the postings are the same for any column weights
        at, found = self._lexical_positions
        owners = self.times.owners
        counts = np.zeros(len(self.times.article_ids), dtype=np.int32)
        for term in terms:
            term_id = index.term_ids.get(term)
            if term_id is None:
                continue
            docs = index.docs[index.indptr[term_id] : index.indptr[term_id + 1]]
            holds = np.zeros(len(counts), dtype=bool)
            holds[owners[at[docs][found[docs]]]] = True
            counts += holds
        return TermCoverage(counts, len(terms))

    def best_passages(
        self, query: str, article_ids: Collection[str], bm25_weights: BM25Weights
    ) -> dict[str, Candidate]:
        """Each article's passage BM25 scores highest for `query`; its first passage when none holds a word
        of it (a match by meaning found beyond the candidates, an article listed for its date)."""
        times = self.times
        wanted = np.isin(times.owners, [times.position[a] for a in article_ids])
        at, found = self._lexical_positions
        hits = self.lexical_index(bm25_weights).search(self.lexical_terms(query), int(wanted.sum()), wanted[at] & found)
        best: dict[str, Candidate] = {}
        for candidate in self.passage_articles.candidates(hits):
            best.setdefault(candidate.article_id, candidate)
        for article_id in article_ids:
            best.setdefault(article_id, Candidate(int(times.first_passages[times.position[article_id]]), article_id))
        return best

    # --- what the retrievers hold ----------------------------------------------------------------

    def query_vector(self, query: str) -> np.ndarray:
        return self._query_vectors.get(query, lambda: self.encoder.encode([query])[0])

    def clear_query_cache(self) -> None:
        self._query_vectors = LRU(self._query_cache_size)

    def allowed_ids(self, filters: Filters) -> np.ndarray | None:
        """The passage ids `filters` allows (None: every passage), cached for repeated filters."""
        mask = self.allowed_mask(filters)
        if mask is None:
            return None
        return self._allowed_ids.get(filters, lambda: self.times.passage_ids[mask])

    def allowed_mask(self, filters: Filters) -> np.ndarray | None:
        """Which passages (in passage id order) `filters` allows; None: every passage. Sources are read
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
        ids = self.stores.get().passage_ids_where(sources)
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
        if self.generation.lexical.is_file():
            return lexical.LexicalIndex.load(self.generation.lexical, *weights)
        # A generation written before postings were exported: read them from FTS5 (slower start).
        return lexical.LexicalIndex(lexical.postings(self.stores.get().term_instances()), *weights)


def _positions(ordered: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `ids` sits in the ascending `ordered`, and whether it is there at all."""
    at = np.searchsorted(ordered, ids)
    at[at >= len(ordered)] = 0
    return at, (ordered[at] == ids) if len(ordered) else np.zeros(len(ids), dtype=bool)
