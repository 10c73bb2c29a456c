"""The searcher: dense (FAISS) and lexical (FTS5 BM25) retrieval, fusion, filters, story grouping,
highlighting and related articles, over one generation of an index directory.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from index import layout, lexical, vectors
from index.encoders import Encoder, check_encoder, load_encoder
from index.errors import ArticleNotFoundError, InvalidQueryError
from index.store import Store, StoredArticle
from search.fusion import first_occurrence_ranking, reciprocal_rank_fusion
from search.highlight import highlight_spans, query_terms
from search.results import ArticleView, OtherCopy, PassageHit, SearchResponse, SearchResult, Stats
from search.settings import Settings

MODES = ("hybrid", "dense", "lexical")
MAX_QUERY_TERMS = 32  # words of a query given to BM25; a pasted paragraph would otherwise score every passage


@dataclass(slots=True, frozen=True)
class Filters:
    """Restrictions applied inside retrieval, so a narrow filter still finds its few articles."""

    sources: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.sources or self.date_from or self.date_to)

    def sql(self, alias: str = "a") -> tuple[str, list[object]]:
        clauses, params = [], []
        if self.sources:
            clauses.append(f"{alias}.source IN ({','.join('?' * len(self.sources))})")
            params.extend(self.sources)
        if self.date_from:
            clauses.append(f"{alias}.published >= ?")
            params.append(self.date_from.isoformat())
        if self.date_to:
            # `published` may carry a time: compare its date part so the whole last day is included.
            clauses.append(f"substr({alias}.published, 1, 10) <= ?")
            params.append(self.date_to.isoformat())
        return " AND ".join(clauses) or "1", params


@dataclass(slots=True)
class _Candidate:
    passage_id: int
    article_id: str
    score: float = 0.0  # the retriever's own score: cosine for dense, BM25 for lexical


class _PassageArticles:
    """Passage id -> article id, in memory: fusion and grouping need only that, so candidates are
    not read from SQLite; the text of the few passages shown is read once the page is known."""

    def __init__(self, store: Store) -> None:
        rows = store.db.execute("SELECT id, article_id FROM passages ORDER BY id").fetchall()
        self.passage_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self.article_ids = [r[1] for r in rows]

    def candidates(self, passage_ids: np.ndarray, scores: np.ndarray) -> list[_Candidate]:
        at = np.searchsorted(self.passage_ids, passage_ids)
        at[at >= len(self.passage_ids)] = 0
        return [
            _Candidate(int(pid), self.article_ids[i], float(score))
            for pid, i, score in zip(passage_ids.tolist(), at.tolist(), scores.tolist(), strict=True)
            if len(self.passage_ids) and self.passage_ids[i] == pid  # a vector without a row is skipped
        ]


class _LRU:
    def __init__(self, size: int) -> None:
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key, compute):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = compute()
        with self.lock:
            self.items[key] = value
            if len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


class Searcher:
    """Open with `Searcher.open(index_dir)`; safe to share between threads."""

    def __init__(
        self, index_dir: Path, manifest: dict, generation: layout.Generation, encoder: Encoder, settings: Settings
    ) -> None:
        self.index_dir = Path(index_dir)
        self.manifest = manifest
        self.generation = generation
        self.encoder = encoder
        self.settings = settings
        self.vector_index = vectors.read_index(generation.faiss)
        self._local = threading.local()
        self._query_vectors = _LRU(settings.query_cache_size)
        self._allowed = _LRU(64)
        self._allowed_lexical = _LRU(64)
        self.passage_articles = _PassageArticles(self.store)
        self.lexical_index = self._open_lexical()
        self._stemmer = lexical.QueryStemmer()

    @classmethod
    def open(
        cls, index_dir: str | Path | None = None, settings: Settings | None = None, encoder: Encoder | None = None
    ) -> Searcher:
        """Open the live generation of an index; the encoder that built it is loaded (or checked) once."""
        settings = settings or Settings()
        index_dir = Path(index_dir) if index_dir is not None else settings.index
        # Pinned for the searcher's lifetime: builds never delete a generation a reader still uses.
        manifest, generation, pin = layout.open_pinned(index_dir)
        built = manifest["encoder"]
        if encoder is None:
            encoder = load_encoder(built["name"], built.get("backend", "torch"))
        check_encoder(manifest, encoder)
        searcher = cls(index_dir, manifest, generation, encoder, settings)
        searcher._pin = pin
        return searcher

    def close(self) -> None:
        """Unpin the generation (a build may then delete it); the searcher must not be used after."""
        pin = getattr(self, "_pin", None)
        if pin is not None:
            pin.release()

    def _open_lexical(self) -> lexical.LexicalIndex:
        weights = (self.settings.bm25_title_weight, self.settings.bm25_text_weight)
        if self.generation.lexical.is_file():
            return lexical.LexicalIndex.load(self.generation.lexical, *weights)
        # A generation written before postings were exported: read them from FTS5 (slower start).
        return lexical.LexicalIndex(lexical.read_postings(self.store.db), *weights)

    @property
    def store(self) -> Store:
        # One read-only connection per thread: sqlite3 connections are not meant to be shared.
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.generation.sqlite, readonly=True)
        return store

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
        query = self._check_query(query, k, offset, mode, passages)
        filters = filters or Filters()
        needed = offset + k + 1  # one extra tells whether there is a next page
        depth = max(self.settings.depth, needed * 3)
        while True:
            dense, lexical = self._retrieve(query, mode, depth, filters)
            ranked, best = self._fuse(mode, dense, lexical)
            grouped = self._group(ranked)
            exhausted = len(dense) < depth and len(lexical) < depth
            if len(grouped) >= needed or exhausted or depth >= 20_000:
                break
            depth *= 4
        page = grouped[offset : offset + k]
        terms = query_terms(query)
        passage_scores = self._passage_scores(mode, dense, lexical)
        extras: dict[str, list[int]] = {}
        if passages:
            shown = {group[0][0] for group in page}
            owner = {c.passage_id: c.article_id for c in (*dense, *lexical)}
            for passage_id in sorted(passage_scores, key=lambda pid: -passage_scores[pid]):
                article_id = owner[passage_id]
                if article_id in shown and passage_id != best[article_id].passage_id:
                    extras.setdefault(article_id, []).append(passage_id)
        articles = self.store.articles([aid for group in page for aid, _ in group])
        texts = self._passages(
            [best[group[0][0]].passage_id for group in page]
            + [pid for ids in extras.values() for pid in ids[:passages]]
        )
        results = []
        for group in page:
            (lead_id, score), others = group[0], group[1:]
            top = texts[best[lead_id].passage_id]
            more = [
                PassageHit(
                    texts[pid].text,
                    texts[pid].start,
                    texts[pid].end,
                    highlight_spans(texts[pid].text, terms),
                    round(passage_scores.get(pid, 0.0), 6),
                )
                for pid in extras.get(lead_id, [])[:passages]
            ]
            copies = [articles[aid] for aid, _ in others]
            results.append(_result(articles[lead_id], top, score, copies, highlight_spans(top.text, terms), more))
        return SearchResponse(
            query=query, mode=mode, offset=offset, k=k, results=results, has_more=len(grouped) > offset + k
        )

    def _check_query(self, query: str, k: int, offset: int, mode: str, passages: int) -> str:
        limits = self.settings
        query = " ".join((query or "").split())
        if not query:
            raise InvalidQueryError("the query is empty; type a few words")
        if len(query) > limits.max_query_chars:
            raise InvalidQueryError(f"the query is {len(query)} characters; the limit is {limits.max_query_chars}")
        if not 1 <= k <= limits.max_k:
            raise InvalidQueryError(f"k must be between 1 and {limits.max_k}")
        if not 0 <= offset <= limits.max_offset:
            raise InvalidQueryError(f"offset must be between 0 and {limits.max_offset}")
        if not 0 <= passages <= limits.max_passages:
            raise InvalidQueryError(f"passages must be between 0 and {limits.max_passages}")
        if mode not in MODES:
            raise InvalidQueryError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        return query

    def _retrieve(
        self, query: str, mode: str, depth: int, filters: Filters
    ) -> tuple[list[_Candidate], list[_Candidate]]:
        # BM25 from the in-memory postings takes about a millisecond: handing it to another thread
        # to overlap with the vector search would cost about as much as it saves.
        dense = self._dense(self.query_vector(query), depth, filters) if mode != "lexical" else []
        lexical = self._lexical(query, depth, filters) if mode != "dense" else []
        return dense, lexical

    def clear_query_cache(self) -> None:
        """Forget cached query vectors (benchmarks use this to time embedding every query)."""
        self._query_vectors = _LRU(self.settings.query_cache_size)

    def query_vector(self, query: str) -> np.ndarray:
        return self._query_vectors.get(query, lambda: self.encoder.encode([query])[0])

    def _allowed_ids(self, filters: Filters) -> np.ndarray | None:
        if not filters.active:
            return None

        def compute() -> np.ndarray:
            where, params = filters.sql()
            rows = self.store.db.execute(
                f"SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id WHERE {where}", params
            )
            return np.fromiter((r[0] for r in rows), dtype=np.int64)

        return self._allowed.get(filters, compute)

    def _dense(self, vector: np.ndarray, depth: int, filters: Filters) -> list[_Candidate]:
        scores, ids = vectors.search(self.vector_index, vector, depth, self._allowed_ids(filters))
        return self.passage_articles.candidates(ids, scores)

    def _lexical(self, query: str, depth: int, filters: Filters) -> list[_Candidate]:
        terms = self._stemmer.terms(" ".join(query_terms(query)[:MAX_QUERY_TERMS]))
        allowed = None
        if filters.active:
            ids = self._allowed_ids(filters)
            allowed = self._allowed_lexical.get(filters, lambda: self.lexical_index.allowed_mask(ids))
        ids, scores = self.lexical_index.search(terms, depth, allowed)
        return self.passage_articles.candidates(ids, scores)

    def _passages(self, ids: list[int]) -> dict[int, PassageHit]:
        """The text and place of the passages shown, read in one query."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.store.db.execute(f"SELECT id, text, start, end FROM passages WHERE id IN ({marks})", ids)
        return {r[0]: PassageHit(r[1], r[2], r[3]) for r in rows}

    def _passage_scores(self, mode, dense, lexical) -> dict[int, float]:
        rankings = [[c.passage_id for c in dense], [c.passage_id for c in lexical]]
        return reciprocal_rank_fusion(rankings, self._weights(mode), self.settings.rrf_k)

    def _weights(self, mode: str) -> tuple[float, float]:
        if mode == "dense":
            return (1.0, 0.0)
        if mode == "lexical":
            return (0.0, 1.0)
        return (self.settings.dense_weight, self.settings.lexical_weight)

    def _fuse(self, mode, dense, lexical) -> tuple[list[tuple[str, float]], dict[str, _Candidate]]:
        """Articles ranked by weighted RRF over each retriever's article ranking (an article ranks
        where its best passage ranks), and each article's best passage by passage-level RRF."""
        rankings = [
            first_occurrence_ranking([c.article_id for c in dense]),
            first_occurrence_ranking([c.article_id for c in lexical]),
        ]
        scores = reciprocal_rank_fusion(rankings, self._weights(mode), self.settings.rrf_k)
        passage_scores = self._passage_scores(mode, dense, lexical)
        best: dict[str, _Candidate] = {}
        for candidate in (*dense, *lexical):
            current = best.get(candidate.article_id)
            if current is None or passage_scores.get(candidate.passage_id, 0.0) > passage_scores.get(
                current.passage_id, 0.0
            ):
                best[candidate.article_id] = candidate
        if mode != "hybrid":
            # One retriever: its own score (cosine, BM25) says more than a reciprocal rank.
            scores = {aid: candidate.score for aid, candidate in best.items()}
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return ranked, best

    def _group(self, ranked: list[tuple[str, float]]) -> list[list[tuple[str, float]]]:
        """Fold articles of one story into the best-ranked one, keeping rank order."""
        stories = self._story_ids([aid for aid, _ in ranked])
        groups: list[list[tuple[str, float]]] = []
        by_story: dict[str, list[tuple[str, float]]] = {}
        for article_id, score in ranked:
            story = stories.get(article_id) or article_id
            if story in by_story:
                by_story[story].append((article_id, score))
            else:
                by_story[story] = group = [(article_id, score)]
                groups.append(group)
        return groups

    def _story_ids(self, article_ids: list[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for begin in range(0, len(article_ids), 500):
            chunk = article_ids[begin : begin + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self.store.db.execute(f"SELECT id, story_id FROM articles WHERE id IN ({marks})", chunk))
        return found

    # --- articles ------------------------------------------------------------------------------

    def resolve(self, id_or_url: str) -> str:
        article_id = self.store.resolve_id(id_or_url.strip())
        if article_id is None:
            raise ArticleNotFoundError(id_or_url)
        return article_id

    def article(self, id_or_url: str) -> ArticleView:
        """One article with all its fields, its passages and the other outlets' copies of its story."""
        article = self.store.article(self.resolve(id_or_url))
        copies = self._story_members(article)
        return ArticleView(
            id=article.id,
            title=article.title,
            url=_link(article),
            urls=article.urls,
            source=article.source,
            published=article.published,
            authors=article.authors,
            language=article.language,
            text=article.text,
            story_id=article.story_id,
            first_seen=article.first_seen,
            updated=article.updated,
            passages=[PassageHit(p.text, p.start, p.end) for p in self.store.passages_of(article.id)],
            also=[_copy(c) for c in copies.values()],
        )

    def _story_members(self, article: StoredArticle) -> dict[str, StoredArticle]:
        if not article.story_id:
            return {}
        ids = [
            r[0]
            for r in self.store.db.execute(
                "SELECT id FROM articles WHERE story_id=? AND id != ?", (article.story_id, article.id)
            )
        ]
        return self.store.articles(ids)

    def related(self, id_or_url: str, k: int = 10, offset: int = 0, filters: Filters | None = None) -> SearchResponse:
        """Articles nearest to one article by its passages' vectors; itself and its story copies excluded."""
        self._check_query("related", k, offset, "dense", 0)
        article = self.store.article(self.resolve(id_or_url))
        filters = filters or Filters()
        blobs = [
            r[0]
            for r in self.store.db.execute(
                "SELECT vector FROM passages WHERE article_id=? ORDER BY ordinal", (article.id,)
            )
        ]
        if not blobs:
            return SearchResponse(query=article.title, mode="related", offset=offset, k=k, results=[])
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)
        centroid = matrix.mean(axis=0)
        centroid /= np.linalg.norm(centroid) or 1.0
        excluded = {article.id, *self._story_members(article)}
        needed = offset + k + 1
        depth = max(self.settings.depth, needed * 4)
        while True:
            candidates = [c for c in self._dense(centroid, depth, filters) if c.article_id not in excluded]
            ranked, best = self._fuse("dense", candidates, [])
            grouped = self._group(ranked)
            if len(grouped) >= needed or depth >= min(20_000, self.vector_index.ntotal):
                break
            depth *= 4
        page = grouped[offset : offset + k]
        articles = self.store.articles([aid for group in page for aid, _ in group])
        texts = self._passages([best[group[0][0]].passage_id for group in page])
        results = []
        for group in page:
            (lead_id, score), others = group[0], group[1:]
            lead, top = articles[lead_id], texts[best[lead_id].passage_id]
            results.append(_result(lead, top, score, [articles[aid] for aid, _ in others], [], []))
        return SearchResponse(
            query=article.title, mode="related", offset=offset, k=k, results=results, has_more=len(grouped) > offset + k
        )

    def stats(self) -> Stats:
        db = self.store.db
        counts = self.store.counts()
        sources = dict(
            db.execute("SELECT coalesce(source, ''), count(*) FROM articles GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        )
        low, high = db.execute(
            "SELECT min(substr(published, 1, 10)), max(substr(published, 1, 10)) FROM articles"
        ).fetchone()
        return Stats(
            articles=counts["articles"],
            passages=counts["passages"],
            stories=counts["stories"],
            sources=sources,
            date_from=low,
            date_to=high,
            encoder=self.manifest["encoder"],
            generation=self.generation.number,
            built=self.manifest.get("built"),
        )


def _result(
    article: StoredArticle,
    top: PassageHit,
    score: float,
    copies: list[StoredArticle],
    highlights: list[tuple[int, int]],
    more: list[PassageHit],
) -> SearchResult:
    """A result: the article, its best passage, and the other outlets' copies folded into it."""
    return SearchResult(
        id=article.id,
        title=article.title,
        url=_link(article),
        source=article.source,
        published=article.published,
        authors=article.authors,
        passage=top.text,
        passage_start=top.start,
        passage_end=top.end,
        highlights=highlights,
        score=round(float(score), 6),
        story_id=article.story_id,
        also=[_copy(c) for c in copies],
        more_passages=more,
    )


def _link(article: StoredArticle) -> str | None:
    """The source link shown to users: the URL the article was published under."""
    return article.url or (article.urls[0] if article.urls else None)


def _copy(article: StoredArticle) -> OtherCopy:
    return OtherCopy(
        id=article.id, title=article.title, url=_link(article), source=article.source, published=article.published
    )


def _json_default(value: object) -> object:
    return str(value)


def dumps(payload: object) -> str:
    return json.dumps(payload, ensure_ascii=False, default=_json_default)
