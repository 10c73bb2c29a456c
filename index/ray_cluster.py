"""Joining a Ray cluster for the embedding stage (issue 16): where to connect, quietly, and what is there.

Ray is an optional extra (`pip install '.[ray]'`): nothing here imports it at module level, so
`import index` and every local build work without it, and asking for Ray without it installed gives
one clear error instead of an ImportError.

Address forms, as `ray.init` takes them:
- `HOST:6379` (the head's GCS port): this machine must be a node of the cluster (`ray start
  --address=HOST:6379` here first), because a Ray driver talks to its local raylet.
- `ray://HOST:10001`: Ray Client, for a driver outside the cluster; needs `pip install 'ray[client]'`
  on both sides.
- none: `$RAY_ADDRESS` if set, else a private Ray on this machine that goes away with the process.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from types import ModuleType, TracebackType

from index.errors import RayUnavailableError

log = logging.getLogger(__name__)
INSTALL_HINT = "pip install '.[ray]' (or pip install 'newsdesk[ray]')"
ADDRESS_ENV = "RAY_ADDRESS"
AUTH_MODE_ENV = "RAY_AUTH_MODE"


ADDRESS_FORMS = "HOST:PORT (the head node, e.g. head.example:6379), ray://HOST:10001 (Ray Client) or auto"


def address_problem(address: str) -> str | None:
    """Why `address` is not a Ray address in a form `connect` takes (None when it is). Catches a path or a
    word taken for the address (`newsdesk index --ray data/` reads data/ as the address)."""
    if address == "auto" or address.startswith("ray://"):
        return None
    host, _, port = address.rpartition(":")
    if host and port.isdigit() and not any(c.isspace() or c == "/" for c in host):
        return None
    return f"{address!r} is not a Ray address; give {ADDRESS_FORMS}"


def require_ray() -> ModuleType:
    """The `ray` module, or a RayUnavailableError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailableError(f"embedding on Ray needs the ray extra, not installed here: {INSTALL_HINT}") from exc
    return ray


def quiet_ray_logs() -> None:
    """Keep Ray's chatter out of our output: its loggers at ERROR (at WARNING it announces token
    authentication and session folders on every start), and the cluster's error events, which Ray's
    driver prints straight to stdout from a thread of its own ("(raylet) A worker died ..."), sent to
    this module's logger at INFO instead. RayEncoder handles those deaths and counts them in its report.
    Ray has no switch for that thread; its printer is replaced by name (a private function: if a Ray
    version lacks it, the messages just print as before)."""
    logging.getLogger("ray").setLevel(logging.ERROR)
    try:
        from ray._private import worker as ray_worker
    except ImportError:
        return
    printer = getattr(ray_worker, "print_to_stdstream", None)
    if printer is None or getattr(printer, "_newsdesk_quiet", False):
        return

    def to_log(data: dict, ignore_prefix: bool) -> None:
        if data.get("pid") == "raylet":
            for line in data.get("lines", []):
                log.info("ray: %s", line)
        else:
            printer(data, ignore_prefix)

    to_log._newsdesk_quiet = True  # type: ignore[attr-defined]
    ray_worker.print_to_stdstream = to_log


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    """What the build report says about the cluster: where, how many nodes alive, how many CPUs."""

    address: str  # as given, or "local" for a private Ray on this machine
    nodes: int
    cpus: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def cluster_summary(address: str = "") -> ClusterSummary:
    """Nodes alive and CPUs in the cluster this process is connected to."""
    ray = require_ray()
    alive = [node for node in ray.nodes() if node.get("Alive")]
    cpus = int(sum(node.get("Resources", {}).get("CPU", 0) for node in alive))
    return ClusterSummary(address=address or "connected", nodes=len(alive), cpus=cpus)


class RayConnection:
    """This process's connection to Ray; `close()` (or leaving the `with` block) disconnects, which also
    stops a private local Ray. A connection made by someone else (ray already initialised) is left open."""

    def __init__(self, address: str, owned: bool) -> None:
        self.address = address
        self._owned = owned

    def summary(self) -> ClusterSummary:
        return cluster_summary(self.address)

    def close(self) -> None:
        if self._owned:
            ray = require_ray()
            ray.shutdown()
            self._owned = False

    def __enter__(self) -> RayConnection:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def connect(address: str | None = None, num_cpus: int | None = None) -> RayConnection:
    """Join the Ray cluster at `address`, else at `$RAY_ADDRESS`, else start a private one on this
    machine with `num_cpus` CPUs (default: all of them). Ray's logs stay out of our output."""
    ray = require_ray()
    if ray.is_initialized():
        return RayConnection(address or "connected", owned=False)
    address = address or os.environ.get(ADDRESS_ENV) or None
    # grpc is Ray Client's transport, not in the core ray package.
    if address and address.startswith("ray://") and importlib.util.find_spec("grpc") is None:
        raise RayUnavailableError(
            f"{address} is a Ray Client address, which needs pip install 'ray[client]'; or run "
            "`ray start --address=HOST:6379` on this machine and give HOST:6379"
        )
    options: dict[str, object] = {
        "log_to_driver": False,  # the workers' stdout/stderr stay in Ray's session logs
        "logging_level": logging.ERROR,
        "configure_logging": True,
    }
    if not address:
        # num_cpus None: Ray counts the CPUs this process may use (affinity and cgroup limits included).
        options |= {"address": "local", "num_cpus": num_cpus, "include_dashboard": False}
    else:
        options["address"] = address
    quiet_ray_logs()
    with _interrupts_held() as interrupted:
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = address or "a local Ray"
            raise RayUnavailableError(
                f"cannot connect to Ray at {where}: {exc}. Check that the cluster is up (`ray status`) and, "
                "for HOST:PORT, that this machine joined it with `ray start --address=HOST:PORT`. A cluster "
                "with token authentication (Ray's default when the head has ~/.ray/auth_token) also needs "
                f"{AUTH_MODE_ENV}=token and that token here (~/.ray/auth_token or $RAY_AUTH_TOKEN)"
            ) from exc
    connection = RayConnection(address or "local", owned=True)
    if interrupted:
        connection.close()
        raise KeyboardInterrupt
    return connection


@contextlib.contextmanager
def _interrupts_held() -> Iterator[list[int]]:
    """Ctrl-C held back while Ray starts, then answered (the list it yields is not empty): a ray.init
    interrupted half-way leaves a local Ray's dashboard and runtime-env agents running for a minute or
    more after the command has ended, while a started Ray is stopped cleanly. Start-up takes seconds.
    Only the main thread can handle signals; elsewhere nothing is held."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous = signal.signal(signal.SIGINT, lambda number, _frame: caught.append(number))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, previous)
