"""Near-duplicates: the same story republished (wire copies, light edits, new headline) shares a story id.

MinHash over word 5-shingles of the normalized body (lowercase, NFKC, punctuation dropped), 256
permutations, banded LSH for candidates, and every candidate verified by its estimated Jaccard: a new
article joins the story of its single best match at Jaccard >= 0.6, else it starts a story of its own.
Exact copies are not this module's business (the content hash collapses them before it runs).

How the numbers were chosen (AllSides corpus, 37,552 articles, and the 1,136 hand-made same-story
groups of eval/stories_dev.jsonl; exact Jaccard of shingle sets unless said otherwise):

- Independently written articles about the same story (stories_dev, 1,968 pairs from different
  outlets) have 5-shingle Jaccard median 0.004, p99 0.12, max 0.24 — apart from 3 pairs that are in
  fact wire copies (0.52-0.77). Syndicated copies found in the corpus (Reuters on Newsmax, AP on CBN
  and the Boston Herald, columns run by two papers) sit at 0.66-0.96; heavier rewrites of a wire
  story (Daily Mail, CBS, Newsmax on AP/Reuters/Bloomberg) at 0.45-0.53. Shingle size: over 20
  cross-outlet copies, (p99 of independent pairs) / (weakest copy) falls from 0.62 (1 word) to 0.32
  (3 words) and 0.26 (5), and barely moves after (0.25 at 7), so k = 5.
- Threshold 0.6: of the 24 corpus pairs at >= 0.6, 22 are copies or versions of one article (the
  other two are pages without an article body of their own: a photo-gallery index, a newsletter
  page). In [0.5, 0.6) only half of the 27 pairs are; the rest are unrelated CNN articles that share
  an embedded photo gallery (up to 0.56), which would glue unrelated stories together. Below 0.5 it
  is mostly such chrome. Stripping galleries upstream would let the threshold come down to ~0.45.
- 256 permutations: the estimate's standard deviation near the threshold is 0.025-0.03 (theory
  0.031 at J = 0.5); with 128 it was 0.048, and 3 pairs under 0.6 were estimated above it (1 with 256).
- Texts under 50 words (briefs, teasers, captions) are never grouped: their shingle sets are tiny
  and formulaic, so a high Jaccard says little. Their signature is a header that matches nothing.

Signatures are computed here with numpy (not datasketch) so that their bytes never change with a
library upgrade: the store keeps them across builds, and datasketch 2.0 changed its default hashing.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from index.errors import IndexFormatError

SHINGLE_WORDS = 5
NUM_PERM = 256
THRESHOLD = 0.6
MIN_WORDS = 50

_MAGIC = b"MH"
_VERSION = 1
_FLAG_SHORT = 1
_HEADER = struct.Struct("<2sBBHB")  # magic, format version, shingle words, permutations, flags
_BLOCK = 4096  # shingles hashed per step, bounding memory on very long texts

_WORD = re.compile(r"[^\W_]+")


def _splitmix64(state: int) -> tuple[int, int]:
    state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return state, z ^ (z >> 31)


def _permutations(count: int, seed: int = 20240611) -> tuple[np.ndarray, np.ndarray]:
    """Affine maps x -> a*x + b (mod 2^32), a odd; pure-Python generation so they never drift."""
    values = []
    state = seed
    for _ in range(2 * count):
        state, value = _splitmix64(state)
        values.append(value & 0xFFFFFFFF)
    a = np.array(values[:count], dtype=np.uint32) | np.uint32(1)
    b = np.array(values[count:], dtype=np.uint32)
    return a, b


_A, _B = _permutations(NUM_PERM)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S33 = np.uint64(33)
_S32 = np.uint64(32)


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finalizer: a bijection that spreads every input bit over the whole word."""
    h = h ^ (h >> _S33)
    h = h * _M1
    h = h ^ (h >> _S33)
    h = h * _M2
    return h ^ (h >> _S33)


def words(text: str) -> list[str]:
    """The normalized words of a text: NFKC, lowercase, punctuation dropped, apostrophes joined ("dont")."""
    text = unicodedata.normalize("NFKC", text).lower().replace("'", "").replace("’", "")
    return _WORD.findall(text)


@lru_cache(maxsize=1 << 18)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def _shingle_hashes(tokens: Sequence[str]) -> np.ndarray:
    """32-bit hashes of the distinct word k-shingles, order-sensitive within a shingle."""
    hashes = np.fromiter((_word_hash(w) for w in tokens), dtype=np.uint64, count=len(tokens))
    count = len(hashes) - SHINGLE_WORDS + 1
    combined = np.zeros(count, dtype=np.uint64)
    for offset in range(SHINGLE_WORDS):
        combined = _fmix64(combined * _GOLDEN + hashes[offset : offset + count])
    return np.unique((combined >> _S32).astype(np.uint32))


