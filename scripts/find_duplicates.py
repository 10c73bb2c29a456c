#!/usr/bin/env python3
"""Report exact and near-duplicate articles in news files, without building an index (no embedding).

Reads PATH... the way `newsdesk index` does, then reports:

- exact duplicates: articles whose normalized body text (the words `index.dedupe.words` keeps) is
  identical — the build collapses these into one article by content hash;
- near-duplicate stories: the remaining articles grouped by `index.dedupe.StoryGrouper` (MinHash +
  LSH, estimated Jaccard >= threshold), i.e. the same story republished with light edits.

    .venv/bin/python scripts/find_duplicates.py PATH... [--threshold 0.6] [--json] [--examples 6]
        [--max-file-mb 200] [--jobs 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index import dedupe  # noqa: E402
from index.model import Skip  # noqa: E402
from index.normalize import finalize  # noqa: E402
from index.readers import DEFAULT_MAX_FILE_BYTES, read_paths  # noqa: E402

_BATCH = 256  # texts per worker task


@dataclass(slots=True)
class Item:
    id: str
    title: str
    source: str | None
    url: str | None
    text_key: str = ""
    words: int = 0
    signature: bytes = b""
    story: str = ""
    similarity: float | None = None  # estimated Jaccard to the article it was grouped with


def _sign(texts: Sequence[str]) -> list[tuple[str, int, bytes]]:
    """(normalized-text hash, word count, signature) per text; runs in worker processes."""
    out = []
    for text in texts:
        tokens = dedupe.words(text)
        key = hashlib.blake2b(" ".join(tokens).encode(), digest_size=16).hexdigest()
        out.append((key, len(tokens), dedupe.signature_of_words(tokens)))
    return out


def _read(paths: list[str], max_bytes: int, skips: list[Skip]) -> Iterator[tuple[Item, str]]:
    seen: Counter[str] = Counter()
    for entry in read_paths(paths, max_bytes):
        if isinstance(entry, Skip):
            skips.append(entry)
            continue
        article = finalize(entry)
        if not article.text:
            skips.append(Skip(article.origin, "no article text after cleaning"))
            continue
        seen[article.id] += 1
        # The same URL twice is the build's business; here each record stays its own item.
        item_id = article.id if seen[article.id] == 1 else f"{article.id}~{seen[article.id]}"
        yield Item(item_id, article.title, article.source, article.url), article.text


def _batches(pairs: Iterator[tuple[Item, str]], size: int) -> Iterator[tuple[list[Item], list[str]]]:
    items: list[Item] = []
    texts: list[str] = []
    for item, text in pairs:
        items.append(item)
        texts.append(text)
        if len(items) == size:
            yield items, texts
            items, texts = [], []
    if items:
        yield items, texts


def read_and_sign(paths: list[str], max_bytes: int, jobs: int, skips: list[Skip]) -> list[Item]:
    items: list[Item] = []
    batches = _batches(_read(paths, max_bytes, skips), _BATCH)
    if jobs <= 1:
        results = ((batch, _sign(texts)) for batch, texts in batches)
        for batch, signed in results:
            _attach(batch, signed, items)
        return items
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending = []
        for batch, texts in batches:
            pending.append((batch, pool.submit(_sign, texts)))
            if len(pending) >= 4 * jobs:  # bound the texts held in memory
                batch, future = pending.pop(0)
                _attach(batch, future.result(), items)
        for batch, future in pending:
            _attach(batch, future.result(), items)
    return items


def _attach(batch: list[Item], signed: list[tuple[str, int, bytes]], items: list[Item]) -> None:
    for item, (key, words, signature) in zip(batch, signed, strict=True):
        item.text_key, item.words, item.signature = key, words, signature
        items.append(item)


def group(items: list[Item], threshold: float) -> tuple[list[list[Item]], list[list[Item]]]:
    """(exact duplicate groups, near-duplicate story groups), both in read order."""
    by_text: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_text[item.text_key].append(item)
    exact = [members for members in by_text.values() if len(members) > 1]
    grouper = dedupe.StoryGrouper(threshold=threshold)
    stories: dict[str, list[Item]] = defaultdict(list)
    for members in by_text.values():
        first = members[0]  # exact copies collapse into their first occurrence, as in the build
        found = grouper.match(first.signature)
        first.story = found.story_id if found else first.id
        first.similarity = found.similarity if found else None
        grouper.add(first.id, first.story, first.signature)
        stories[first.story].append(first)
    near = [members for members in stories.values() if len(members) > 1]
    return exact, near


def _describe(members: list[Item]) -> list[dict[str, object]]:
    return [
        {
            "id": m.id,
            "title": m.title,
            "source": m.source,
            "url": m.url,
            "words": m.words,
            "similarity": None if m.similarity is None else round(m.similarity, 3),
        }
        for m in members
    ]


def _examples(groups: list[list[Item]], count: int) -> list[list[Item]]:
    """The largest groups first (half), then a seeded random sample of the others."""
    if count <= 0:
        return []
    ordered = sorted(groups, key=lambda g: (-len(g), g[0].id))
    largest = ordered[: (count + 1) // 2]
    rest = ordered[len(largest) :]
    return largest + random.Random(0).sample(rest, min(count - len(largest), len(rest)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders of articles")
    parser.add_argument(
        "--threshold",
        type=float,
        default=dedupe.THRESHOLD,
        help=f"estimated Jaccard to join a story (default {dedupe.THRESHOLD})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document with every group")
    parser.add_argument("--examples", type=int, default=6, help="example groups to print (default 6)")
    parser.add_argument(
        "--max-file-mb",
        type=float,
        default=DEFAULT_MAX_FILE_BYTES / 2**20,
        help="skip files larger than this, decompressed (default %(default).0f)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="processes computing signatures (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if not 0.0 < args.threshold <= 1.0:
        parser.error(f"--threshold must be in (0, 1], got {args.threshold}")

    started = time.perf_counter()
    skips: list[Skip] = []
    items = read_and_sign(args.paths, int(args.max_file_mb * 2**20), args.jobs, skips)
    signed_at = time.perf_counter()
    exact, near = group(items, args.threshold)
    done = time.perf_counter()

    short = sum(1 for item in items if item.words < dedupe.MIN_WORDS)
    sizes = Counter(len(g) for g in near)
    summary = {
        "articles": len(items),
        "skipped": len(skips),
        "exact_duplicate_groups": len(exact),
        "exact_extra_copies": sum(len(g) - 1 for g in exact),
        "near_duplicate_groups": len(near),
        "articles_in_near_duplicate_groups": sum(len(g) for g in near),
        "group_sizes": dict(sorted(sizes.items())),
        "short_texts_not_grouped": short,
        "threshold": args.threshold,
        "seconds": {
            "read_and_sign": round(signed_at - started, 1),
            "group": round(done - signed_at, 1),
            "total": round(done - started, 1),
        },
    }
    if args.json:
        summary["skips"] = [{"path": s.path, "reason": s.reason} for s in skips]
        summary["exact_duplicates"] = [_describe(g) for g in exact]
        summary["near_duplicates"] = [_describe(g) for g in near]
        json.dump(summary, sys.stdout, indent=1, ensure_ascii=False)
        print()
        return 0

    print(f"articles read             {len(items):,}  ({len(skips):,} files or records skipped)")
    for skip in skips[:10]:
        print(f"  skipped {skip.path}: {skip.reason}")
    if len(skips) > 10:
        print(f"  … and {len(skips) - 10:,} more (--json lists them all)")
    print(f"exact duplicate texts     {len(exact):,} groups, {summary['exact_extra_copies']:,} extra copies")
    print(
        f"near-duplicate stories    {len(near):,} groups holding {summary['articles_in_near_duplicate_groups']:,} "
        f"articles (estimated Jaccard >= {args.threshold})"
    )
    print("  group sizes             " + (", ".join(f"{k}: {v:,}" for k, v in sorted(sizes.items())) or "none"))
    print(f"short texts               {short:,} under {dedupe.MIN_WORDS} words (never grouped by MinHash)")
    seconds = summary["seconds"]
    print(
        f"seconds                   {seconds['total']} (read + sign {seconds['read_and_sign']}, "
        f"group {seconds['group']}; {args.jobs} jobs)"
    )
    for title, groups in (("exact duplicates", exact), ("near-duplicate stories", near)):
        shown = _examples(groups, args.examples if title.startswith("near") else min(args.examples, 3))
        if shown:
            print(f"\nexamples of {title}:")
        for members in shown:
            print(f"  group of {len(members)}:")
            for m in members:
                score = "" if m.similarity is None else f" ~{m.similarity:.2f}"
                print(f"    - [{m.source or '?'}] {m.title}{score}\n      {m.url or m.id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
