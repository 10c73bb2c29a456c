"""Retrieved passages as candidates: each passage hit with the article it belongs to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.model import Hits


@dataclass(slots=True)
class Candidate:
    """A passage a retriever found, its article, and the retriever's own score (cosine or BM25)."""

    passage_id: int
    article_id: str
    score: float = 0.0


class PassageArticles:
    """Passage id -> article id, from two arrays (the segments' passage map): fusion and grouping need only
    that, so candidates are not read from SQLite; the text of the few passages shown is read once the page
    is known. Article ids stay bytes in a numpy array until a candidate needs one: a million passages cost
    24 MB, not a million Python strings."""

    def __init__(self, passage_ids: np.ndarray, article_ids: np.ndarray) -> None:
        self.passage_ids = passage_ids  # ascending, so a lookup is a binary search
        self.article_ids = article_ids  # fixed-width bytes, at the same positions

    def candidates(self, hits: Hits) -> list[Candidate]:
        """The hits in their order, each with its article; a vector without a passage row is skipped."""
        if not len(self.passage_ids) or not len(hits.ids):
            return []
        at = np.searchsorted(self.passage_ids, hits.ids)
        at[at >= len(self.passage_ids)] = 0
        found = self.passage_ids[at] == hits.ids
        owners = self.article_ids[at[found]].tolist()
        return [
            Candidate(pid, owner.decode("ascii"), score)
            for pid, owner, score in zip(hits.ids[found].tolist(), owners, hits.scores[found].tolist(), strict=True)
        ]
