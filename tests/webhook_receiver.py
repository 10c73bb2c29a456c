"""A webhook on loopback for the alerts tests: a real HTTP server in a thread recording every POST."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Answers POSTs with `statuses` in turn (then 200) and records (status answered, JSON body) of each.
    `retry_after` is sent with 429 and 503 answers. Use as a context manager; `port` reuses a port."""

    def __init__(self, statuses: list[int] | None = None, port: int = 0, retry_after: str | None = None) -> None:
        self.statuses = list(statuses or [])
        self.requests: list[tuple[int, dict]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.requests.append((status, body))
                self.send_response(status)
                if retry_after is not None and status in (429, 503):
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/s3cret-path"

    @property
    def delivered(self) -> list[dict]:
        """The bodies answered with a 2xx."""
        return [body for status, body in self.requests if 200 <= status < 300]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def refused_url() -> str:
    """A loopback URL nothing listens on: a receiver's port, closed."""
    with Receiver() as receiver:
        url = receiver.url
    return url
