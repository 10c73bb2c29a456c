"""Field normalization shared by every reader: dates, authors, URLs, ids and content hashes."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import warnings
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dateutil import parser as date_parser

from index.model import Article

# Query parameters that identify a campaign or a click, never the article.
_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|mc_cid|mc_eid|ocid|cmpid|ncid|icid|smid|smtyp|ref|ref_src|ref_url|"
    r"hp|action|pgtype|clicksource|module|region|wt\.\w+|_ga|igshid|feature|s_cid|partner)$",
    re.IGNORECASE,
)
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|\||&|\band\b|\bwith\b)\s*", re.IGNORECASE)
_AUTHOR_PREFIX = re.compile(r"^(?:by|written by|reporter|reported by|words by)\s*:?\s+", re.IGNORECASE)
_SLASHED_YMD = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_YEAR_FIRST = re.compile(r"^\d{4}\b")
# Zone names news pages print that mean one offset only; dateutil itself knows just UTC, GMT and Z.
_ZONE_OFFSETS = {
    name: hours * 3600
    for name, hours in {
        "EST": -5,
        "EDT": -4,
        "CST": -6,
        "CDT": -5,
        "MST": -7,
        "MDT": -6,
        "PST": -8,
        "PDT": -7,
        "BST": 1,
        "CET": 1,
        "CEST": 2,
        "EET": 2,
        "EEST": 3,
        "MSK": 3,
        "JST": 9,
        "AEST": 10,
        "AEDT": 11,
    }.items()
}


def normalize_date(value: object, *, dayfirst: bool = False) -> str | None:
    """Return an ISO 8601 string for the many date shapes exports use, or None when there is none.

    A bare date stays a date (``2016-09-20``); a time is kept, with its offset when one was given.
    `dayfirst` reads an ambiguous ``05/03/2026`` as 5 March (a year-first date is never reordered).
    Raises ValueError for a non-empty value that is not a date, so the caller can name the record.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        # Epoch seconds (or milliseconds, as some exports write them).
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=UTC).isoformat()
    text = str(value).strip()
    if not text:
        return None
    match = _SLASHED_YMD.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return date(year, month, day).isoformat()
    # dateutil would turn 2026-02-03 into 2 March when asked for day first.
    dayfirst = dayfirst and not _YEAR_FIRST.match(text)
    try:
        default = datetime(1, 1, 1)
        with warnings.catch_warnings():
            # A zone name it does not know ("IST" is three zones) keeps the local time, without an offset.
            warnings.simplefilter("ignore", date_parser.UnknownTimezoneWarning)
            parsed = date_parser.parse(text, default=default, fuzzy=False, dayfirst=dayfirst, tzinfos=_ZONE_OFFSETS)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"unreadable date {text!r}") from exc
    if parsed.year == 1:
        raise ValueError(f"unreadable date {text!r}")
    has_time = bool(re.search(r"\d{1,2}[:h]\d{2}", text))
    if not has_time:
        return parsed.date().isoformat()
    return parsed.isoformat()


def normalize_authors(value: object) -> list[str]:
    """Authors as a list of names, whether given as a list, a comma string or a byline."""
    if value is None:
        return []
    items: list[str] = []
    raw_items = value if isinstance(value, list | tuple) else [value]
    for raw in raw_items:
        if isinstance(raw, dict):
            raw = raw.get("name") or ""
        text = " ".join(str(raw).split())
        text = _AUTHOR_PREFIX.sub("", text)
        items.extend(part for part in _AUTHOR_SPLIT.split(text) if part)
    seen: set[str] = set()
    authors = []
    for name in items:
        name = name.strip(" .")
        if name and name.lower() not in seen:
            seen.add(name.lower())
            authors.append(name)
    return authors


def canonical_url(url: str | None) -> str | None:
    """The URL that identifies an article: scheme and host lower-cased, tracking parameters and fragment dropped."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[bad/x" (an unclosed IPv6 bracket): nothing to canonicalize, kept as given
        return url
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return url or None
    host = parts.netloc.lower()
    if host.startswith("www."):
        host = host[4:]
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAMS.match(k)]
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, query, ""))


def clean_text(text: str) -> str:
    """Normalize Unicode and whitespace while keeping paragraph breaks (blank lines)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [" ".join(line.split()) for line in block.split("\n")]
        block = "\n".join(line for line in lines if line)
        if block:
            paragraphs.append(block)
    return "\n\n".join(paragraphs)


def content_hash(title: str, text: str) -> str:
    """Hash of what gets embedded: a change to either means new passages."""
    return hashlib.sha256(f"{title}\n\n{text}".encode()).hexdigest()[:32]


def article_id(article: Article) -> str:
    """Stable id: canonical URL when there is one, else source + title + date, else the content."""
    if article.canonical_url:
        key = "url:" + article.canonical_url
    elif article.title and (article.source or article.published):
        key = f"meta:{article.source or ''}|{article.title.lower()}|{article.published or ''}"
    else:
        key = "text:" + article.content_hash
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def finalize(article: Article) -> Article:
    """Clean the text and fill in canonical URL, source (the site, when none was given), content hash
    and id. Returns the same object."""
    article.title = " ".join(article.title.split())
    article.text = clean_text(article.text)
    article.canonical_url = canonical_url(article.canonical_url or article.url)
    if article.url and article.url not in article.urls:
        article.urls.insert(0, article.url)
    host = None
    if article.canonical_url:
        try:
            host = urlsplit(article.canonical_url).hostname
        except ValueError as exc:
            article.warnings.append(f"URL {article.canonical_url!r} is not a valid URL ({exc}); kept as given")
    if not article.source and host:
        # Exports without an outlet field (rtqa-5k) still deserve a source users can filter on.
        article.source = host
    article.content_hash = content_hash(article.title, article.text)
    article.id = article_id(article)
    return article
