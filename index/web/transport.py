"""An httpx transport whose every socket operation is bounded by a wall-clock deadline.

httpx's timeouts bound each connect, read and write: a server that sends one byte just inside the read
timeout, again and again, holds a plain client as long as it likes. Here each operation's timeout is
cut to what is left of the deadline set by `deadline()` around a request, so a request ends by then,
headers and body alike. TLS certificates are always verified; proxies from the environment are not
used (a crawler's requests go where robots.txt was read).
"""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpcore
import httpx

_DEADLINE: ContextVar[float | None] = ContextVar("newsdesk_fetch_deadline", default=None)
DEADLINE_MESSAGE = "wall-clock deadline passed"


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every network operation inside the block ends within `seconds` from now (httpx.ReadTimeout after)."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _bounded(timeout: float | None) -> float | None:
    end = _DEADLINE.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout(DEADLINE_MESSAGE)
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(host, port, _bounded(timeout), local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[typing.Any] | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _bounded(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(max_connections: int = 32) -> httpx.HTTPTransport:
    """An HTTP/1.1 transport with verified TLS whose requests obey `deadline()`."""
    transport = httpx.HTTPTransport(verify=True, trust_env=False)
    # httpx takes no network backend; its connection pool is rebuilt with ours and the same settings.
    # tests/test_web_fetch.py's trickling server fails loudly if a new httpx stops using `_pool`.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=True, trust_env=False),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=5.0,
        http1=True,
        http2=False,
        network_backend=_DeadlineBackend(),
    )
    return transport
