"""`sources.toml`: what an index is built from, for `newsdesk update`/`rebuild` and the index scripts.

    index = "var/index"            # optional: the index these sources build (--index overrides it)

    [fetch]                        # needed as soon as one source is on the web
    contact = "https://newsroom.example/bot"   # put in the User-Agent: how a site's admin reaches you
    min_interval = 5.0             # optional: seconds between two requests to one host (default 5)

    [ray]                          # optional: embed on a Ray cluster, as --ray does (pip install '.[ray]')
    address = "head.example:6379"  # optional: default $RAY_ADDRESS, else a private Ray on this machine
    workers = 8                    # optional: default one per CPU of the cluster

    [[source]]
    paths = ["news/wire/*.jsonl.gz", "news/pages"]   # files, folders (walked) and globs (** recurses)
    outlet = "Wire Service"        # optional: sets `source` on every article read from here

    [[source]]
    feeds = ["https://example.com/rss.xml"]          # RSS or Atom feeds on the web
    sitemaps = ["https://example.com/news-sitemap.xml"]   # news sitemaps and sitemap indexes
    outlet = "Example Times"

Relative paths are taken from the folder holding the TOML file, and are made absolute, so each
article's origin names its file wherever the script runs from (`update --prune` relies on it).
A path or glob that matches nothing is an error, not an empty source: a rebuild from a missing mount
must not replace the index with an empty one. Feeds and sitemaps must be http(s) URLs; how they are
fetched (robots.txt, pacing, conditional requests) is `index.web`'s job.
"""

from __future__ import annotations

import glob
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from index.errors import NewsdeskError
from index.ray_cluster import address_problem

SOURCE_KEYS = ("paths", "path", "feeds", "sitemaps", "outlet")
TOP_KEYS = ("index", "fetch", "ray", "source")
FETCH_KEYS = ("contact", "min_interval")
RAY_KEYS = ("address", "workers")
DEFAULT_MIN_INTERVAL = 5.0  # seconds between two requests to one host
_GLOB_CHARS = set("*?[")
_CONTACT_HINT = (
    '[fetch]\ncontact = "https://your-site.example/newsdesk-bot"   # or an e-mail address: someone@example.com'
)


class SourcesError(NewsdeskError):
    """sources.toml cannot be read, or one of its sources matches nothing."""


@dataclass(slots=True, frozen=True)
class Source:
    """Files and folders to read, feeds and sitemaps to follow, and the outlet name to give their
    articles (None: as read)."""

    paths: tuple[Path, ...] = ()
    outlet: str | None = None
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()

    @property
    def on_the_web(self) -> bool:
        return bool(self.feeds or self.sitemaps)

    @property
    def name(self) -> str:
        """How reports name this source: its outlet, else its first feed, sitemap or path."""
        return self.outlet or next(iter((*self.feeds, *self.sitemaps, *map(str, self.paths))), "(empty source)")


@dataclass(slots=True, frozen=True)
class FetchSettings:
    """The `[fetch]` table: who we are (for the User-Agent) and how often one host may hear from us."""

    contact: str
    min_interval: float = DEFAULT_MIN_INTERVAL


@dataclass(slots=True, frozen=True)
class RaySettings:
    """Where the embedding runs when it runs on Ray (the `[ray]` table, or `--ray [ADDRESS]`)."""

    address: str | None = None  # None: $RAY_ADDRESS, else a private Ray on this machine
    workers: int | None = None  # None: one per CPU of the cluster


@dataclass(slots=True, frozen=True)
class SourcesConfig:
    path: Path
    sources: tuple[Source, ...]
    index: Path | None = None
    fetch: FetchSettings | None = None  # None when no source is on the web and no [fetch] table is given
    ray: RaySettings | None = None  # None: embed on this machine (unless --ray says otherwise)

    @property
    def web_sources(self) -> tuple[Source, ...]:
        return tuple(source for source in self.sources if source.on_the_web)


