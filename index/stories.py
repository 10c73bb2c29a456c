"""Story grouping against the store: an article joins the story of its best near-copy already indexed.

The rule is `index.dedupe.StoryGrouper`'s (MinHash LSH candidates, the best estimated Jaccard at or above
the threshold, ties to the smallest article id, never merging two stories), but the LSH band keys live in
the store (`story_bands`), so grouping an update's articles costs an indexed lookup per article instead of
loading every signature of the index.
"""

from __future__ import annotations

import numpy as np

from index import dedupe
from index.store import Store

_KEY_MASK = 0xFFFFFFFF  # 32-bit keys: 5 bytes in SQLite, not 9; the rare extra candidate is verified anyway


def band_keys(signature: bytes | None) -> list[int]:
    """The band keys a signature is filed under (none for a text too short to group)."""
    values = dedupe.parse_signature(signature) if signature else None
    if values is None:
        return []
    return (dedupe.band_keys(values[None, :])[0] & np.uint64(_KEY_MASK)).astype(np.int64).tolist()


class StoryKeeper:
    """Assigns stories in one transaction of the store; `touched` collects the stories whose sizes changed
    (`flush` recounts them)."""

    def __init__(self, store: Store, threshold: float = dedupe.THRESHOLD) -> None:
        self.store = store
        self.threshold = threshold
        self.touched: set[str] = set()

    def forget(self, article_id: str) -> None:
        """Stop matching against a stored article (about to be deleted or re-signed).

        Its band keys stay in `story_bands`: candidates are read through the articles table, so a deleted
        article is never matched and a re-signed one is compared by its current signature. Deleting the keys
        dirtied a page of that large, randomly keyed table per key — three quarters of the pages a removal
        of 100 articles wrote at a million passages (WAL frames 8,124 → 2,036). `newsdesk compact` drops the
        keys of deleted articles (`Store.prune_story_bands`)."""
        known = self.store.story_of(article_id)
        if known is not None and known[0]:
            self.touched.add(known[0])

    def assign(self, article_id: str, signature: bytes) -> str:
        """The story of a new or changed article (stored with `signature`): its best near-copy's, else its own."""
        keys = band_keys(signature)
        story = article_id
        values = dedupe.parse_signature(signature)
        if keys and values is not None:
            best: tuple[float, str, str] | None = None
            for other, other_story, other_signature in self.store.story_candidates(keys):
                other_values = dedupe.parse_signature(other_signature) if other_signature else None
                if other == article_id or other_story is None or other_values is None:
                    continue
                estimate = float(np.count_nonzero(other_values == values)) / dedupe.NUM_PERM
                if estimate >= self.threshold and (best is None or (-estimate, other) < best[:2]):
                    best = (-estimate, other, other_story)
            if best is not None:
                story = best[2]
            self.store.add_story_bands(article_id, keys)
        self.store.set_story(article_id, story)
        self.touched.add(story)
        return story

    def flush(self) -> None:
        self.store.refresh_story_sizes(self.touched)
        self.touched.clear()
