"""Shared fixtures: the real encoder (loaded once per session) and indexes built in temporary folders."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import pytest

from index.build import build
from index.encoders import Encoder, load_encoder
from index.snapshot import Snapshot

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


@pytest.fixture(scope="session")
def ray_cluster():
    """A Ray cluster on loopback: a head node with no CPUs (so it runs no worker) and two worker nodes of
    one CPU each; this process is its driver, Ray's logs kept out of the output. Started once (~20 s), shut
    down at the end of the session. Skipped without the ray extra."""
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install '.[ray]')")
    from ray.cluster_utils import Cluster

    from index.ray_cluster import connect

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    connection = connect(cluster.address)
    yield cluster
    connection.close()
    cluster.shutdown()


def store_contents(index_dir: Path) -> dict[str, object]:
    """Articles (minus the build's own timestamps), passages, vector bytes and segment files of an index's
    live generation, read through a Snapshot as a searcher reads it: what two builds must agree on."""
    snapshot = Snapshot.open(index_dir)
    try:
        store = snapshot.store
        ids = [article_id for article_id, _origin in store.origins()]
        articles = {
            key: {k: v for k, v in asdict(article).items() if k not in ("first_seen", "updated")}
            for key, article in store.articles(ids).items()
        }
        passages = {article_id: store.passages_of(article_id) for article_id in ids}
        live = snapshot.live_passage_ids()
        vectors = (live.tobytes(), snapshot.vectors.vectors_of(live).tobytes())
    finally:
        snapshot.close()
    root = index_dir / "segments"
    segments = {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}
    return {"articles": articles, "passages": passages, "vectors": vectors, "segments": segments}


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
