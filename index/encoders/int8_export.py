"""Building the int8 model: export a sentence-transformers model to ONNX (TorchScript exporter), quantize
its MatMuls to dynamic int8 per channel, check it against fp32, and write it with its info atomically.

Runs once per machine and model (int8.py caches the result); the only place the int8 backend needs torch.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.encoders.base import sha256_of, stay_offline
from index.encoders.int8_runtime import Tokenizers, embed_alone, feeds, mean_pool, new_session
from index.errors import NewsdeskError

MODEL_FILE = "model-int8.onnx"
INFO_FILE = "model-int8.json"
# Bump when the export or quantization recipe changes, so older cached builds are rebuilt.
RECIPE = "torchscript-opset17+qint8-per-channel-matmul-fp32-ffn0/2"
OPSET = 17
MIN_BUILD_COSINE = 0.98
# Varied news-like texts the freshly built model must reproduce before it is cached.
CHECK_TEXTS = (
    "Stocks fell sharply on Monday.",
    "The central bank raised interest rates by a quarter point, citing persistent inflation in services "
    "and a labour market that has barely cooled since the spring.",
    "Rescue teams searched through the night for survivors after the earthquake struck the coastal "
    "province, where officials said hundreds of buildings had collapsed and roads to the worst-hit "
    "villages were blocked by landslides. Aid agencies warned that the cold weather forecast for the "
    "coming days would put those left homeless at risk.",
    "Who won the league title?",
    "Kremlin says territory remains the main obstacle after talks in Abu Dhabi",
    "The film broke box office records in its opening weekend, earning $1 billion worldwide.",
)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter and the quantizer narrate every step via warnings and the root logger."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def build_int8_model(model_dir: Path, target: Path, tokenizers: Tokenizers, fingerprint: str) -> dict[str, Any]:
    """Export and quantize the model in `model_dir` to `target`, atomically; returns its info."""
    stay_offline()
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    started = time.monotonic()
    with _quiet():
        # Eager attention traces to plain MatMul/Softmax; SDPA's trace adds NaN guards to every softmax.
        model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    takes_types = "token_type_ids" in inspect.signature(model.forward).parameters
    inputs = ["input_ids", "attention_mask", *(["token_type_ids"] if takes_types else [])]

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(inputs, args, strict=True))).last_hidden_state

    sample = tokenizers.batch.encode_batch(list(CHECK_TEXTS[:2]))  # two lengths: the mask path is traced
    sample_feeds = feeds(sample, inputs)
    workdir = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        with _quiet(), torch.no_grad():
            # The torch.export-based exporter (the default since torch 2.9) needs onnxscript; the
            # TorchScript one needs nothing more and its graph quantizes cleanly.
            # The wrapper must be in eval mode too: the exporter restores the wrapper's mode afterwards,
            # recursively, which would leave dropout on in the model used for the check below.
            torch.onnx.export(
                LastHiddenState().eval(),
                tuple(torch.from_numpy(sample_feeds[n]) for n in inputs),
                str(workdir / "fp32.onnx"),
                dynamo=False,
                opset_version=OPSET,
                input_names=inputs,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*inputs, "last_hidden_state"]},
            )
            # Per-channel int8 weights keep cosine ≈ 0.995 with fp32; per-tensor drops to ≈ 0.95.
            quantize_dynamic(
                str(workdir / "fp32.onnx"),
                str(workdir / MODEL_FILE),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
                nodes_to_exclude=_kept_in_fp32(workdir / "fp32.onnx"),
            )
            check = tokenizers.batch.encode_batch(list(CHECK_TEXTS))
            check_feeds = feeds(check, inputs)
            reference = mean_pool(
                model(**{n: torch.from_numpy(v) for n, v in check_feeds.items()}).last_hidden_state.numpy(),
                check_feeds["attention_mask"],
            )
        session = new_session(workdir / MODEL_FILE)
        produced = np.stack([embed_alone(session, encoding, inputs) for encoding in check])
        cosine = float((produced * reference).sum(axis=1).mean())
        if cosine < MIN_BUILD_COSINE:
            raise NewsdeskError(
                f"the int8 model built from {model_dir} strays from fp32 (mean cosine {cosine:.3f}) — "
                "use the torch backend for this model"
            )
        info = {
            "recipe": RECIPE,
            "fingerprint": fingerprint,
            "sha256": sha256_of(workdir / MODEL_FILE),
            "inputs": inputs,
            "check_cosine": round(cosine, 5),
            "onnxruntime": onnxruntime.__version__,
            "torch": torch.__version__,
            "build_seconds": round(time.monotonic() - started, 1),
        }
        # Model first, then its info: a crash in between leaves a checksum mismatch, which is rebuilt.
        os.replace(workdir / MODEL_FILE, target)
        info_tmp = workdir / INFO_FILE
        info_tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        os.replace(info_tmp, target.with_name(INFO_FILE))
        return info
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _kept_in_fp32(model_path: Path) -> list[str]:
    """MatMuls left unquantized: the first layer's feed-forward down-projection (BERT naming).

    Its input (GELU of the 1,536-wide layer) has the widest range of any activation, so one int8 scale
    for it costs the most: measured on 600 rtqa passages, keeping it in fp32 took the mean cosine with
    torch fp32 from 0.9945 to 0.9957 (p1 0.9888 → 0.9917) for 8% of the speed; any other single layer
    gained under 0.0003. On rtqa-5k dense top-10 agreement with fp32 rose from 0.902 to 0.922.
    The word-embedding Gather is not quantized either (only MatMul is): int8 there saves 35 MB of
    file, no time, and costs cosine (0.9942 with it)."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type == "MatMul" and re.search(r"layer\.0/output/dense/", n.name)]
