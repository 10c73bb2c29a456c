"""Turn paths (files or folders, walked recursively) into articles, naming everything that is skipped.

Every file is checked here once — size limit, empty, gzip integrity, binary content — before it reaches
the reader for its format, so each format reader only has to understand its own structure.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from index.model import Article, Skip

DEFAULT_MAX_FILE_BYTES = 1024 * 1024 * 1024  # 1 GiB: real exports run to hundreds of MB (AllSides: ~250 MB)


# Formats read a line (or a row) at a time: a cut file's partial last line is dropped, not misread.
LINE_FORMATS = frozenset({".jsonl", ".ndjson", ".csv"})


@dataclass(slots=True, frozen=True)
class SourceFile:
    """A file's bytes (decompressed when it was gzip) with the name the reader should dispatch on."""

    path: Path
    data: bytes
    suffix: str  # format suffix, ".gz" removed: ".jsonl", ".html", ...
    warning: str | None = None  # read, but not whole (a gzip stream cut off): said once in the report

    @property
    def name(self) -> str:
        return str(self.path)


@dataclass(slots=True, frozen=True)
class Gunzipped:
    """What a gzip stream decompressed to; `complete` is False when the stream ends early (a cut file)."""

    data: bytes
    complete: bool


Reader = Callable[[SourceFile], Iterator[Article | Skip]]
GroupReader = Callable[[list[SourceFile]], Iterator[Article | Skip]]


def _readers() -> tuple[dict[str, Reader], dict[str, GroupReader]]:
    # Imported lazily so `index.readers` stays importable while optional extractors load.
    from index.readers import feeds, html, records, text

    per_file: dict[str, Reader] = {
        ".jsonl": records.read_jsonl,
        ".ndjson": records.read_jsonl,
        ".json": records.read_json,
        ".csv": records.read_csv,
        ".html": html.read_html,
        ".htm": html.read_html,
        ".rss": feeds.read_feed,
        ".atom": feeds.read_feed,
        ".xml": feeds.read_feed,
    }
    # Text files are read a folder at a time: lines repeated across one site's files are chrome.
    per_group: dict[str, GroupReader] = {".txt": text.read_text_files}
    return per_file, per_group


def format_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def supported_suffixes() -> set[str]:
    per_file, per_group = _readers()
    return set(per_file) | set(per_group)


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path | Skip]:
    """Files under `paths`, folders walked recursively in sorted order; hidden files ignored."""
    supported = supported_suffixes()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                if any(part.startswith(".") for part in relative.parts) or not child.is_file():
                    continue
                if format_suffix(child) in supported:
                    yield child
                else:
                    yield Skip(str(child), f"unsupported file type {format_suffix(child) or '(none)'!r}")
        elif path.is_file():
            if format_suffix(path) in supported:
                yield path
            else:
                yield Skip(str(path), f"unsupported file type {format_suffix(path) or '(none)'!r}")
        else:
            yield Skip(str(path), "no such file or folder")


