"""Reading an HTTP answer: its body, decoded from its Content-Encoding and never past a size cap (so a
gzip bomb stops at the cap, not in memory), and the wait its Retry-After asks for."""

from __future__ import annotations

import time
import zlib
from email.utils import parsedate_to_datetime

import httpx

from index.web.model import Traffic

MAX_HONOURED_RETRY_AFTER = 24 * 3600.0  # a Retry-After of a month is read as a day
_CHUNK = 64 * 1024


class TooLarge(Exception):
    """The body passed its size cap; the message says where."""


class BadContent(Exception):
    """The body cannot be decoded (an unknown Content-Encoding, broken gzip)."""


def read_body(response: httpx.Response, encoding: str, max_bytes: int, traffic: Traffic, truncate: bool) -> bytes:
    """The body, decoded, never more than `max_bytes` of it: past the cap the transfer is dropped."""
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = zlib.decompressobj()
    elif encoding == "identity":
        decoder = None
    else:
        raise BadContent(f"unsupported Content-Encoding {encoding!r} (we ask for gzip or deflate)")
    body = bytearray()
    try:
        for chunk in response.iter_raw(_CHUNK):
            traffic.bytes += len(chunk)
            pending = chunk
            while pending:
                if decoder is None:
                    body += pending
                    pending = b""
                else:
                    # max_length: a small chunk that inflates to gigabytes yields only what fits under the cap.
                    body += decoder.decompress(pending, max_bytes + 1 - len(body))
                    pending = decoder.unconsumed_tail
                if len(body) > max_bytes:
                    if truncate:
                        return bytes(body[:max_bytes])
                    raise TooLarge(f"{response.url} is over the {max_bytes:,}-byte cap (stopped reading there)")
    except zlib.error as exc:
        raise BadContent(f"body is not valid {encoding} ({exc})") from exc
    return bytes(body)


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (a number, or an HTTP date), capped at a day; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_HONOURED_RETRY_AFTER)
