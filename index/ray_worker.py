"""One embedding worker on a Ray node, and the proof that it embeds exactly as this machine does.

`EmbeddingWorker` is a plain class; index/ray_encoder.py turns it into a Ray actor (one CPU each), so
this module does not import Ray and runs in tests without it. An actor loads the model once and runs
ONE single-thread session: Ray gives it one CPU, and ONNX Runtime and torch ignore OMP_NUM_THREADS,
so their thread counts are set here explicitly.

Before an actor gets work it returns a `WorkerProof`: its encoder's describe() (name, weights
checksum, backend, int8 recipe) and its vectors for the fixed `CANARY_TEXTS`. The driver compares it
with its own (`proof_mismatches`) and refuses any difference:
- int8: exactly. Each text is run alone (index/encoders/int8_runtime.py: `embed_alone`), so a vector does not
  depend on its batch; checked on 300 rtqa passages with batch sizes 1, 7, 33 and 64 and reversed
  order: byte-identical. A different vector then means another model file, onnxruntime or CPU kernel.
- torch fp32: within TORCH_TOLERANCE per component. A padded batch and the thread count change the
  float sums: 1.3e-7 at most between 4-thread batches of 64 and 1-thread texts alone (50 passages),
  while int8 vs fp32 of the same model differ by ~1e-2; 1e-5 keeps every real difference out.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from index.encoders import Encoder, load_encoder

# News-like texts of different lengths: a short one, a sentence, a long one near the passage budget.
CANARY_TEXTS = (
    "Markets steady ahead of the rate decision.",
    "The city council approved the new tram line on Tuesday after a four-hour debate, with work due to "
    "start next spring.",
    "Rescue teams worked through the night after the storm flooded the river valley, officials said. "
    "More than two thousand people were moved to shelters in schools and sports halls, and the regional "
    "government asked the army for boats and helicopters. Power was cut to forty thousand homes, and "
    "the main road to the coast stayed closed on Sunday while engineers inspected two damaged bridges. "
    "Forecasters expect more rain later in the week.",
)
EXACT_BACKENDS = ("int8",)  # vectors independent of batching: compared byte for byte
TORCH_TOLERANCE = 1e-5
# How many texts go through the model per run, per backend: int8 runs each text alone (its vectors
# do not depend on batching that way, and no padding is computed); others take the task's batch.
_TEXTS_PER_RUN = {"int8": 1}


@dataclass(frozen=True)
class WorkerProof:
    """Who a worker is and what it computes: compared with the driver's own before it gets work."""

    worker: str  # the Ray actor id (short), or "driver"
    node: str  # the node's IP address
    node_id: str  # Ray's node id (short): nodes on one host share an address
    pid: int
    encoder: dict[str, object]  # Encoder.describe()
    runtime: dict[str, str]  # library versions: hints when the canary differs
    canary: np.ndarray = field(repr=False)  # (len(CANARY_TEXTS), dimension) float32

    @property
    def label(self) -> str:
        return f"worker {self.worker} on node {self.node} (id {self.node_id}, pid {self.pid})"


def runtime_versions() -> dict[str, str]:
    """Versions of what computes the vectors; shown beside a canary mismatch to say where to look."""
    versions = {"python": platform.python_version(), "numpy": np.__version__, "cpu": platform.machine()}
    for name in ("onnxruntime", "torch"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = str(getattr(module, "__version__", "?"))
    return versions


def embed(encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
    """Vectors of `texts` the way a worker computes them, on the calling thread's one session."""
    per_run = _TEXTS_PER_RUN.get(encoder.backend, max(1, len(texts)))
    return encoder.encode(list(texts), batch_size=per_run)


def prove(encoder: Encoder, worker: str, node: str, node_id: str = "") -> WorkerProof:
    """This encoder's proof: its description and its canary vectors."""
    return WorkerProof(
        worker=worker,
        node=node,
        node_id=node_id,
        pid=os.getpid(),
        encoder=encoder.describe(),
        runtime=runtime_versions(),
        canary=embed(encoder, CANARY_TEXTS),
    )


def proof_mismatches(reference: WorkerProof, proof: WorkerProof) -> list[str]:
    """What differs between a worker's proof and the driver's, in words; empty when the worker may work."""
    problems = [
        f"{key}: {reference.encoder.get(key)!r} here, {proof.encoder.get(key)!r} on the worker"
        for key in sorted(set(reference.encoder) | set(proof.encoder))
        if reference.encoder.get(key) != proof.encoder.get(key)
    ]
    if problems:
        return problems
    if reference.canary.shape != proof.canary.shape:
        return [f"canary vectors of shape {proof.canary.shape}, expected {reference.canary.shape}"]
    exact = reference.encoder.get("backend") in EXACT_BACKENDS
    gap = float(np.abs(reference.canary.astype(np.float64) - proof.canary).max())
    if (exact and not np.array_equal(reference.canary, proof.canary)) or gap > TORCH_TOLERANCE:
        versions = [
            f"{name} {reference.runtime.get(name)} here, {proof.runtime.get(name)} there"
            for name in sorted(set(reference.runtime) | set(proof.runtime))
            if reference.runtime.get(name) != proof.runtime.get(name)
        ]
        allowed = "0 (exact)" if exact else f"{TORCH_TOLERANCE:g}"
        problems.append(
            f"its canary vectors differ from this machine's by up to {gap:.3g} per component (allowed "
            f"{allowed}); " + ("; ".join(versions) if versions else "same library versions, so look at its model files")
        )
    return problems


def use_one_thread(backend: str) -> None:
    """One compute thread in this process, set explicitly (ONNX Runtime and torch ignore OMP_NUM_THREADS).

    int8: every text runs on the calling thread's session, which index/encoders/int8.py creates with
    intra_op_num_threads = inter_op_num_threads = 1 (texts_per_run 1 never starts its thread pool).
    torch: its intra-op and inter-op pools are set to one thread before the model loads."""
    if backend == "torch" or "torch" in sys.modules:
        import torch

        torch.set_num_threads(1)
        if torch.get_num_interop_threads() != 1:
            # Only settable before torch's first parallel work; after that it stays as it is.
            with contextlib.suppress(RuntimeError):
                torch.set_num_interop_threads(1)


class EmbeddingWorker:
    """A Ray actor's state: one encoder, loaded once. Methods are called by index/ray_encoder.py."""

    def __init__(self, model: str | None, backend: str, test_only_perturbation: float = 0.0) -> None:
        """`test_only_perturbation` is a TEST HOOK: it is added to every vector this worker returns, as a
        node with another onnxruntime build would differ, so tests can show the driver refusing such a
        worker. Never set outside tests."""
        use_one_thread(backend)
        self.encoder = load_encoder(model, backend)
        self._perturbation = np.float32(test_only_perturbation)

    def proof(self) -> WorkerProof:
        import ray

        context = ray.get_runtime_context()
        node = ray.util.get_node_ip_address()
        actor = (context.get_actor_id() or "?")[:12]
        proof = prove(self.encoder, worker=actor, node=node, node_id=context.get_node_id()[:12])
        if self._perturbation:
            proof = replace(proof, canary=proof.canary + self._perturbation)
        return proof

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = embed(self.encoder, texts)
        return vectors + self._perturbation if self._perturbation else vectors
