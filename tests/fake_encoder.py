"""A fast, deterministic stand-in for the sentence encoder, for unit tests of the logic around it.

Each text's vector is a sum of hashed word vectors (so texts sharing words are near each other, as with a
real model), L2-normalized. It never stands in for the model in end-to-end quality tests.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

import numpy as np

from index.encoders import Encoder

_WORD = re.compile(r"\w+")


class FakeEncoder(Encoder):
    """Hash-based bag-of-words vectors; `name` and `fingerprint` mark an index built with it as such."""

    backend = "fake"

    def __init__(self, dimension: int = 64, max_tokens: int = 256) -> None:
        self.name = "fake-hash-encoder"
        self.fingerprint = f"fake-{dimension}"
        self.dimension = dimension
        self.max_tokens = max_tokens

    def _word_vector(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        return np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                vectors[row] += self._word_vector(word)
            norm = float(np.linalg.norm(vectors[row]))
            vectors[row] = vectors[row] / norm if norm else self._word_vector("\0empty")
            vectors[row] /= np.linalg.norm(vectors[row])
        if progress:
            progress(len(texts))
        return vectors

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(text)) for text in texts]