def load_file(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> SourceFile | Skip:
    """Read and decompress one file, or say why it cannot be used."""
    try:
        size = path.stat().st_size
        if size == 0:
            return Skip(str(path), "empty file (0 bytes)")
        if size > max_bytes:
            return Skip(str(path), f"file too large ({size:,} bytes > limit {max_bytes:,}); raise --max-file-mb")
        raw = path.read_bytes()
    except OSError as exc:
        return Skip(str(path), f"unreadable: {exc.strerror or exc}")
    suffix = format_suffix(path)
    warning = None
    if path.suffix.lower() == ".gz":
        try:
            unpacked = gunzip(raw, max_bytes)
        except (OSError, zlib.error) as exc:
            return Skip(str(path), f"not a valid gzip file ({exc})")
        except OverflowError:
            return Skip(str(path), f"file too large once decompressed (> limit {max_bytes:,} bytes)")
        raw = unpacked.data
        if not unpacked.complete:
            raw, warning = _cut_off(raw, suffix)
            if not raw.strip():
                return Skip(str(path), "truncated gzip (compressed stream ends early); nothing readable before the cut")
        if not raw:
            return Skip(str(path), "empty file (0 bytes once decompressed)")
    if looks_binary(raw):
        return Skip(str(path), "binary content, not text")
    return SourceFile(path=path, data=raw, suffix=suffix, warning=warning)


def gunzip(raw: bytes, max_bytes: int) -> Gunzipped:
    """Decompress gzip data (every member), never holding more than `max_bytes` of output: a gzip bomb
    raises OverflowError at the cap. A stream that ends early gives what came before the cut."""
    out = bytearray()
    rest = raw
    while rest:
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while rest and not stream.eof:
            # max_length bounds each step's output, so a few KB that inflate to GB stop at the cap.
            out += stream.decompress(rest, max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                raise OverflowError(f"more than {max_bytes:,} bytes once decompressed")
            rest = stream.unconsumed_tail
        if not stream.eof:
            return Gunzipped(bytes(out), complete=False)
        rest = stream.unused_data.lstrip(b"\x00")  # the next member; NUL padding after the last is allowed
    return Gunzipped(bytes(out), complete=True)


def _cut_off(data: bytes, suffix: str) -> tuple[bytes, str]:
    """A cut file's readable part and the warning that says what is missing."""
    if suffix in LINE_FORMATS:
        whole, _, _partial = data.rpartition(b"\n")  # the last line was cut mid-record
        lines = whole.count(b"\n") + 1 if whole else 0
        return whole, (
            f"truncated gzip (compressed stream ends early): the {lines:,} complete line(s) before the cut "
            "were read, the rest of the file is missing"
        )
    return data, "truncated gzip (compressed stream ends early): the text before the cut was read, the rest is missing"


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KiB mean it is not a text format we read."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return control > len(head) * 0.05


def decode(source: SourceFile) -> str | Skip:
    """UTF-8 text of a file (a BOM is dropped), or a Skip naming where the bytes stop being UTF-8."""
    try:
        return source.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Skip(source.name, f"invalid UTF-8 at byte {exc.start}; re-save the file as UTF-8")


def read_paths(paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Iterator[Article | Skip]:
    """Every article under `paths`, in a stable order, interleaved with the skips met on the way."""
    per_file, per_group = _readers()
    groups: dict[tuple[Path, str], list[SourceFile]] = {}
    for item in iter_files(paths):
        if isinstance(item, Skip):
            yield item
            continue
        loaded = load_file(item, max_bytes)
        if isinstance(loaded, Skip):
            yield loaded
            continue
        if loaded.suffix in per_group:
            groups.setdefault((item.parent, loaded.suffix), []).append(loaded)
            continue
        yield from _with_file_warnings(_safely(per_file[loaded.suffix], loaded), [loaded])
    for (_, suffix), files in groups.items():
        yield from _with_file_warnings(_safely(per_group[suffix], files), files)


def _with_file_warnings(items: Iterator[Article | Skip], files: list[SourceFile]) -> Iterator[Article | Skip]:
    """Pass `items` on; a file read only in part gives its warning to the last article read from it
    (named in the report with that article), or becomes a Skip when none was read."""
    warned = {source.name: source.warning for source in files if source.warning}
    if not warned:
        yield from items
        return
    held: dict[str, Article] = {}  # the latest article of each warned file, held back to carry the warning
    for item in items:
        name = _file_of(item.origin if isinstance(item, Article) else item.path, warned)
        if name is None or isinstance(item, Skip):
            yield item
            continue
        if name in held:
            yield held[name]
        held[name] = item
    for name, warning in warned.items():
        if name in held:
            held[name].warnings.append(warning)
            yield held[name]
        else:
            yield Skip(name, warning)


def _file_of(origin: str, names: dict[str, str]) -> str | None:
    """Which of `names` an origin ("file", "file:12" or "file[3]") comes from."""
    for name in names:
        if origin == name or origin.startswith((name + ":", name + "[")):
            return name
    return None


def _safely(reader: Callable, arg: SourceFile | list[SourceFile]) -> Iterator[Article | Skip]:
    """A reader bug on one file must not stop the build: it becomes a named skip."""
    name = arg.name if isinstance(arg, SourceFile) else f"{arg[0].path.parent}/*{arg[0].suffix}"
    try:
        yield from reader(arg)
    except Exception as exc:
        yield Skip(name, f"reader failed: {type(exc).__name__}: {exc}")
