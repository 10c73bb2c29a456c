"""The torch backend: sentence-transformers on PyTorch, fp32, CPU. The reference the int8 backend is
measured against."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from index.encoders.base import Encoder, resolve_model, stay_offline
from index.errors import NewsdeskError


class TorchEncoder(Encoder):
    """sentence-transformers on PyTorch, fp32, CPU."""

    backend = "torch"

    def __init__(self, name_or_path: str | None = None) -> None:
        stay_offline()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a "Loading weights" bar on every query process is noise

        self.name, location, self.fingerprint = resolve_model(name_or_path)
        try:
            self.model = SentenceTransformer(str(location), device="cpu", local_files_only=True)
        except OSError as exc:
            raise NewsdeskError(
                f"cannot load encoder {name_or_path!r} offline: {exc}. Give a local model folder with --model"
            ) from exc
        self.tokenizer = self.model.tokenizer
        dimension, max_tokens = self.model.get_embedding_dimension(), self.model.max_seq_length
        if dimension is None or max_tokens is None:
            raise NewsdeskError(
                f"encoder {self.name!r} does not state its vector size and input limit — "
                "give a sentence-transformers model folder with --model"
            )
        self.dimension, self.max_tokens = int(dimension), int(max_tokens)

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        # Batches of similar length waste no compute on padding; sorting once here keeps that true
        # across the chunks we hand to the model for progress reporting.
        order = np.argsort([len(t) for t in texts], kind="stable")
        step = batch_size * 4
        for begin in range(0, len(texts), step):
            idx = order[begin : begin + step]
            vectors[idx] = self.model.encode(
                [texts[i] for i in idx],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if progress:
                progress(len(idx))
        return vectors

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        encoded = self.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]
