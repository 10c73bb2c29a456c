"""The int8 ONNX backend against the torch one, and its on-disk cache, with the real model.

The int8 encoder tested is the session's (conftest's `encoder`), from the user cache, where it is built
once per machine. One test exports and quantizes it again on purpose, from a damaged copy of the cache
in a temporary folder: the one export of a test session (about 15 s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.encoders import Encoder
from index.encoders.int8 import OnnxInt8Encoder, cache_root
from index.encoders.int8_export import INFO_FILE
from index.errors import NewsdeskError
from tests.conftest import REPO

NEWS = [
    "The central bank left interest rates unchanged on Wednesday, signalling cuts later in the year.",
    "Firefighters battled a wildfire that forced thousands of residents to flee their homes overnight.",
    "The striker scored twice in the second half as the home side came back to win the cup final.",
    "Parliament passed the budget after a late-night session marked by protests outside.",
    "Shares of the chipmaker jumped 12% after it reported record quarterly revenue.",
    "Scientists say the new vaccine cut hospital admissions by more than half in the trial.",
    "Talks between the two delegations in Abu Dhabi ended without agreement on territory.",
    "Heavy snow closed the airport and left roads across the region impassable.",
]

# Each question is written for the passage at the same position.
QUESTIONS = [
    "Did the central bank change interest rates?",
    "Where did residents flee a wildfire?",
    "Who won the cup final?",
    "What happened to the budget in parliament?",
    "Why did the chipmaker's stock rise?",
    "How well did the vaccine work?",
    "Was there a deal on territory in Abu Dhabi?",
    "Why was the airport closed?",
]


@pytest.fixture(scope="session")
def int8(encoder: Encoder) -> OnnxInt8Encoder:
    """The default encoder is the int8 one; sharing it spares a second model in memory."""
    assert isinstance(encoder, OnnxInt8Encoder)
    return encoder


def test_describes_itself_as_the_same_model_on_another_backend(int8: OnnxInt8Encoder, torch_encoder: Encoder) -> None:
    mine, theirs = int8.describe(), torch_encoder.describe()
    assert mine["backend"] == "int8" and mine["int8_recipe"]
    int8_only = {"backend", "int8_recipe"}
    assert {k: v for k, v in mine.items() if k not in int8_only} == {k: v for k, v in theirs.items() if k != "backend"}
    assert int8.max_tokens == 256


def test_vectors_match_torch(int8: OnnxInt8Encoder, torch_encoder: Encoder) -> None:
    ours, reference = int8.encode(NEWS), torch_encoder.encode(NEWS)
    assert ours.shape == (len(NEWS), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert ((ours * reference).sum(axis=1) >= 0.98).all()


def test_nearest_passages_agree_with_torch(int8: OnnxInt8Encoder, torch_encoder: Encoder) -> None:
    expected = list(range(len(QUESTIONS)))
    for backend in (int8, torch_encoder):
        scores = backend.encode(QUESTIONS) @ backend.encode(NEWS).T
        assert scores.argmax(axis=1).tolist() == expected, backend.backend


def test_long_texts_are_truncated_like_torch(int8: OnnxInt8Encoder, torch_encoder: Encoder) -> None:
    long_text = " ".join(NEWS * 12)  # ~1,000 word pieces, four times the model's limit
    assert int8.count_tokens([long_text, NEWS[0]]) == torch_encoder.count_tokens([long_text, NEWS[0]])
    assert float(int8.encode([long_text])[0] @ torch_encoder.encode([long_text])[0]) >= 0.98


def test_vectors_come_back_in_input_order(int8: OnnxInt8Encoder) -> None:
    texts = [NEWS[0], "Short.", " ".join(NEWS[:4]), "", NEWS[5]]
    permutation = [3, 0, 4, 2, 1]
    forward = int8.encode(texts, batch_size=2)
    shuffled = int8.encode([texts[i] for i in permutation], batch_size=2)
    np.testing.assert_allclose(shuffled, forward[permutation], atol=1e-6)
    assert int8.encode([]).shape == (0, 384)


def test_a_texts_vector_does_not_depend_on_its_company(int8: OnnxInt8Encoder) -> None:
    # Dynamic int8 scales activations per onnxruntime run; a text sharing a run with others (or with
    # padding) would shift with them. Alone, in any batch, on any of the per-core threads, or first
    # and last: the same vector, so rebuilding an index or re-embedding a query reproduces it.
    texts = [" ".join(NEWS[i:] + NEWS[:i]) for i in range(len(NEWS))] + NEWS
    together = int8.encode(texts, batch_size=64)
    for i in (0, 3, len(NEWS), len(texts) - 1):
        np.testing.assert_allclose(int8.encode([texts[i]])[0], together[i], atol=1e-6)
    reversed_small_batches = int8.encode(texts[::-1], batch_size=3)
    np.testing.assert_allclose(reversed_small_batches[::-1], together, atol=1e-6)


def test_progress_counts_every_text(int8: OnnxInt8Encoder) -> None:
    seen: list[int] = []
    int8.encode(NEWS, batch_size=3, progress=seen.append)
    assert seen == [3, 3, 2]


def test_second_construction_reuses_the_cache(int8: OnnxInt8Encoder) -> None:
    before = int8.model_path.stat().st_mtime_ns
    again = OnnxInt8Encoder()
    assert again.model_path == int8.model_path
    assert again.model_path.stat().st_mtime_ns == before
    assert int8.model_path.is_relative_to(cache_root())


def test_damaged_cache_is_rebuilt(int8: OnnxInt8Encoder, tmp_path: Path) -> None:
    entry = int8.model_path.parent  # <cache>/onnx/<model and onnxruntime version>/
    shutil.copytree(entry, tmp_path / "cache" / "onnx" / entry.name, ignore=shutil.ignore_patterns(".build-*"))
    damaged = tmp_path / "cache" / "onnx" / entry.name / int8.model_path.name
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) // 3])  # as if the machine died mid-write without the rename

    rebuilt = OnnxInt8Encoder(cache_dir=tmp_path / "cache")
    assert rebuilt.model_path == damaged and damaged.stat().st_size == len(data)
    info = json.loads(damaged.with_name(INFO_FILE).read_text())
    assert info["check_cosine"] >= 0.98
    np.testing.assert_allclose(rebuilt.encode(NEWS[:3]), int8.encode(NEWS[:3]), atol=1e-5)
    assert not list(damaged.parent.glob(".build-*")), "temporary build files are cleaned up"


def test_models_without_mean_pooling_are_refused(tmp_path: Path) -> None:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            ]
        )
    )
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    with pytest.raises(NewsdeskError, match="use the torch backend"):
        OnnxInt8Encoder(str(tmp_path), cache_dir=tmp_path / "cache")


def test_only_the_widest_ranging_matmul_stays_in_fp32(int8: OnnxInt8Encoder) -> None:
    import onnx

    nodes = onnx.load(str(int8.model_path)).graph.node
    assert sum(n.op_type == "MatMulInteger" for n in nodes) == 35  # 6 layers x 6 weight matmuls, less one
    assert any(n.op_type == "MatMul" and "layer.0/output/dense" in n.name for n in nodes)
    assert not any(n.op_type == "DequantizeLinear" for n in nodes), "the word embeddings stay fp32"


def test_importing_newsdesk_loads_no_model_library_and_sets_no_environment():
    # The Hugging Face libraries read their offline switches once, at import: the encoders set them just
    # before a model is loaded, not when newsdesk is imported (a user's own settings are left alone).
    probe = (
        "import json, os, sys\n"
        "import index.encoders, search.cli\n"
        "names = ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'TOKENIZERS_PARALLELISM')\n"
        "heavy = ('torch', 'onnxruntime', 'transformers', 'sentence_transformers', 'huggingface_hub')\n"
        "imported = {n: os.environ.get(n) for n in names}, [m for m in heavy if m in sys.modules]\n"
        "index.encoders.load_encoder()\n"
        "print(json.dumps([*imported, {n: os.environ.get(n) for n in names}]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["TOKENIZERS_PARALLELISM"] = "true"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    on_import, heavy, after_load = json.loads(run.stdout)
    assert on_import == {"HF_HUB_OFFLINE": None, "TRANSFORMERS_OFFLINE": None, "TOKENIZERS_PARALLELISM": "true"}
    assert heavy == []
    assert after_load == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "true"}
