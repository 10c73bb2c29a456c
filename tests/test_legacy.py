"""Format-1 indexes (tests/fixtures/format1, written by newsdesk before issue 15): searched as they are, and
migrated by the first write without re-embedding or changing a single answer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index import layout
from index.build import writing
from index.maintenance import remove
from search.searcher import Filters, Searcher
from tests.conftest import REPO, read_jsonl
from tests.test_writer import CountingEncoder, articles
from tests.tiny_index import MAX_TOKENS

FIXTURE = REPO / "tests" / "fixtures" / "format1"
RECORDS = read_jsonl(FIXTURE / "articles.jsonl")
QUERIES = ["tram report", "bridge committee budget", "ferry item5x2 online"]


@pytest.fixture
def old_index(tmp_path: Path) -> Path:
    index_dir = tmp_path / "index"
    shutil.copytree(FIXTURE / "index", index_dir)
    assert layout.read_manifest(index_dir)["format_version"] == 1
    return index_dir


@pytest.fixture
def encoder() -> CountingEncoder:
    return CountingEncoder(max_tokens=MAX_TOKENS)


def answers(index_dir: Path, encoder: CountingEncoder) -> list:
    searcher = Searcher.open(index_dir, encoder=encoder)
    try:
        found = [
            [
                (r.id, r.score, r.story_id, [a.id for a in r.also])
                for r in searcher.search(q, k=4, mode=mode, filters=f).results
            ]
            for q in QUERIES
            for mode in ("dense", "lexical", "hybrid")
            for f in (Filters(), Filters(sources=("Harbor Times",)))
        ]
        tram = searcher.article(RECORDS[0]["url"])
        found.append([(r.id, r.score) for r in searcher.related(tram.id, k=3).results])
        found.append([tram.story_id, [p.text for p in tram.passages], searcher.stats().stories])
        return found
    finally:
        searcher.close()


def test_a_format1_index_is_searched_as_it_was(old_index, encoder):
    found = answers(old_index, encoder)
    assert all(found[:-2]) and found[-2], "every query finds something"
    assert found[-1][2] == 1  # the fixture's one story: article 1 and its wire copy
    assert Searcher.open(old_index, encoder=encoder).generation.number == 1


def test_the_first_write_migrates_without_embedding_and_changes_no_answer(old_index, encoder):
    before = answers(old_index, encoder)
    encoder.seen.clear()  # the queries
    with writing(old_index, encoder) as writer:
        writer.add(articles(*RECORDS))
    report = writer.report
    assert (report.unchanged, report.embedded, encoder.seen) == (len(RECORDS), 0, [])
    manifest = layout.read_manifest(old_index)
    # Generation 2 is the migration; 3 records where the articles were read from now (their origin).
    assert (manifest["format_version"], manifest["generation"], report.generation) == (2, 3, 3)
    assert answers(old_index, encoder) == before
    assert sorted(p.name for p in (old_index / "generations").iterdir()) == ["2", "3"]

    # The story keys came along: a third copy of article 1 joins its story.
    third = dict(RECORDS[0], url="https://third.example/tram/1", source="Third")
    third["text"] = third["text"].replace("residents", "people", 1)
    encoder.seen.clear()
    with writing(old_index, encoder) as writer:
        writer.add(articles(third, origin="more.jsonl"))
    searcher = Searcher.open(old_index, encoder=encoder)
    assert searcher.article(third["url"]).story_id == searcher.article(RECORDS[0]["url"]).story_id
    assert encoder.seen and all("people" in text for text in encoder.seen)  # only its changed passage
    searcher.close()
    remove(old_index, [third["url"]])
    assert sorted(p.name for p in (old_index / "generations").iterdir()) == ["4", "5"]


def test_a_format1_generation_without_exported_postings_reads_them_from_fts5(old_index, encoder):
    expected = answers(old_index, encoder)
    (old_index / "generations" / "1" / "lexical.npz").unlink()  # as written before postings were exported
    assert answers(old_index, encoder) == expected


def test_a_migration_killed_half_way_is_finished_by_the_next_write(old_index, encoder):
    before = answers(old_index, encoder)
    # What a kill leaves at different points: a half-copied store, an unnamed segment, an unpublished folder.
    (old_index / "news.sqlite.migrating").write_bytes(b"half a store")
    (old_index / "segments" / "000002-000").mkdir(parents=True)
    (old_index / "generations" / "2").mkdir()
    assert answers(old_index, encoder) == before  # the format-1 index is still the live one
    report = remove(old_index, ["https://nowhere.example/x"])
    assert report.generation == 2 and layout.read_manifest(old_index)["format_version"] == 2
    assert not (old_index / "news.sqlite.migrating").exists()
    assert answers(old_index, encoder) == before