def signature_of_words(tokens: Sequence[str]) -> bytes:
    """`signature` for text already split by `words` (lets a caller that needs the words too split once)."""
    if len(tokens) < MIN_WORDS:
        return _HEADER.pack(_MAGIC, _VERSION, SHINGLE_WORDS, NUM_PERM, _FLAG_SHORT)
    shingles = _shingle_hashes(tokens)
    minimum = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    for start in range(0, len(shingles), _BLOCK):
        block = shingles[start : start + _BLOCK, None]
        np.minimum(minimum, (block * _A + _B).min(axis=0), out=minimum)  # uint32 arithmetic wraps mod 2^32
    return _HEADER.pack(_MAGIC, _VERSION, SHINGLE_WORDS, NUM_PERM, 0) + minimum.astype("<u4").tobytes()


def signature(text: str) -> bytes:
    """Compact MinHash signature of an article body (1,031 bytes; 7 for a text under MIN_WORDS words)."""
    return signature_of_words(words(text))


def parse_signature(data: bytes) -> np.ndarray | None:
    """The MinHash values of a signature, or None for a text too short to group.

    Raises IndexFormatError for bytes this version did not write (rebuilding the index rewrites them).
    """
    if len(data) < _HEADER.size:
        raise IndexFormatError(f"story signature of {len(data)} bytes is not one newsdesk wrote; rebuild the index")
    magic, version, shingle_words, num_perm, flags = _HEADER.unpack_from(data)
    if (magic, version, shingle_words, num_perm) != (_MAGIC, _VERSION, SHINGLE_WORDS, NUM_PERM):
        raise IndexFormatError(
            f"story signature format {magic!r} v{version} ({shingle_words}-word shingles, {num_perm} "
            f"permutations) is not this version's {_MAGIC!r} v{_VERSION} ({SHINGLE_WORDS}, {NUM_PERM}); "
            "rebuild the index"
        )
    if flags & _FLAG_SHORT:
        return None
    values = np.frombuffer(data, dtype="<u4", offset=_HEADER.size)
    if len(values) != NUM_PERM:
        raise IndexFormatError(f"story signature holds {len(values)} values, expected {NUM_PERM}; rebuild the index")
    return values.astype(np.uint32)


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two articles' shingle sets; 0.0 when either is too short to group."""
    values_a, values_b = parse_signature(a), parse_signature(b)
    if values_a is None or values_b is None:
        return 0.0
    return float(np.count_nonzero(values_a == values_b)) / NUM_PERM


def lsh_rows(threshold: float, num_perm: int = NUM_PERM, recall: float = 0.99, margin: float = 0.05) -> int:
    """Rows per LSH band: the most (fewest candidates) that still make a pair `margin` below the
    threshold a candidate with probability >= `recall`. For 0.6 and 256 permutations: 4 rows x 64 bands."""
    target = max(threshold - margin, 0.0)
    for rows in range(num_perm, 1, -1):
        bands = num_perm // rows
        if 1.0 - (1.0 - target**rows) ** bands >= recall:
            return rows
    return 1


