"""Delivering hits: one JSON line each to the lines file, and a POST each to the alert's webhook.

Nothing is lost silently. A hit is stored before it is delivered and marked as each delivery succeeds,
so what a check could not deliver (a full disk, a webhook down) is delivered by the next one:
- the lines file gets every hit exactly once — after a crash between writing and marking, the lines
  already in the file are recognised by (alert, article_id) and not written twice;
- a webhook POST is tried `attempts` times with exponential backoff and jitter (Retry-After honoured,
  capped), then again at each later check; after `give_up_after` checks the hit is marked failed,
  shown by `alerts list` and the API, and `alerts check --retry-failed` puts it back in line. A receiver
  may see a POST twice (its answer lost in a timeout): (alert, article_id) identifies a hit.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib import metadata
from pathlib import Path

import httpx

from search.alerts.model import CheckReport, DeliveryProblem
from search.alerts.store import AlertStore

LINES_FILE = "alerts.jsonl"  # in the index directory unless configured (NEWSDESK_ALERTS_FILE)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard a check tries a webhook. Timeouts in seconds."""

    attempts: int = 3  # POSTs of one hit within one check
    backoff: float = 1.0  # the wait before the second POST; doubled for each further one, with jitter
    max_wait: float = 30.0  # the cap on a wait, Retry-After included
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    give_up_after: int = 5  # checks that tried and failed before a hit is marked failed


@dataclass(slots=True)
class PostResult:
    ok: bool
    error: str = ""


class LinesFile:
    """The JSON-lines file hits are appended to (one object per line, flushed to disk)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, lines: list[dict[str, object]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as handle:
            handle.seek(0, os.SEEK_END)
            prefix = b""
            if handle.tell():  # a line cut off by a crash is closed, so the next one stays readable
                handle.seek(-1, os.SEEK_END)
                prefix = b"" if handle.read(1) == b"\n" else b"\n"
            text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
            handle.write(prefix + text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())

    def keys(self) -> set[tuple[str, str]]:
        """(alert, article_id) of every readable line already in the file."""
        found: set[tuple[str, str]] = set()
        if not self.path.is_file():
            return found
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for raw in handle:
                try:
                    line = json.loads(raw)
                    found.add((str(line["alert"]), str(line["article_id"])))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut off by a crash, or written by someone else
        return found


class WebhookPoster:
    """POSTs hits as JSON, retrying within a check; redirects are not followed (the POST would turn into
    a GET on many servers), so a moved webhook fails with a message naming its new place."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.client = httpx.Client(
            timeout=httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout),
            follow_redirects=False,
            headers={"User-Agent": f"newsdesk/{_version()} (alerts)"},
        )

    def close(self) -> None:
        self.client.close()

    def post(self, url: str, body: dict[str, object]) -> PostResult:
        error = ""
        for attempt in range(1, self.policy.attempts + 1):
            wait = self.policy.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
            try:
                response = self.client.post(url, json=body)
            except httpx.TimeoutException:
                error = "timed out"
            except httpx.HTTPError as exc:
                error = f"could not connect: {exc}" if str(exc) else f"could not connect ({type(exc).__name__})"
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return PostResult(True)
                error = f"answered HTTP {status}"
                if 300 <= status < 400:
                    moved = response.headers.get("location", "?")
                    return PostResult(False, f"{error}, moved to {moved}; give the webhook's final URL")
                if status not in (408, 425, 429) and status < 500:
                    return PostResult(False, error)  # the request itself is refused: sending it again will not help
                wait = _retry_after(response) or wait
            if attempt < self.policy.attempts:
                time.sleep(min(wait, self.policy.max_wait))
        return PostResult(False, f"{error} (after {self.policy.attempts} tries)")


def deliver(store: AlertStore, lines: LinesFile, policy: RetryPolicy, fresh: set[int], report: CheckReport) -> None:
    """Deliver what is owed: unwritten lines, then pending webhook POSTs; results go into `report`.
    `fresh` holds the row ids of the hits this check recorded: any other unwritten hit is left over."""
    _write_lines(store, lines, fresh, report)
    _post_pending(store, policy, report)


def _write_lines(store: AlertStore, lines: LinesFile, fresh: set[int], report: CheckReport) -> None:
    unwritten = store.unwritten()
    if any(hit.id not in fresh for hit in unwritten):
        # Left by an earlier check that stopped between writing and marking: skip what reached the file.
        present = lines.keys()
        already = {hit.id for hit in unwritten if (hit.alert, hit.article_id) in present}
        store.mark_written(already)
        unwritten = [hit for hit in unwritten if hit.id not in already]
    if not unwritten:
        return
    try:
        lines.append([hit.line() for hit in unwritten])
    except OSError as exc:
        error = f"could not write {lines.path}: {exc.strerror or exc}; kept for the next check"
        report.problems += [DeliveryProblem(hit.alert, hit.article_id, "file", error) for hit in unwritten]
        return
    store.mark_written(hit.id for hit in unwritten)
    report.written += len(unwritten)


def _post_pending(store: AlertStore, policy: RetryPolicy, report: CheckReport) -> None:
    pending = store.pending_posts()
    if not pending:
        return
    poster = WebhookPoster(policy)
    down: dict[str, str] = {}  # webhooks that failed in this check: their other hits wait for the next one
    try:
        for hit, url in pending:
            if url in down:
                report.problems.append(DeliveryProblem(hit.alert, hit.article_id, "webhook", down[url]))
                continue
            result = poster.post(url, hit.line())
            if result.ok:
                store.mark_posted(hit.id)
                report.posted += 1
                continue
            down[url] = f"webhook {_host(url)} {result.error}; not tried again until the next check"
            final = store.mark_post_failed(hit.id, result.error, policy.give_up_after)
            error = f"webhook {_host(url)} {result.error}" + (
                "; gave up — `newsdesk alerts check --retry-failed` tries again" if final else "; retried next check"
            )
            report.problems.append(DeliveryProblem(hit.alert, hit.article_id, "webhook", error, final))
    finally:
        poster.close()


def _retry_after(response: httpx.Response) -> float | None:
    """The wait a 429/503 asks for, in seconds (a number or an HTTP date), or None."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _host(url: str) -> str:
    return httpx.URL(url).host or url


def _version() -> str:
    try:
        return metadata.version("newsdesk")
    except metadata.PackageNotFoundError:
        return "0"
