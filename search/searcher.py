"""The searcher: questions and related articles over one generation of an index directory.

It orchestrates; the jobs live beside it: `query` (modes, filters, limits), `retrieval` (candidates from
FAISS and BM25, filters inside, the deepening loop), `fusion` (weighted reciprocal rank), `grouping`
(story folding), `highlight` and `results`. Every SQL statement is in `index.store`.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np

from index import layout
from index.encoders import Encoder, check_encoder, load_encoder
from index.errors import ArticleNotFoundError
from index.model import StoredArticle
from index.snapshot import Snapshot
from index.store import Store
from index.vectors import VectorSet
from search import time_points
from search.facets import Facets, count_facets
from search.fusion import ArticleScore, Fused, FusionWeights, fuse, more_passages
from search.grouping import StoryGroup, fold_stories
from search.highlight import highlight_spans, query_terms
from search.matches import Matches, MatchRule, find_matches
from search.published import PublicationTimes
from search.query import DEFAULT_RECENCY, MODES, Filters, check_choices, check_page, clean_query
from search.recency import recency_preset
from search.recent import Prior, candidates_in_time, prior_over
from search.related_ranking import time_prior
from search.results import ArticleView, PassageHit, SearchResponse, SearchResult, Stats, article_view, search_result
from search.retrieval import BM25Weights, Candidates, Ranking, Retriever, deepen
from search.settings import Settings
from search.time_scope import TimeScope, resolve_time

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
            time_points.warm_up()  # dateparser's data, loaded now rather than on the first question naming a day
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
    def times(self) -> PublicationTimes:
        """When each article was published (read once at open), for the time features."""
        return self.retriever.times

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
        *,
        as_of: datetime | date | str | None = None,
        when: str | None = None,
        sort: str = "relevance",
        recency: str = DEFAULT_RECENCY,
        time_words: bool = True,
        facets: bool = False,
    ) -> SearchResponse:
        """Articles answering `query`, best first, each with its best passage; `passages` more on request.

        `as_of` is when the question is asked (an aware datetime, a date, or a string `moments.parse_as_of`
        takes; default now): set, nothing published after it is returned. `when` ("7d") restricts the
        search to a window ending at as_of; without it the question's time words do ("last week"), unless
        `time_words` is False (search.time_scope). `recency` (off, mild, default, strong) says how much newer
        articles are preferred, relative to as_of (search.recent, search.recency). `sort="newest"` lists
        the articles that match the question (search.matches) newest first; `facets` counts them per outlet
        and over time."""
        settings = self.settings
        query = clean_query(query, settings)
        check_page(k, offset, passages, settings)
        check_choices(mode, sort, recency)
        scope = resolve_time(query, as_of, when, time_words)
        cuts = self.times.cuts(scope.as_of)
        asked = filters or Filters()
        filters = scope.narrow(asked, cuts)
        weights = FusionWeights.for_mode(mode, settings.dense_weight, settings.lexical_weight, settings.rrf_k)
        bm25_weights = self._bm25_weights()
        listing = sort == "newest" or not scope.query  # nothing but time words: the range's articles, newest first
        matches = None
        if listing or facets:
            # Facets count outside the outlet and date filters too (Facets says why): match under the
            # time alone, then keep what each use allows.
            rule = MatchRule.for_mode(mode, settings.match_cosine, settings.match_terms)
            matched_in = scope.narrow(Filters(), cuts) if facets else filters
            matches = find_matches(self.retriever, scope.query, matched_in, rule, weights, bm25_weights)
        if listing and matches is not None:
            newest = self.times.newest_first(matches.within(self.retriever, filters))
            groups = self._fold([ArticleScore(a, matches.score(a)) for a in newest])
            fused, candidates = matches.fused, matches.candidates
        else:
            # The recency prior, and the recent pass that makes the articles just before as_of candidates.
            prior = prior_over(recency_preset(recency), self.times, scope.as_of)
            recent_as_of = scope.as_of if prior is not None else None

            def rank(depth: int) -> Ranking:
                found = candidates_in_time(
                    self.retriever, scope.query, mode, depth, filters, bm25_weights, recent_as_of
                )
                return self._rank(found, weights, prior)

            needed = offset + k + 1  # one extra tells whether there is a next page
            ranking = deepen(max(settings.depth, needed * 3), needed, rank)
            groups, fused, candidates = ranking.groups, ranking.fused, ranking.candidates
        page = groups[offset : offset + k]
        if listing:  # a match beyond the candidates, or an article listed for its date: find its passage
            missing = [group.lead.article_id for group in page if group.lead.article_id not in fused.best]
            fused.best.update(self.retriever.best_passages(scope.query, missing, bm25_weights) if missing else {})
        extras: dict[str, list[int]] = {}
        if passages:
            leads = {group.lead.article_id for group in page}
            extras = more_passages(fused, (*candidates.dense, *candidates.lexical), leads, passages)
        return SearchResponse(
            query=query,
            mode=mode,
            offset=offset,
            k=k,
            results=self._results(page, fused, query_terms(scope.query), extras),
            has_more=len(groups) > offset + k,
            as_of=scope.as_of.isoformat(),
            sort=sort,
            recency=recency,
            time_range=scope.time_range,
            facets=self._facets(matches, scope, asked, cuts) if matches is not None and facets else None,
        )

    def _facets(self, matches: Matches, scope: TimeScope, asked: Filters, cuts: bool) -> Facets:
        """Counts of the matching articles (matched under the time alone): the dates under every filter but
        the asked dates, the outlets under every filter but the asked outlets."""
        by_date = matches.within(self.retriever, scope.narrow(Filters(sources=asked.sources), cuts))
        by_source = matches.within(
            self.retriever, scope.narrow(Filters(date_from=asked.date_from, date_to=asked.date_to), cuts)
        )
        return count_facets(self.store, by_date, by_source)

    def related(self, id_or_url: str, k: int = 10, offset: int = 0, filters: Filters | None = None) -> SearchResponse:
        """Articles covering what one article covers, best first; itself and its story copies excluded.

        Its passages' centroid finds articles by meaning, a more-like-this query of its most distinctive
        terms finds those sharing its names, both fused as a search fuses them; then articles published
        near its day rank higher (search.related_ranking, settings.related)."""
        settings = self.settings
        chosen = settings.related
        check_page(k, offset, 0, settings)
        article = self._stored(id_or_url)
        filters = filters or Filters()
        matrix = self.store.passage_vectors(article.id)
        if not len(matrix):
            return SearchResponse(query=article.title, mode="related", offset=offset, k=k, results=[])
        centroid = matrix.mean(axis=0)
        centroid /= np.linalg.norm(centroid) or 1.0
        excluded = {article.id, *self.story_copies(article)}
        own = self.store.passage_ids_of(article.id)
        alike = self.retriever.more_like_this(article.title, article.text, own, chosen, filters, self._bm25_weights())
        weights = FusionWeights(chosen.dense_weight, chosen.lexical_weight, chosen.rrf_k)
        prior = time_prior(self.times, self.times.day(article.id), chosen)

        def rank(depth: int) -> Ranking:
            nearest = self.retriever.nearest(centroid, depth, filters)
            return self._rank(Candidates(nearest.dense, alike, nearest.exhausted).without(excluded), weights, prior)

        needed = offset + k + 1
        # Deeper from the start than a search: the article's own passages and its copies come first and go.
        ranking = deepen(max(chosen.dense_depth, needed * 4), needed, rank)
        page = ranking.groups[offset : offset + k]
        return SearchResponse(
            query=article.title,
            mode="related",
            offset=offset,
            k=k,
            results=self._results(page, ranking.fused, [], {}),  # no query words to highlight
            has_more=len(ranking.groups) > offset + k,
        )

    def _rank(self, candidates: Candidates, weights: FusionWeights, prior: Prior | None = None) -> Ranking:
        """Candidates fused into articles, re-scored by `prior` (the recency prior, relative to as_of: the one
        place it applies, after fusion and before story folding), then folded into results."""
        fused = fuse(candidates.dense, candidates.lexical, weights)
        if prior is not None:
            fused.articles = prior(fused.articles)
        return Ranking(candidates, fused, self._fold(fused.articles))

    def _fold(self, articles: list[ArticleScore]) -> list[StoryGroup]:
        """Ranked articles into results: the copies of one story folded under its first-ranked article."""
        return fold_stories(articles, self.store.story_ids([article.article_id for article in articles]))

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
        copies = self.story_copies(article)
        return article_view(article, self.store.passages_of(article.id), list(copies.values()))

    def _stored(self, id_or_url: str) -> StoredArticle:
        article_id = self.resolve(id_or_url)
        article = self.store.article(article_id)
        if article is None:
            raise ArticleNotFoundError(id_or_url)
        return article

    def story_copies(self, article: StoredArticle) -> dict[str, StoredArticle]:
        """The other articles of `article`'s story (the same news from elsewhere), by id."""
        if not article.story_id:
            return {}
        return self.store.articles(self.store.story_members(article.story_id, excluding=article.id))

    def counts(self) -> dict[str, int]:
        """Articles, passages and stories of this generation: the counts its build wrote into the manifest
        (a `count(*)` of the passages reads the whole table: a tenth of a second or more at a million), read
        from the store only for a manifest without them."""
        return self.manifest.get("counts") or self.store.counts()

    def stats(self) -> Stats:
        counts = self.counts()
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
