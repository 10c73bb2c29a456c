"""Shared fixtures: the real encoder (loaded once per session) and indexes built in temporary folders."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from index.build import build
from index.encoders import Encoder, load_encoder

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_collection_modifyitems(config, items):
    if os.environ.get("NEWSDESK_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow test; run with NEWSDESK_SLOW=1 (make test-all)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The default encoder, as `newsdesk index` loads it (int8 ONNX, built once into ~/.cache/newsdesk)."""
    return load_encoder()


@pytest.fixture(scope="session")
def torch_encoder() -> Encoder:
    """The fp32 sentence-transformers encoder the int8 one is checked against."""
    return load_encoder(backend="torch")


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, encoder) -> Path:
    """The project's sample corpus, indexed once for the session. Tests must not modify it."""
    corpus = tmp_path_factory.mktemp("sample") / "corpus"
    shutil.copytree(SAMPLE, corpus)
    index_dir = tmp_path_factory.mktemp("sample-index")
    build([corpus], index_dir, encoder)
    return index_dir


def load_script(name: str) -> ModuleType:
    """A module of scripts/ (not a package), imported by file; registered by name so dataclasses resolve."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
