"""Embedding on Ray (issue 16): a real Ray cluster of two worker nodes on loopback, the real int8 model.

The same vectors and the same index as the local path, a worker killed mid-encode changes nothing, and
a worker that embeds differently is refused. The cluster (tests/conftest.py: ray_cluster) is started
once for the session (~20 s).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from index.build import build
from index.errors import RayUnavailableError, RayWorkerError, WorkerMismatchError
from index.layout import read_manifest
from index.ray_worker import CANARY_TEXTS, TORCH_TOLERANCE, proof_mismatches, prove
from tests.conftest import REPO, SAMPLE, store_contents
from tests.fake_encoder import FakeEncoder

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install '.[ray]')")

from index.ray_cluster import connect  # noqa: E402
from index.ray_encoder import RayEncoder  # noqa: E402

TEXTS = [
    f"{title}. {body}"
    for title in ("Harbor council approves tram line", "Heatwave strains the grid", "Who won the league title?")
    for body in (
        "The council voted 7-2 to build a 12-kilometre tram line to the port.",
        "Grid operators asked residents to save power as temperatures reached 41 degrees in the valley, "
        "the highest reading since records began in 1911, and hospitals reported a rise in admissions.",
        "Work starts in spring.",
        "Rescue teams searched through the night for survivors after the earthquake struck the coastal "
        "province, where officials said hundreds of buildings had collapsed and roads were blocked.",
    )
] * 4  # 48 passages, repeats included: each must come back in its own place


def test_ray_vectors_are_byte_identical_to_the_local_encoders(ray_cluster, encoder):
    seen: list[int] = []
    with RayEncoder(encoder) as remote:
        vectors = remote.encode(TEXTS, batch_size=5, progress=seen.append)
        report, proofs = remote.report(), remote.proofs
    assert vectors.dtype == np.float32 and vectors.tobytes() == encoder.encode(TEXTS).tobytes()
    assert sum(seen) == len(TEXTS)
    assert remote.describe() == encoder.describe()
    # One worker on each worker node, none on the head; the summary counts all three nodes.
    assert (report.workers, report.nodes, report.passages) == (2, 2, len(TEXTS))
    assert len({p.pid for p in proofs}) == 2
    summary = connect().summary()
    assert (summary.nodes, summary.cpus) == (3, 2)


def test_an_index_built_through_ray_equals_the_local_build(ray_cluster, encoder, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    local = build([corpus], tmp_path / "local", encoder)
    with RayEncoder(encoder) as remote:
        through_ray = build([corpus], tmp_path / "ray", remote)
    assert (through_ray.articles, through_ray.passages, through_ray.embedded) == (
        local.articles,
        local.passages,
        local.embedded,
    )
    assert local.passages > 20
    assert read_manifest(tmp_path / "ray")["encoder"] == read_manifest(tmp_path / "local")["encoder"]
    assert store_contents(tmp_path / "ray") == store_contents(tmp_path / "local")


def test_a_worker_killed_mid_encode_is_replaced_and_nothing_is_lost_or_doubled(ray_cluster, encoder):
    seen: list[int] = []
    with RayEncoder(encoder) as remote:
        victim = remote.proofs[0].pid

        def kill_once(done: int) -> None:
            if not seen:  # the first batch is back; the victim still holds work
                os.kill(victim, signal.SIGKILL)
            seen.append(done)

        vectors = remote.encode(TEXTS, batch_size=3, progress=kill_once)
        remote.wait_for_workers()  # the replacement may still be loading: the encode did not need it
        report, pids = remote.report(), {p.pid for p in remote.proofs}
    assert vectors.tobytes() == encoder.encode(TEXTS).tobytes()
    assert sum(seen) == len(TEXTS)  # every passage counted once: no batch was taken twice
    assert report.replaced >= 1 and victim not in pids and report.workers == 2


def test_a_worker_whose_vectors_differ_is_refused_by_name(ray_cluster, encoder):
    with pytest.raises(WorkerMismatchError) as refused:
        RayEncoder(encoder, workers=1, test_only_perturbation=1e-6)
    message = str(refused.value)
    assert "canary vectors differ" in message and "allowed 0 (exact)" in message
    assert "worker " in message and " on node " in message


def test_workers_that_cannot_load_the_encoder_stop_with_its_error(ray_cluster):
    # Workers load the encoder by the name and backend the driver's describes; no node knows "fake".
    with pytest.raises(RayWorkerError, match=r"could not load the encoder: .*unknown encoder backend 'fake'"):
        RayEncoder(FakeEncoder(), workers=1)


def test_a_worker_with_another_backend_is_refused_before_its_canary_is_compared(encoder):
    mine = prove(encoder, worker="driver", node="here")
    theirs = replace(mine, worker="abc", encoder=mine.encoder | {"backend": "torch", "int8_recipe": None})
    assert proof_mismatches(mine, mine) == []
    problems = proof_mismatches(mine, theirs)
    assert problems == [
        "backend: 'int8' here, 'torch' on the worker",
        f"int8_recipe: {mine.encoder['int8_recipe']!r} here, None on the worker",
    ]


def test_torch_canaries_are_compared_within_float_noise(torch_encoder):
    mine = prove(torch_encoder, worker="driver", node="here")
    assert mine.canary.shape == (len(CANARY_TEXTS), torch_encoder.dimension)
    assert proof_mismatches(mine, replace(mine, canary=mine.canary + TORCH_TOLERANCE / 10)) == []
    problems = proof_mismatches(mine, replace(mine, canary=mine.canary + TORCH_TOLERANCE * 10))
    assert len(problems) == 1 and "allowed 1e-05" in problems[0]


def test_without_ray_installed_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets on the default install
    with pytest.raises(RayUnavailableError, match=r"pip install '\.\[ray\]'"):
        connect()


def test_the_package_imports_without_ray():
    code = "import sys; sys.modules['ray'] = None; import index.build, index.ray_encoder, index.ray_cluster"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_losing_a_node_mid_encode_loses_no_passage(ray_cluster, encoder):
    """Runs last: it takes a worker node down and puts a new one in its place for the session."""
    seen: list[int] = []
    texts = TEXTS * 4  # long enough that work is still queued for the lost node's worker
    with RayEncoder(encoder) as remote:
        doomed, victim = remote.proofs[0].node_id, remote.proofs[0].pid
        node = next(n for n in ray_cluster.worker_nodes if n.node_id.startswith(doomed))

        def lose_node_once(done: int) -> None:
            if not seen:
                ray_cluster.remove_node(node, allow_graceful=False)
                # A lost machine takes its worker along; on loopback the worker process outlives its
                # raylet for a while and could finish the encode alone.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(victim, signal.SIGKILL)
            seen.append(done)

        vectors = remote.encode(texts, batch_size=3, progress=lose_node_once)
        report = remote.report()
        ray_cluster.add_node(num_cpus=1)  # the replacement, waiting for a CPU, starts there
        remote.wait_for_workers()
        nodes = {p.node_id for p in remote.proofs}
    assert vectors.tobytes() == encoder.encode(texts).tobytes()
    assert sum(seen) == len(texts)
    assert report.replaced >= 1 and doomed not in nodes and len(nodes) == 2