def load_sources(path: str | Path) -> SourcesConfig:
    """Read and expand a sources file; SourcesError says what is wrong and where."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesError(f"no sources file at {path} — copy sources.example.toml and edit it") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SourcesError(f"cannot read {path}: {exc}") from exc
    unknown = sorted(set(document) - set(TOP_KEYS))
    if unknown:
        raise SourcesError(f"{path}: unknown key(s) {', '.join(unknown)}; choose from {', '.join(TOP_KEYS)}")
    base = path.resolve().parent
    entries = document.get("source", [])
    if not isinstance(entries, list) or not entries:
        raise SourcesError(f"{path} lists no sources; add a [[source]] table with paths = [...] or feeds = [...]")
    sources = tuple(_source(entry, number, base, path) for number, entry in enumerate(entries, start=1))
    index = document.get("index")
    if index is not None and not isinstance(index, str):
        raise SourcesError(f"{path}: index must be a string (a folder)")
    fetch = _fetch(document.get("fetch"), path)
    web = [number for number, source in enumerate(sources, start=1) if source.on_the_web]
    if web and fetch is None:
        raise SourcesError(
            f"{path}: source {web[0]} follows feeds or sitemaps on the web, and a web crawler must say who runs it; "
            f"add at the top of the file:\n{_CONTACT_HINT}"
        )
    return SourcesConfig(
        path=path,
        sources=sources,
        index=(base / index) if index else None,
        fetch=fetch,
        ray=_ray(document.get("ray"), path),
    )


def _fetch(table: object, path: Path) -> FetchSettings | None:
    if table is None:
        return None
    where = f"{path}, [fetch]"
    table = _table(table, FETCH_KEYS, where, "[fetch]")
    contact = table.get("contact")
    if not isinstance(contact, str) or not _is_contact(contact.strip()):
        raise SourcesError(
            f"{where}: contact must be a URL (https://...) or an e-mail address that a site's admin can use "
            f"to reach you, got {contact!r}; for example:\n{_CONTACT_HINT}"
        )
    interval = table.get("min_interval", DEFAULT_MIN_INTERVAL)
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
        raise SourcesError(f"{where}: min_interval must be a number of seconds ≥ 0 (default {DEFAULT_MIN_INTERVAL})")
    return FetchSettings(contact=contact.strip(), min_interval=float(interval))


def _ray(table: object, path: Path) -> RaySettings | None:
    if table is None:
        return None
    where = f"{path}, [ray]"
    table = _table(table, RAY_KEYS, where, "[ray]")
    address, workers = table.get("address"), table.get("workers")
    if address is not None:
        problem = address_problem(address.strip()) if isinstance(address, str) else "address must be a string"
        if problem:
            raise SourcesError(f"{where}: {problem}; or leave address out ($RAY_ADDRESS, else a Ray on this machine)")
        address = address.strip()
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SourcesError(f"{where}: workers must be a whole number ≥ 1, or left out (one per CPU of the cluster)")
    return RaySettings(address=address, workers=workers)


def _is_contact(value: str) -> bool:
    if any(c.isspace() or c in "()" for c in value):  # it goes inside the User-Agent's "(+...)"
        return False
    if value.startswith("mailto:"):
        value = value[len("mailto:") :]
    if "@" in value and "/" not in value:
        name, _, domain = value.partition("@")
        return bool(name) and "." in domain
    return _is_web_url(value)


def _is_web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — raises ValueError on a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _source(entry: object, number: int, base: Path, path: Path) -> Source:
    where = f"{path}, source {number}"
    entry = _table(entry, SOURCE_KEYS, where, "[[source]]")
    patterns = _strings(entry, "paths", where)
    if "path" in entry:
        patterns += _strings({"path": entry["path"]}, "path", where)
    feeds, sitemaps = _strings(entry, "feeds", where), _strings(entry, "sitemaps", where)
    if not (patterns or feeds or sitemaps):
        raise SourcesError(f"{where}: give it paths = [...], feeds = [...] or sitemaps = [...]")
    for url in feeds + sitemaps:
        if not _is_web_url(url):
            raise SourcesError(f"{where}: {url!r} is not a web address; feeds and sitemaps must be http(s) URLs")
    outlet = entry.get("outlet")
    if outlet is not None and (not isinstance(outlet, str) or not outlet.strip()):
        raise SourcesError(f"{where}: outlet must be a non-empty string")
    return Source(
        paths=tuple(p for pattern in patterns for p in _expand(pattern, base, where)),
        outlet=outlet,
        feeds=tuple(dict.fromkeys(feeds)),
        sitemaps=tuple(dict.fromkeys(sitemaps)),
    )


def _table(value: object, keys: tuple[str, ...], where: str, header: str) -> dict:
    if not isinstance(value, dict):
        raise SourcesError(f"{where}: expected a table ({header})")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise SourcesError(f"{where}: unknown key(s) {', '.join(unknown)}; choose from {', '.join(keys)}")
    return value


def _strings(entry: dict, key: str, where: str) -> list[str]:
    """A key holding one string or a list of them; absent is empty."""
    value = entry.get(key, [])
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise SourcesError(f"{where}: {key} must be a list of non-empty strings")
    return [v.strip() for v in values]


def _expand(pattern: str, base: Path, where: str) -> list[Path]:
    full = Path(pattern).expanduser()
    full = full if full.is_absolute() else base / full
    if _GLOB_CHARS & set(pattern):
        matches = sorted(Path(p) for p in glob.glob(str(full), recursive=True))
        if not matches:
            raise SourcesError(f"{where}: {pattern} matches no file (looked in {full.parent})")
        return matches
    if not full.exists():
        raise SourcesError(f"{where}: {pattern} does not exist ({full})")
    return [full]
