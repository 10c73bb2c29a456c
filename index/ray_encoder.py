"""The embedding stage on a Ray cluster, behind the same Encoder interface as the local path.

`RayEncoder(local)` describes itself as `local` does (so the manifest and check_encoder see one
encoder), counts tokens with it, and sends `encode()` to a pool of Ray actors (index/ray_worker.py):
one model load and one single-thread session each, every one proven to embed the canary texts as
`local` does before it gets work. Vectors come back in input order, batch by batch.

Why Ray Core actors and not Ray Data's `map_batches` over an actor pool (Ray's own embedding
example): the build has one writer that needs vectors in order, a batch at a time, from a driver that
already holds the texts. Core actors give exactly that with a window we control: at most `window`
batches outstanding per actor (the next one waits in its mailbox, so it never idles), results kept by
batch index and handed out in order, memory bounded by the window. Ray Data would add a streaming
executor whose resource manager can stall when the actors take every CPU of a small machine (2
cores here), which works only partly over Ray Client, and which reorders output unless told
otherwise; the proof before work, and replacing a dead actor while keeping its batches, would have to
be rebuilt around its own retry rules. scripts/bench_ray.py measures what the actors cost.

Failures: a worker that dies (process killed, node lost) is killed for good, replaced by a new actor
(which must prove itself again), and its outstanding batches go back to the front of the queue. A
batch's result is taken once, from the one request still tracked for it, so none is returned twice
and none is lost. A batch that kills `max_attempts` workers, an error raised by the encoding code,
and a worker that differs from this machine stop the encode with a NewsdeskError saying which.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from index.encoders import Encoder
from index.errors import RayUnavailableError, RayWorkerError, WorkerMismatchError
from index.ray_cluster import require_ray
from index.ray_worker import EmbeddingWorker, WorkerProof, proof_mismatches, prove


@dataclass(frozen=True, slots=True)
class RayEncodeReport:
    """For the build report: the cluster that embedded, and how fast."""

    nodes: int  # distinct nodes with a proven worker
    workers: int  # proven workers alive now
    passages: int  # passages embedded through Ray so far
    seconds: float  # time spent inside encode()
    replaced: int  # workers that died and were replaced

    @property
    def passages_per_second(self) -> float:
        return self.passages / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"passages_per_second": round(self.passages_per_second, 1)}


@dataclass(eq=False)
class _Worker:
    handle: Any  # ray.actor.ActorHandle
    number: int
    since: float
    proof: WorkerProof | None = None
    busy: set[int] = field(default_factory=set)  # batch numbers sent to it and not yet back

    @property
    def label(self) -> str:
        return self.proof.label if self.proof else f"Ray worker #{self.number} (not started yet)"


@dataclass
class _Run:
    """One encode() call's bookkeeping."""

    spans: list[tuple[int, int]]
    queue: deque[int]
    attempts: list[int]
    results: dict[int, np.ndarray] = field(default_factory=dict)
    in_flight: dict[Any, tuple[int, _Worker]] = field(default_factory=dict)  # ObjectRef → (batch, worker)
    next_out: int = 0


