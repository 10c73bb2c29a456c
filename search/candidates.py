"""Retrieved passages as candidates: each passage hit with the article it belongs to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.model import Hits, PassageOwners


@dataclass(slots=True)
class Candidate:
    """A passage a retriever found, its article, and the retriever's own score (cosine or BM25)."""

    passage_id: int
    article_id: str
    score: float = 0.0


class PassageArticles:
    """Passage id -> article id, in memory: fusion and grouping need only that, so candidates are
    not read from SQLite; the text of the few passages shown is read once the page is known."""

    def __init__(self, owners: PassageOwners) -> None:
        self.passage_ids = owners.passage_ids  # ascending, so a lookup is a binary search
        self.article_ids = owners.article_ids

    def candidates(self, hits: Hits) -> list[Candidate]:
        """The hits in their order, each with its article; a vector without a passage row is skipped."""
        at = np.searchsorted(self.passage_ids, hits.ids)
        at[at >= len(self.passage_ids)] = 0
        return [
            Candidate(int(pid), self.article_ids[i], float(score))
            for pid, i, score in zip(hits.ids.tolist(), at.tolist(), hits.scores.tolist(), strict=True)
            if len(self.passage_ids) and self.passage_ids[i] == pid
        ]
