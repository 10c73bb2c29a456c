"""A STAND-IN for the sentence encoder, for scripts/bench_scale.py only: NOT a language model, never used by
newsdesk itself. Embedding a million passages with the real model takes hours on two cores (bench_index
measures that); a benchmark of what the index does at scale needs vectors, not meaning.

How a text becomes a vector (deterministic: the same text always gives the same vector, whatever the batch):

- Its cluster: every word outside STOPWORDS votes for the label `label_of(word)` (a crc32 of the word, one of
  LABELS = 256 topics x 16 clusters); the most voted label wins. scripts/bench_corpus.py writes each article
  mostly from the words of one label, so passages, titles and sentences of an article land in its cluster,
  and an article's topic mates in nearby clusters.
- Its place in the cluster: Gaussian noise drawn from a hash of the whole text.
- The geometry is bench_ann's calibrated mixture (docs/benchmarks.md, "One million synthetic vectors"): cluster
  centres grouped under topics in a 32-dimensional latent space, mapped into 384 dimensions, plus a little
  isotropic noise, unit length. Clustered on purpose: uniform noise has no neighbourhood structure and would
  be a worst case for HNSW, unlike real passages.

`QueryEncoder` keeps "query embedding included" honest: it runs the REAL encoder on the query (the real
per-query cost, timed) and returns the stand-in's vector, which is what the index's vectors can be compared with.
"""

from __future__ import annotations

import hashlib
import re
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.encoders import Encoder

DIMENSION = 384  # all-MiniLM-L6-v2's
MAX_TOKENS = 256  # its max_seq_length: chunking is fitted exactly as for the real model (200 word pieces)
LATENT = 32
TOPICS = 256
CLUSTERS_PER_TOPIC = 16
LABELS = TOPICS * CLUSTERS_PER_TOPIC
SPREAD = 0.8  # a text's offset from its cluster centre, in the latent space (bench_ann's)
NOISE = 0.4  # isotropic noise, relative to the point's norm (bench_ann's)
GEOMETRY_SEED = 15  # the mixture is part of the encoder: fixed, so two runs' vectors agree


def spelled(words: str) -> tuple[str, ...]:
    """A tuple of the words of a space-separated string (word lists read better as prose)."""
    return tuple(words.split())


# The most frequent English words: the corpus generator's top ranks, and words that vote for no cluster.
STOPWORDS = spelled(
    """the of and to a in that is for on it with as was he said at by his from be have has an are but not
    they who this which its were had been would will their or more after about she her one new we also than
    up out two there all when can over into other years some first last could people no year him what
    only so if them time three our may most just like against before because while during since many
    where under then those any these such very through between each four both well back now here made
    still even off down much how make five get do you next should being own same say says told week"""
)
_STOPWORDS = frozenset(STOPWORDS)
_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r"\w+|[^\w\s]")  # what count_tokens counts: a word piece per word and punctuation mark
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def label_of(word: str) -> int:
    """The cluster a (lower-case) word votes for; its topic is label // CLUSTERS_PER_TOPIC."""
    return zlib.crc32(word.encode()) % LABELS


def count_tokens(texts: Sequence[str]) -> list[int]:
    """Words and punctuation marks per text: WordPiece gives at least that many pieces, and common words one."""
    return [len(_TOKEN.findall(text)) for text in texts]


def _splitmix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def gaussians(seeds: np.ndarray, count: int) -> np.ndarray:
    """`count` (even) standard normal draws per uint64 seed, row by row: a counter-based generator (splitmix64,
    Box-Muller), so a row depends on its seed alone and a batch is drawn in a few numpy operations."""
    steps = np.arange(1, count + 1, dtype=np.uint64) * _GOLDEN
    bits = _splitmix(seeds.astype(np.uint64)[:, None] + steps[None, :])
    uniform = ((bits >> np.uint64(40)).astype(np.float32) + np.float32(0.5)) * np.float32(2.0**-24)
    half = count // 2
    radius = np.sqrt(np.float32(-2.0) * np.log(uniform[:, :half]))
    angle = np.float32(2.0 * np.pi) * uniform[:, half:]
    return np.hstack([radius * np.cos(angle), radius * np.sin(angle)])


