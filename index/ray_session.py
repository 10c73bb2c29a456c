"""A build's embedding on Ray, from start to teardown: what the commands that build (`--ray`, `[ray]` in
sources.toml) put between the encoder they loaded and the build.

`RayEmbedding(local, settings)` joins the cluster (index/ray_cluster.py), starts workers that prove they
embed as `local` does (index/ray_encoder.py) and hands the build a RayEncoder: the same Encoder
interface, describing itself as `local`, so the build, the manifest's encoder record and the encoder
checks are those of a local build. Leaving it — the build done, failed or interrupted (Ctrl-C; Ray turns
SIGTERM into SystemExit) — kills the workers and disconnects, which stops a private local Ray. Its
`report()` is what the build report says about the cluster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import TracebackType

from index.encoders import Encoder
from index.ray_cluster import ClusterSummary, RayConnection, connect
from index.ray_encoder import RayEncoder, RayEncodeReport
from index.sources import RaySettings


@dataclass(frozen=True, slots=True)
class RayBuildReport:
    """The cluster a build embedded on, and how fast: for the printed report and `--json`'s "ray"."""

    address: str  # as given (or $RAY_ADDRESS), "local" for a private Ray on this machine
    nodes: int  # nodes alive in the cluster when the build started (a head that runs no worker included)
    cpus: int
    workers: int  # proven workers at the end
    worker_nodes: int  # nodes those workers ran on
    passages: int  # passages embedded on the workers
    seconds: float  # time spent embedding on them
    passages_per_second: float
    replaced: int  # workers that died and were replaced (their batches redone)

    @classmethod
    def of(cls, cluster: ClusterSummary, encoded: RayEncodeReport) -> RayBuildReport:
        return cls(
            address=cluster.address,
            nodes=cluster.nodes,
            cpus=cluster.cpus,
            workers=encoded.workers,
            worker_nodes=encoded.nodes,
            passages=encoded.passages,
            seconds=encoded.seconds,
            passages_per_second=round(encoded.passages_per_second, 1),
            replaced=encoded.replaced,
        )

    def lines(self) -> list[str]:
        """The report's lines about the cluster, after the build's own."""
        speed = (
            f"embedded {self.passages} passages in {self.seconds:.1f} s, {self.passages_per_second:.1f} passages/s"
            if self.passages
            else "nothing to embed"
        )
        replaced = f", {self.replaced} replaced" if self.replaced else ""
        return [
            f"ray {self.address}: nodes {self.nodes} ({self.cpus} CPUs), workers {self.workers} "
            f"(on {self.worker_nodes} of the nodes{replaced}); {speed}"
        ]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class RayEmbedding:
    """`with RayEmbedding(local, settings) as ray:` build with `ray.encoder`; after it, `ray.report()`."""

    def __init__(self, local: Encoder, settings: RaySettings) -> None:
        self.local, self.settings = local, settings
        self._connection: RayConnection | None = None
        self._encoder: RayEncoder | None = None
        self._cluster: ClusterSummary | None = None
        self._final: RayEncodeReport | None = None

    @property
    def encoder(self) -> RayEncoder:
        if self._encoder is None:
            raise RuntimeError("RayEmbedding.encoder is only there inside its `with` block")
        return self._encoder

    def __enter__(self) -> RayEmbedding:
        self._connection = connect(self.settings.address)
        try:
            self._cluster = self._connection.summary()
            self._encoder = RayEncoder(self.local, self.settings.workers)
        except BaseException:
            self._connection.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            if self._encoder is not None:
                self._final = self._encoder.report()
                self._encoder.close()
        finally:
            if self._connection is not None:
                self._connection.close()

    def report(self) -> RayBuildReport:
        """The cluster and the embedding's speed (final once the `with` block is left)."""
        encoded = self._final or self.encoder.report()
        if self._cluster is None:
            raise RuntimeError("RayEmbedding.report() needs the `with` block entered first")
        return RayBuildReport.of(self._cluster, encoded)
