"""`Alerts`: the standing searches of one index directory — add, list, show, remove, check.

State lives in `alerts.sqlite` beside the index (search/alerts/store.py), so reports survive restarts and
rebuilds. A check holds `alerts.lock` (an flock, released by the kernel if the process dies) from its first
search to its last delivery, so two checks — an update's and a manual one — never report an article twice.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from index.errors import NewsdeskError
from search.alerts.delivery import LINES_FILE, LinesFile, RetryPolicy, deliver
from search.alerts.matching import backlog, find_new
from search.alerts.model import Alert, AlertDetail, AlertNotFoundError, AlertsBusyError, AlertSpec, CheckReport, now_iso
from search.alerts.store import open_store, store_exists
from search.searcher import Searcher
from search.settings import Settings

if TYPE_CHECKING:
    from index.encoders import Encoder

LOCK_FILE = "alerts.lock"


class Alerts:
    """The alerts of `index_dir`; hits are appended to `lines_file` (default: alerts.jsonl in `index_dir`)."""

    def __init__(
        self,
        index_dir: Path,
        lines_file: Path | None = None,
        policy: RetryPolicy | None = None,
        lock_wait: float = 600.0,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.lines_file = Path(lines_file) if lines_file else self.index_dir / LINES_FILE
        self.policy = policy or RetryPolicy()
        self.lock_wait = lock_wait

    @classmethod
    def of(cls, settings: Settings) -> Alerts:
        """The alerts of `settings.index`, written to `settings.alerts_file` when set."""
        return cls(settings.index, settings.alerts_file)

    def add(self, spec: AlertSpec, searcher: Searcher) -> Alert:
        """Create an alert. Nothing is reported now: what its search finds today is its backlog."""
        spec = spec.checked()
        start = backlog(searcher, spec)
        with open_store(self.index_dir) as store:
            store.create(spec, now_iso(), start.watermark, start.article_ids)
            return store.alert(spec.name)

    def list(self) -> list[Alert]:
        if not store_exists(self.index_dir):
            return []
        with open_store(self.index_dir) as store:
            return store.alerts()

    def detail(self, name: str, hits: int = 20) -> AlertDetail:
        """An alert and its latest `hits` hits, most recent first."""
        if not store_exists(self.index_dir):
            raise AlertNotFoundError(name)
        with open_store(self.index_dir) as store:
            return AlertDetail(store.alert(name), store.latest_hits(name, hits))

    def remove(self, name: str) -> Alert:
        """Delete an alert and its state; lines already written stay in the lines file."""
        if not store_exists(self.index_dir):
            raise AlertNotFoundError(name)
        with open_store(self.index_dir) as store:
            return store.remove(name)

    def retry_failed(self, name: str | None = None) -> int:
        """Put failed webhook deliveries back in line for the next check; returns how many."""
        if not store_exists(self.index_dir):
            return 0
        with open_store(self.index_dir) as store:
            if name:
                store.alert(name)  # AlertNotFoundError for a typo, rather than "0 retried"
            return store.retry_failed(name)

    def check(self, searcher: Searcher) -> CheckReport:
        """Run every alert's search on `searcher`'s generation, record what is new, and deliver all that is
        owed (this check's hits and any left undelivered by earlier ones). A failing alert is named in
        the report and does not stop the others."""
        report = CheckReport()
        if not store_exists(self.index_dir):
            return report
        started = time.perf_counter()
        with self._lock(), open_store(self.index_dir) as store:
            checked_at = now_iso()
            for alert in store.alerts():
                try:
                    found = find_new(searcher, alert, store.known_ids(alert.name), checked_at)
                except NewsdeskError as exc:
                    report.errors.append({"alert": alert.name, "error": str(exc)})
                    continue
                report.new += store.record(alert.name, found.hits, found.old, checked_at)
                report.checked += 1
            deliver(store, LinesFile(self.lines_file), self.policy, {hit.id for hit in report.new}, report)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.index_dir / LOCK_FILE, "a+") as handle:
            deadline = time.monotonic() + self.lock_wait
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise AlertsBusyError(
                            f"another alerts check has run on {self.index_dir} for over {self.lock_wait:.0f} s "
                            "(a slow webhook?); try again when it finishes"
                        ) from None
                    time.sleep(0.1)
            yield  # closing the file releases the lock


def check_index(index_dir: Path, encoder: Encoder | None = None, settings: Settings | None = None) -> CheckReport:
    """Check the alerts of `index_dir` on its live generation — what `newsdesk update` calls after a build,
    passing the encoder it built with. Costs nothing (no searcher is opened) when no alert was ever added."""
    settings = settings or Settings(index=index_dir)
    alerts = Alerts(index_dir, settings.alerts_file)
    if not store_exists(alerts.index_dir):
        return CheckReport()
    searcher = Searcher.open(index_dir, settings, encoder=encoder)
    try:
        return alerts.check(searcher)
    finally:
        searcher.close()