class StandInEncoder(Encoder):
    """The benchmark's stand-in encoder (see the module docstring). `seconds` adds up the time spent in
    `encode`, so a build's time can be given without it; with `vector_log`, every vector it makes is
    appended there (raw float32 rows), the reference set for exact search."""

    name = "bench-stand-in (not a language model)"
    backend = "stand-in"
    fingerprint = "stand-in-v1"
    dimension = DIMENSION
    max_tokens = MAX_TOKENS

    def __init__(self, vector_log: Path | None = None) -> None:
        rng = np.random.default_rng(GEOMETRY_SEED)
        topic = rng.standard_normal((TOPICS, LATENT), dtype=np.float32)
        self._centres = np.repeat(topic, CLUSTERS_PER_TOPIC, axis=0) + rng.standard_normal(
            (LABELS, LATENT), dtype=np.float32
        )
        self._into = rng.standard_normal((LATENT, DIMENSION), dtype=np.float32) / np.float32(np.sqrt(LATENT))
        self._labels: dict[str, int] = {}
        self.vector_log = vector_log
        self.seconds = 0.0
        self.encoded = 0

    def _label(self, word: str) -> int:
        label = -1 if word in _STOPWORDS or word.isdigit() else label_of(word)
        self._labels[word] = label
        return label

    def clusters(self, texts: Sequence[str], seeds: np.ndarray) -> np.ndarray:
        """Each text's most voted label (from its seed when no word votes): one vote count for the batch."""
        known, learn = self._labels, self._label
        rows: list[int] = []
        votes: list[int] = []
        for row, text in enumerate(texts):
            mine = [known[w] if w in known else learn(w) for w in _WORD.findall(text.lower())]
            votes += mine
            rows += [row] * len(mine)
        cells = np.asarray(rows, dtype=np.int64) * (LABELS + 1) + np.asarray(votes, dtype=np.int64) + 1
        counted = np.bincount(cells, minlength=len(texts) * (LABELS + 1)).reshape(len(texts), LABELS + 1)[:, 1:]
        return np.where(counted.any(axis=1), counted.argmax(axis=1), seeds % np.uint64(LABELS)).astype(np.int64)

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        started = time.perf_counter()
        vectors = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for begin in range(0, len(texts), batch_size):  # bounded memory: the vote counts are LABELS a text
            vectors[begin : begin + batch_size] = self._vectors(texts[begin : begin + batch_size])
        if self.vector_log is not None:
            with self.vector_log.open("ab") as log:
                log.write(vectors.tobytes())
        self.seconds += time.perf_counter() - started
        self.encoded += len(texts)
        if progress:
            progress(len(texts))
        return vectors

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        digests = b"".join(hashlib.blake2b(text.encode(), digest_size=8).digest() for text in texts)
        seeds = np.frombuffer(digests, dtype="<u8")
        draws = gaussians(seeds, LATENT + DIMENSION)
        point = (self._centres[self.clusters(texts, seeds)] + SPREAD * draws[:, :LATENT]) @ self._into
        norm = np.linalg.norm(point, axis=1, keepdims=True)
        point += (NOISE / np.sqrt(DIMENSION)) * norm * draws[:, LATENT:]
        return point / np.linalg.norm(point, axis=1, keepdims=True)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return count_tokens(texts)


def read_vector_log(path: Path) -> np.ndarray:
    """The vectors a StandInEncoder appended to `path`, memory-mapped, one row each."""
    return np.memmap(path, dtype=np.float32, mode="r").reshape(-1, DIMENSION)


class QueryEncoder(Encoder):
    """For searching a stand-in index with the real per-query cost: `encode` runs the real encoder on the
    texts (timed in `real_seconds`) and returns the stand-in's vectors (timed in `stand_in_seconds`, which a
    benchmark subtracts: a real searcher does not pay it). Describes itself as the stand-in, which built the
    index, so a Searcher accepts it."""

    def __init__(self, stand_in: StandInEncoder, real: Encoder) -> None:
        self.stand_in, self.real = stand_in, real
        self.name, self.fingerprint, self.backend = stand_in.name, stand_in.fingerprint, stand_in.backend
        self.dimension, self.max_tokens = stand_in.dimension, stand_in.max_tokens
        self.real_seconds = 0.0
        self.stand_in_seconds = 0.0

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        started = time.perf_counter()
        self.real.encode(texts, batch_size=batch_size)
        middle = time.perf_counter()
        vectors = self.stand_in.encode(texts, batch_size=batch_size, progress=progress)
        self.real_seconds += middle - started
        self.stand_in_seconds += time.perf_counter() - middle
        return vectors

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.stand_in.count_tokens(texts)
