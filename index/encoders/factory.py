"""Choosing an encoder: `load_encoder` builds the backend asked for, importing its module only then, and
`check_encoder` refuses to mix two encoders' vectors in one index."""

from __future__ import annotations

from collections.abc import Mapping

from index.encoders.base import Encoder
from index.errors import EncoderMismatchError, NewsdeskError

BACKENDS = ("torch", "int8")
# int8 met the bar: 2.96x torch fp32 passages/s, mean cosine 0.9955 (scripts/bench_encode.py), and on
# rtqa-5k + questions_dev recall@10 dense 0.861 = 0.861, hybrid 0.931 vs 0.936 (docs/benchmarks.md).
DEFAULT_BACKEND = "int8"
_COMPARED = ("name", "fingerprint", "backend", "dimension")


def load_encoder(model: str | None = None, backend: str = DEFAULT_BACKEND) -> Encoder:
    """The encoder for a model name or path and a backend (one of BACKENDS)."""
    # Imported here, not above: importing the package must not load torch or onnxruntime.
    if backend == "torch":
        from index.encoders.torch import TorchEncoder

        return TorchEncoder(model)
    if backend == "int8":
        from index.encoders.int8 import OnnxInt8Encoder

        return OnnxInt8Encoder(model)
    raise NewsdeskError(f"unknown encoder backend {backend!r}; choose from {', '.join(BACKENDS)}")


def check_encoder(manifest: Mapping[str, object], encoder: Encoder) -> None:
    """Refuse (EncoderMismatchError) an encoder other than the one the manifest says built the index."""
    built = manifest.get("encoder")
    built = built if isinstance(built, Mapping) else {}
    mine = encoder.describe()
    if any(built.get(key) != mine.get(key) for key in _COMPARED):
        raise EncoderMismatchError(
            f"this index was built with encoder {built.get('name')} ({built.get('backend')}), not "
            f"{mine['name']} ({mine['backend']}); use the same --model/--backend or build a new index"
        )
