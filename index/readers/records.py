"""Structured exports: JSON Lines, JSON (one object or an array) and CSV, with the field names people use."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping

from index.model import Article, Skip
from index.normalize import normalize_authors, normalize_date
from index.readers import SourceFile, decode

# First present, non-empty alias wins. Order matters: `content_original` is AllSides' full text.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline", "name"),
    "text": (
        "text",
        "content",
        "content_original",
        "body",
        "articleBody",
        "article_body",
        "full_text",
        "description",
        "summary",
    ),
    "url": ("url", "link", "href", "canonical_url", "permalink"),
    "published": (
        "published",
        "date",
        "publish_date",
        "published_at",
        "pubDate",
        "datePublished",
        "publication_date",
        "created_at",
        "time",
    ),
    "authors": ("authors", "author", "byline", "creator", "writers"),
    "source": ("source", "site", "sitename", "site_name", "outlet", "publisher", "domain"),
    "language": ("language", "lang"),
}
TEXT_FIELDS = FIELD_ALIASES["text"]


def _pick(record: Mapping[str, object], field: str) -> object:
    lowered = {k.lower(): v for k, v in record.items() if isinstance(k, str)}
    for alias in FIELD_ALIASES[field]:
        value = lowered.get(alias.lower())
        if value not in (None, "", []):
            return value
    return None


def _as_text(value: object) -> str:
    if isinstance(value, list):
        return "\n\n".join(str(v) for v in value if v)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("title") or "")
    return "" if value is None else str(value)


def article_from_record(record: object, origin: str) -> Article | Skip:
    """Map one exported record onto an Article, or name what is missing."""
    if not isinstance(record, Mapping):
        return Skip(origin, f"record is a {type(record).__name__}, not an object")
    text = _as_text(_pick(record, "text")).strip()
    title = _as_text(_pick(record, "title")).strip()
    if not text:
        return Skip(origin, f"no article text (looked for: {', '.join(TEXT_FIELDS)})")
    if not title:
        # A headline-less record is still worth indexing; its first line is the best title there is.
        title = text.split("\n", 1)[0][:200]
    warnings = []
    try:
        published = normalize_date(_pick(record, "published"))
    except ValueError as exc:
        # A bad date must not cost the article: keep it undated and say so in the build report.
        published, warnings = None, [f"{exc}; indexed without a date"]
    source = _pick(record, "source")
    return Article(
        title=title,
        text=text,
        url=_as_text(_pick(record, "url")).strip() or None,
        source=_as_text(source).strip() or None,
        authors=normalize_authors(_pick(record, "authors")),
        published=published,
        language=_as_text(_pick(record, "language")).strip() or None,
        origin=origin,
        warnings=warnings,
    )


def read_jsonl(source: SourceFile) -> Iterator[Article | Skip]:
    """One JSON object a line. A bad line is skipped by number; the lines around it are still read."""
    for number, raw_line in enumerate(source.data.splitlines(), start=1):
        if not raw_line.strip():
            continue
        origin = f"{source.name}:{number}"
        try:
            record = json.loads(raw_line.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            yield Skip(origin, f"invalid UTF-8 at byte {exc.start} of the line")
            continue
        except json.JSONDecodeError as exc:
            yield Skip(origin, f"malformed JSON: {exc.msg} (column {exc.colno})")
            continue
        yield article_from_record(record, origin)


def read_json(source: SourceFile) -> Iterator[Article | Skip]:
    """A JSON document: one article object, an array of them, or an object holding such an array."""
    text = decode(source)
    if isinstance(text, Skip):
        yield text
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Skip(source.name, f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
        return
    if isinstance(document, dict):
        nested = next(
            (v for k, v in document.items() if k in ("articles", "items", "data", "results") and isinstance(v, list)),
            None,
        )
        document = nested if nested is not None else [document]
    if not isinstance(document, list):
        yield Skip(source.name, "JSON is neither an article object nor an array of articles")
        return
    for number, record in enumerate(document):
        yield article_from_record(record, f"{source.name}[{number}]")


def read_csv(source: SourceFile) -> Iterator[Article | Skip]:
    """CSV with a header row; a file without any text column is skipped whole, with the columns it has."""
    text = decode(source)
    if isinstance(text, Skip):
        yield text
        return
    csv.field_size_limit(64 * 1024 * 1024)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.lower() for c in (reader.fieldnames or [])]
    if not any(alias.lower() in columns for alias in TEXT_FIELDS):
        yield Skip(
            source.name,
            f"CSV has no text column (has: {', '.join(columns) or 'none'}; expected one of: {', '.join(TEXT_FIELDS)})",
        )
        return
    try:
        for number, row in enumerate(reader, start=2):
            yield article_from_record(row, f"{source.name}:{number}")
    except csv.Error as exc:
        yield Skip(f"{source.name}:{reader.line_num}", f"malformed CSV: {exc}; rest of file not read")
