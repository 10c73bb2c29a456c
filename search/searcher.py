"""The searcher: questions and related articles over one generation of an index directory.

It orchestrates; the jobs live beside it: `query` (modes, filters, limits), `retrieval` (candidates from
FAISS and BM25, filters inside, the deepening loop), `fusion` (weighted reciprocal rank), `grouping`
(story folding), `highlight` and `results`. Every SQL statement is in `index.store`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index import layout
from index.encoders import Encoder, check_encoder, load_encoder
from index.errors import ArticleNotFoundError
from index.model import StoredArticle
from index.snapshot import Snapshot
from index.store import Store
from index.vectors import VectorSet
from search.fusion import Fused, FusionWeights, fuse, more_passages
from search.grouping import StoryGroup, fold_stories
from search.highlight import highlight_spans, query_terms
from search.query import MODES, Filters, check_mode, check_page, clean_query
from search.results import ArticleView, PassageHit, SearchResponse, SearchResult, Stats, article_view, search_result
from search.retrieval import BM25Weights, Candidates, Ranking, Retriever, deepen
from search.settings import Settings

__all__ = ["MODES", "Filters", "Searcher"]


class Searcher:
    """Open with `Searcher.open(index_dir)`; safe to share between threads. `settings` may be replaced
    on an open searcher (scripts/tune_fusion.py does): every search reads the current one."""

    def __init__(self, index_dir: Path, snapshot: Snapshot, encoder: Encoder, settings: Settings) -> None:
        self.index_dir = Path(index_dir)
        self.snapshot = snapshot
        self.manifest = snapshot.manifest
        self.generation: layout.Generation = snapshot.generation
        self.encoder = encoder
        self.settings = settings
        self.retriever = Retriever(snapshot, encoder, settings.query_cache_size, self._bm25_weights())

    @classmethod
    def open(
        cls, index_dir: str | Path | None = None, settings: Settings | None = None, encoder: Encoder | None = None
    ) -> Searcher:
        """Open the live generation of an index; the encoder that built it is loaded (or checked) once."""
        settings = settings or Settings()
        index_dir = Path(index_dir) if index_dir is not None else settings.index
        # One snapshot for the searcher's lifetime: its rows and its derived files are one generation's,
        # and builds never delete a generation a reader still uses.
        snapshot = Snapshot.open(index_dir)
        try:
            built = snapshot.manifest["encoder"]
            if encoder is None:
                encoder = load_encoder(built["name"], built.get("backend", "torch"))
            check_encoder(snapshot.manifest, encoder)
            return cls(index_dir, snapshot, encoder, settings)
        except BaseException:
            snapshot.close()
            raise

    def close(self) -> None:
        """End the snapshot (a build may then delete its generation); the searcher must not be used after."""
        self.snapshot.close()

    @property
    def store(self) -> Store:
        """The read-only connection to the store, in this searcher's snapshot (shared by its threads)."""
        return self.snapshot.store

    @property
    def vector_index(self) -> VectorSet:
        return self.retriever.vector_index

    def query_vector(self, query: str) -> np.ndarray:
        return self.retriever.query_vector(query)

    def clear_query_cache(self) -> None:
        """Forget cached query vectors (benchmarks use this to time embedding every query)."""
        self.retriever.clear_query_cache()

    # --- search --------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 10,
        offset: int = 0,
        mode: str = "hybrid",
        filters: Filters | None = None,
        passages: int = 0,
    ) -> SearchResponse:
        """Articles answering `query`, best first, each with its best passage; `passages` more on request."""
        settings = self.settings
        query = clean_query(query, settings)
        check_page(k, offset, passages, settings)
        check_mode(mode)
        filters = filters or Filters()
        weights = FusionWeights.for_mode(mode, settings.dense_weight, settings.lexical_weight, settings.rrf_k)
        bm25_weights = self._bm25_weights()

        def rank(depth: int) -> Ranking:
            return self._rank(self.retriever.candidates(query, mode, depth, filters, bm25_weights), weights)

        needed = offset + k + 1  # one extra tells whether there is a next page
        ranking = deepen(max(settings.depth, needed * 3), needed, rank)
        page = ranking.groups[offset : offset + k]
        extras: dict[str, list[int]] = {}
        if passages:
            candidates = (*ranking.candidates.dense, *ranking.candidates.lexical)
            extras = more_passages(ranking.fused, candidates, {group.lead.article_id for group in page}, passages)
        return SearchResponse(
            query=query,
            mode=mode,
            offset=offset,
            k=k,
            results=self._results(page, ranking.fused, query_terms(query), extras),
            has_more=len(ranking.groups) > offset + k,
        )

    def related(self, id_or_url: str, k: int = 10, offset: int = 0, filters: Filters | None = None) -> SearchResponse:
        """Articles nearest to one article by its passages' vectors; itself and its story copies excluded."""
        settings = self.settings
        check_page(k, offset, 0, settings)
        article = self._stored(id_or_url)
        filters = filters or Filters()
        matrix = self.store.passage_vectors(article.id)
        if not len(matrix):
            return SearchResponse(query=article.title, mode="related", offset=offset, k=k, results=[])
        centroid = matrix.mean(axis=0)
        centroid /= np.linalg.norm(centroid) or 1.0
        excluded = {article.id, *self._story_copies(article)}
        weights = FusionWeights.for_mode("dense", settings.dense_weight, settings.lexical_weight, settings.rrf_k)

        def rank(depth: int) -> Ranking:
            return self._rank(self.retriever.nearest(centroid, depth, filters).without(excluded), weights)

        needed = offset + k + 1
        # Deeper from the start than a search: the article's own passages and its copies come first and go.
        ranking = deepen(max(settings.depth, needed * 4), needed, rank)
        page = ranking.groups[offset : offset + k]
        return SearchResponse(
            query=article.title,
            mode="related",
            offset=offset,
            k=k,
            results=self._results(page, ranking.fused, [], {}),  # no query words to highlight
            has_more=len(ranking.groups) > offset + k,
        )

    def _rank(self, candidates: Candidates, weights: FusionWeights) -> Ranking:
        fused = fuse(candidates.dense, candidates.lexical, weights)
        stories = self.store.story_ids([article.article_id for article in fused.articles])
        return Ranking(candidates, fused, fold_stories(fused.articles, stories))

    def _results(
        self, page: list[StoryGroup], fused: Fused, terms: list[str], extras: dict[str, list[int]]
    ) -> list[SearchResult]:
        """The page's results, their passages read in one query, query `terms` highlighted, and the
        `extras` (further passages by article) attached."""
        texts = self.store.passages_by_id(
            [fused.best[group.lead.article_id].passage_id for group in page]
            + [pid for ids in extras.values() for pid in ids]
        )
        articles = self.store.articles([aid for group in page for aid in group.article_ids])
        results = []
        for group in page:
            lead = group.lead.article_id
            top = texts[fused.best[lead].passage_id]
            more = [
                PassageHit(
                    texts[pid].text,
                    texts[pid].start,
                    texts[pid].end,
                    highlight_spans(texts[pid].text, terms),
                    round(fused.passage_scores.get(pid, 0.0), 6),
                )
                for pid in extras.get(lead, [])
            ]
            copies = [articles[copy.article_id] for copy in group.copies]
            highlights = highlight_spans(top.text, terms)
            results.append(search_result(articles[lead], top, group.lead.score, copies, highlights, more))
        return results

    def _bm25_weights(self) -> BM25Weights:
        return (self.settings.bm25_title_weight, self.settings.bm25_text_weight)

    # --- articles ------------------------------------------------------------------------------

    def resolve(self, id_or_url: str) -> str:
        """The id of an article given by id or by any of its URLs."""
        article_id = self.store.resolve_id(id_or_url.strip())
        if article_id is None:
            raise ArticleNotFoundError(id_or_url)
        return article_id

    def article(self, id_or_url: str) -> ArticleView:
        """One article with all its fields, its passages and the other outlets' copies of its story."""
        article = self._stored(id_or_url)
        copies = self._story_copies(article)
        return article_view(article, self.store.passages_of(article.id), list(copies.values()))

    def _stored(self, id_or_url: str) -> StoredArticle:
        article_id = self.resolve(id_or_url)
        article = self.store.article(article_id)
        if article is None:
            raise ArticleNotFoundError(id_or_url)
        return article

    def _story_copies(self, article: StoredArticle) -> dict[str, StoredArticle]:
        if not article.story_id:
            return {}
        return self.store.articles(self.store.story_members(article.story_id, excluding=article.id))

    def stats(self) -> Stats:
        counts = self.store.counts()
        published = self.store.published_range()
        return Stats(
            articles=counts["articles"],
            passages=counts["passages"],
            stories=counts["stories"],
            sources=self.store.articles_per_source(),
            date_from=published.first,
            date_to=published.last,
            encoder=self.manifest["encoder"],
            generation=self.generation.number,
            built=self.manifest.get("built"),
        )