class RayEncoder(Encoder):
    """`local`'s vectors, computed by `workers` Ray actors (default: one per CPU of the cluster).

    Connect first (index.ray_cluster.connect). The constructor starts the actors and waits until each
    has proven itself (up to `start_timeout` seconds: a new node may build the int8 model first)."""

    def __init__(
        self,
        local: Encoder,
        workers: int | None = None,
        *,
        window: int = 2,
        task_size: int = 16,
        max_attempts: int = 3,
        start_timeout: float = 600.0,
        test_only_perturbation: float = 0.0,
    ) -> None:
        ray = require_ray()
        if not ray.is_initialized():
            raise RayUnavailableError("not connected to Ray: call index.ray_cluster.connect(address) first")
        self.local = local
        self.name, self.fingerprint, self.backend = local.name, local.fingerprint, local.backend
        self.dimension, self.max_tokens = local.dimension, local.max_tokens
        self.window, self.task_size = window, task_size
        self.max_attempts, self.start_timeout = max_attempts, start_timeout
        self.reference = prove(local, worker="driver", node="this machine", node_id="driver")
        described = local.describe()
        # max_restarts=0: a dead actor is replaced by a new one that must prove itself again.
        actor = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(EmbeddingWorker)
        self._new_actor: Callable[[], Any] = lambda: actor.options(scheduling_strategy="SPREAD").remote(
            str(described["name"]), str(described["backend"]), test_only_perturbation
        )
        self._workers: list[_Worker] = []
        self._proving: dict[Any, _Worker] = {}  # proof ObjectRef → worker
        self._started = self._passages = self._replaced = self._died_unproven = 0
        self._seconds = 0.0
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        try:
            for _ in range(count):
                self._start_worker()
            self.wait_for_workers()
        except BaseException:  # interrupted while the workers load (Ctrl-C): none is left behind
            self.close()
            raise

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        row = 0
        for block in self.iter_encode(texts, batch_size, progress):
            vectors[row : row + len(block)] = block
            row += len(block)
        return vectors

    def iter_encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> Iterator[np.ndarray]:
        """The vectors of `texts` in consecutive blocks, in input order, as soon as each is complete."""
        ray = require_ray()
        size = self._task_size(len(texts), batch_size)
        spans = [(begin, min(begin + size, len(texts))) for begin in range(0, len(texts), size)]
        run = _Run(spans, deque(range(len(spans))), [0] * len(spans))
        ahead = 4 * self.window * max(1, len(self._workers))  # finished out of order, kept: bounded
        started = time.perf_counter()
        try:
            while run.next_out < len(spans):
                self._dispatch(run, texts, ahead)
                waiting = [*run.in_flight, *self._proving]
                if not waiting:
                    raise RayWorkerError("this RayEncoder has no workers left: it was closed")
                done, _ = ray.wait(waiting, num_returns=1, timeout=1.0)
                for ref in done:
                    if ref in self._proving:
                        self._check_proof(ref, run)
                    else:
                        self._collect(ref, run, progress)
                if not done:
                    self._check_start_timeout()
                while run.next_out in run.results:
                    block = run.results.pop(run.next_out)
                    run.next_out += 1
                    self._passages += len(block)
                    yield block
        finally:
            self._seconds += time.perf_counter() - started

    def wait_for_workers(self) -> None:
        """Block until every started worker (replacements too) has proven itself, or `start_timeout`
        has passed with at least one at work. Encoding does not need this: workers join as they prove."""
        ray = require_ray()
        run = _Run([], deque(), [])
        while self._proving:
            done, _ = ray.wait(list(self._proving), num_returns=1, timeout=1.0)
            for ref in done:
                self._check_proof(ref, run)
            if not done and any(w.proof for w in self._workers):
                if time.monotonic() - min(w.since for w in self._workers) > self.start_timeout:
                    return  # work with those ready; the others join when they are
            elif not done:
                self._check_start_timeout()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.local.count_tokens(texts)

    def describe(self) -> dict[str, object]:
        return self.local.describe()

    def report(self) -> RayEncodeReport:
        proven = self.proofs
        return RayEncodeReport(
            nodes=len({p.node_id for p in proven}),
            workers=len(proven),
            passages=self._passages,
            seconds=round(self._seconds, 3),
            replaced=self._replaced,
        )

    @property
    def proofs(self) -> list[WorkerProof]:
        """The proofs of the workers alive and at work (their node, pid, versions)."""
        return [w.proof for w in self._workers if w.proof]

    def close(self) -> None:
        """Stop the actors (they also stop when this process disconnects from Ray)."""
        ray = require_ray()
        for worker in self._workers:
            # Already gone, or Ray itself is (a lost head): either way it does no more work. A failure
            # here must not hide the error that made us close.
            with contextlib.suppress(Exception):
                ray.kill(worker.handle, no_restart=True)
        self._workers.clear()
        self._proving.clear()

    def __enter__(self) -> RayEncoder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _task_size(self, count: int, batch_size: int) -> int:
        # Small tasks keep every worker busy to the end of a call (the last one finishes at most one
        # task after the others) and cost ~1 ms each in Ray; small inputs are cut so every worker gets
        # some. int8 vectors do not depend on the cut.
        slots = self.window * max(1, len(self._workers))
        return max(1, min(batch_size, self.task_size, math.ceil(count / slots)))

    def _start_worker(self) -> None:
        self._started += 1
        worker = _Worker(self._new_actor(), self._started, time.monotonic())
        self._workers.append(worker)
        self._proving[worker.handle.proof.remote()] = worker

    def _check_proof(self, ref: Any, run: _Run) -> None:
        ray = require_ray()
        worker = self._proving.pop(ref)
        try:
            proof: WorkerProof = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            if exc.actor_init_failed:  # an error in loading the model: another actor would fail alike
                self.close()
                raise RayWorkerError(f"a Ray worker could not load the encoder: {_last_line(exc)}") from exc
            self._replace(worker, run, exc)
            return
        problems = proof_mismatches(self.reference, proof)
        if problems:
            self.close()
            raise WorkerMismatchError(
                f"{proof.label} does not embed like this machine, so its vectors are refused: "
                + "; ".join(problems)
                + ". Install the same newsdesk, model and onnxruntime on every node, or leave that node out"
            )
        worker.proof = proof

    def _dispatch(self, run: _Run, texts: Sequence[str], ahead: int) -> None:
        """Fill every proven worker up to `window` outstanding batches, least busy first."""
        ready = [w for w in self._workers if w.proof]
        while ready and run.queue and run.queue[0] < run.next_out + ahead:
            worker = min(ready, key=lambda w: len(w.busy))
            if len(worker.busy) >= self.window:
                return
            batch = run.queue.popleft()
            begin, end = run.spans[batch]
            run.in_flight[worker.handle.embed.remote(list(texts[begin:end]))] = (batch, worker)
            worker.busy.add(batch)

    def _collect(self, ref: Any, run: _Run, progress: Callable[[int], None] | None) -> None:
        ray = require_ray()
        batch, worker = run.in_flight.pop(ref)
        worker.busy.discard(batch)
        begin, end = run.spans[batch]
        try:
            vectors = ray.get(ref)
        except _worker_lost() as exc:
            self._replace(worker, run, exc, lost=batch)
            return
        except ray.exceptions.RayTaskError as exc:
            self.close()
            raise RayWorkerError(f"{worker.label} failed on passages {begin}-{end - 1}: {_last_line(exc)}") from exc
        if batch < run.next_out or batch in run.results:
            return  # only one request per batch is tracked, so this cannot happen; never take a batch twice
        if vectors.shape != (end - begin, self.dimension):
            self.close()
            raise RayWorkerError(f"{worker.label} returned vectors of shape {vectors.shape} for {end - begin} passages")
        run.results[batch] = vectors
        if progress:
            progress(end - begin)

    def _replace(self, worker: _Worker, run: _Run, cause: BaseException, lost: int | None = None) -> None:
        """Drop a dead worker for good, put its outstanding batches back first in line, start another."""
        ray = require_ray()
        self._workers.remove(worker)
        ray.kill(worker.handle, no_restart=True)  # an actor only unreachable for now must not answer later
        if worker.proof is None:
            self._died_unproven += 1
            if self._died_unproven > self.max_attempts * max(1, len(self._workers) + 1):
                self.close()
                raise RayWorkerError(
                    f"{self._died_unproven} Ray workers died while loading the model (last: {_last_line(cause)}); "
                    "look for memory limits or crashes in the Ray logs of the nodes (`ray logs`)"
                )
        for ref, (_batch, owner) in list(run.in_flight.items()):
            if owner is worker:
                del run.in_flight[ref]
        batches = sorted(worker.busy | ({lost} if lost is not None else set()))
        for batch in batches:
            run.attempts[batch] += 1
            if run.attempts[batch] >= self.max_attempts:
                begin, end = run.spans[batch]
                self.close()
                raise RayWorkerError(
                    f"passages {begin}-{end - 1} were with {run.attempts[batch]} Ray workers that all died "
                    f"(last: {worker.label}: {_last_line(cause)}); look for memory limits or crashes in "
                    "the Ray logs of those nodes"
                )
        run.queue.extendleft(reversed(batches))
        self._replaced += 1
        self._start_worker()

    def _check_start_timeout(self) -> None:
        """No worker proven and none ready for `start_timeout` seconds: the cluster cannot host one."""
        if any(w.proof for w in self._workers) or not self._workers:
            return
        waited = time.monotonic() - min(w.since for w in self._workers)
        if waited > self.start_timeout:
            cpus = int(require_ray().available_resources().get("CPU", 0))
            self.close()
            raise RayWorkerError(
                f"no Ray worker was ready after {waited:.0f} s ({cpus} CPUs free in the cluster; each worker "
                "takes one): add nodes with `ray start --address=HEAD:6379`, or ask for fewer workers"
            )


def _worker_lost() -> tuple[type[BaseException], ...]:
    """The Ray errors that mean the worker or its node is gone (not that the encoding code failed)."""
    errors = require_ray().exceptions
    return (errors.RayActorError, errors.WorkerCrashedError, errors.NodeDiedError, errors.ObjectLostError)


def _last_line(exc: BaseException) -> str:
    """The message of a remote error without Ray's traceback around it."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