def band_keys(values: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """(n, bands) LSH band keys of (n, NUM_PERM) MinHash values, as a StoryGrouper files them: two
    signatures sharing a key are candidates (index/stories.py keeps them in the store)."""
    rows_per_band = lsh_rows(threshold)
    return _Buckets(NUM_PERM // rows_per_band, rows_per_band).keys(values)


@dataclass(slots=True, frozen=True)
class Match:
    """An article's best near-duplicate already known to a StoryGrouper."""

    article_id: str
    story_id: str
    similarity: float


class _Buckets:
    """LSH buckets: one 64-bit key per band per article, kept in sorted numpy arrays (12 bytes per key,
    against ~100 for a dict entry) plus a dict for recent additions, merged in when it grows."""

    def __init__(self, bands: int, rows_per_band: int) -> None:
        self.bands = bands
        self.width = rows_per_band
        self._salt = np.arange(bands, dtype=np.uint64) * _GOLDEN
        self._keys = np.empty(0, dtype=np.uint64)
        self._rows = np.empty(0, dtype=np.int64)
        self._recent: dict[int, list[int]] = {}
        self._recent_rows = 0

    def keys(self, values: np.ndarray) -> np.ndarray:
        """(n, bands) keys for (n, NUM_PERM) MinHash values."""
        grouped = values[:, : self.bands * self.width].reshape(len(values), self.bands, self.width)
        keys = np.broadcast_to(self._salt, (len(values), self.bands)).copy()
        for column in range(self.width):
            keys = _fmix64(keys * _GOLDEN + grouped[:, :, column].astype(np.uint64))
        return keys

    def extend(self, rows: np.ndarray, keys: np.ndarray) -> None:
        """Add many articles at once (building from stored triples): one sort."""
        self._merge(np.repeat(rows.astype(np.int64), self.bands), keys.reshape(-1))

    def add(self, row: int, keys: np.ndarray) -> None:
        for key in keys.tolist():
            self._recent.setdefault(key, []).append(row)
        self._recent_rows += 1
        if self._recent_rows >= max(2048, len(self._keys) // (4 * self.bands)):
            self._merge(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64))

    def _merge(self, rows: np.ndarray, keys: np.ndarray) -> None:
        recent_keys = [k for k, found in self._recent.items() for _ in found]
        recent_rows = [r for found in self._recent.values() for r in found]
        all_keys = np.concatenate([self._keys, keys, np.array(recent_keys, dtype=np.uint64)])
        all_rows = np.concatenate([self._rows, rows, np.array(recent_rows, dtype=np.int64)])
        order = np.argsort(all_keys, kind="stable")
        self._keys, self._rows = all_keys[order], all_rows[order]
        self._recent, self._recent_rows = {}, 0

    def lookup(self, keys: np.ndarray) -> set[int]:
        """Rows sharing at least one band key."""
        low = np.searchsorted(self._keys, keys, side="left")
        high = np.searchsorted(self._keys, keys, side="right")
        found: set[int] = set()
        for start, stop in zip(low.tolist(), high.tolist(), strict=True):
            if stop > start:
                found.update(self._rows[start:stop].tolist())
        for key in keys.tolist():
            found.update(self._recent.get(key, ()))
        return found


class StoryGrouper:
    """Assigns story ids to articles, incrementally, from their signatures.

    Built from the (article_id, story_id, signature) triples already stored, so an update only
    signs its new articles. An article joins the story of its single best match (never merging two
    stories), so a chain of matches cannot pull unrelated stories together. Ties go to the smallest
    article id, which makes the result independent of the order the triples come in.
    """

    def __init__(self, existing: Iterable[tuple[str, str, bytes]] = (), threshold: float = THRESHOLD) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        rows_per_band = lsh_rows(threshold)
        self._buckets = _Buckets(NUM_PERM // rows_per_band, rows_per_band)
        self._ids: list[str] = []
        self._stories: list[str] = []
        self._alive: list[bool] = []
        self._row_of: dict[str, int] = {}  # -1: known but too short to match anything
        self._values = np.empty((0, NUM_PERM), dtype=np.uint32)
        self._extend(existing)

    def __len__(self) -> int:
        return len(self._row_of)

    def _extend(self, triples: Iterable[tuple[str, str, bytes]]) -> None:
        first = len(self._ids)
        fresh: list[np.ndarray] = []
        for article_id, story_id, data in triples:
            values = parse_signature(data)
            self.forget(article_id)
            if values is None:
                self._row_of[article_id] = -1
                continue
            self._row_of[article_id] = len(self._ids)
            self._ids.append(article_id)
            self._stories.append(story_id)
            self._alive.append(True)
            fresh.append(values)
        if fresh:
            self._values = np.concatenate([self._values[:first], np.stack(fresh)])
            self._buckets.extend(np.arange(first, len(self._ids)), self._buckets.keys(self._values[first:]))

    def match(self, data: bytes) -> Match | None:
        """The best known article at or above the threshold, or None."""
        values = parse_signature(data)
        if values is None:
            return None
        candidates = [row for row in self._buckets.lookup(self._buckets.keys(values[None, :])[0]) if self._alive[row]]
        if not candidates:
            return None
        estimates = np.count_nonzero(self._values[candidates] == values, axis=1) / NUM_PERM
        best: tuple[float, str, int] | None = None
        for row, estimate in zip(candidates, estimates.tolist(), strict=True):
            key = (-estimate, self._ids[row], row)
            if estimate >= self.threshold and (best is None or key < best):
                best = key
        if best is None:
            return None
        return Match(self._ids[best[2]], self._stories[best[2]], -best[0])

    def add(self, article_id: str, story_id: str, data: bytes) -> None:
        """Record an article whose story is already known; a known article id is replaced."""
        values = parse_signature(data)
        self.forget(article_id)
        if values is None:
            self._row_of[article_id] = -1
            return
        row = len(self._ids)
        if row == len(self._values):
            grown = np.empty((max(1024, 2 * row), NUM_PERM), dtype=np.uint32)
            grown[:row] = self._values[:row]
            self._values = grown
        self._values[row] = values
        self._ids.append(article_id)
        self._stories.append(story_id)
        self._alive.append(True)
        self._row_of[article_id] = row
        self._buckets.add(row, self._buckets.keys(values[None, :])[0])

    def assign(self, article_id: str, data: bytes) -> str:
        """Story id for a new (or changed) article: its best near-duplicate's story, else its own id."""
        self.forget(article_id)
        found = self.match(data)
        story_id = found.story_id if found else article_id
        self.add(article_id, story_id, data)
        return story_id

    def forget(self, article_id: str) -> None:
        """Stop matching against an article (deleted, or about to be re-signed)."""
        row = self._row_of.pop(article_id, None)
        if row is not None and row >= 0:
            self._alive[row] = False
