"""Changing a built index: remove, rebuild and update from sources.toml, the lock, the commands' exit codes."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from index import layout
from index.build import build, writing
from index.errors import IndexBusyError
from index.maintenance import origin_file, rebuild, remove, update
from index.sources import RaySettings, SourcesError, load_sources
from search.cli import main
from search.searcher import Searcher
from tests.conftest import REPO, write_jsonl
from tests.test_writer import articles
from tests.tiny_index import article, build_tiny_index, fake_encoder, open_tiny

ARTICLES = [
    {
        "title": "Harbor council approves tram line",
        "url": "https://harbor.example/tram",
        "text": "The council voted 7-2 to build a 12-kilometre tram line to the port.\n\nWork starts in spring.",
        "date": "2026-01-05",
        "source": "Harbor Times",
    },
    {
        "title": "Heatwave strains the grid",
        "url": "https://valley.example/heat",
        "text": "Grid operators asked residents to save power as temperatures reached 41 degrees.",
        "date": "2025-07-14",
        "source": "Valley Courier",
    },
    {
        "title": "Library opens a seed bank",
        "url": "https://valley.example/seeds",
        "text": "Gardeners can now borrow tomato and bean seeds from the central library and return seeds at harvest.",
        "date": "2025-04-02",
        "source": "Valley Courier",
    },
]
EXTRA = {
    "title": "Ferry fares frozen for a year",
    "url": "https://harbor.example/ferry",
    "text": "The island ferry operator froze fares until next spring after complaints from commuters.",
    "date": "2026-02-11",
    "source": "Harbor Times",
}


def newsdesk(*args: str) -> Result:
    """The `newsdesk` command run in this process (it loads its own encoder, from the model cache)."""
    return CliRunner().invoke(main, list(args))


def write_sources(folder: Path, body: str) -> Path:
    path = folder / "sources.toml"
    path.write_text(body, encoding="utf-8")
    return path


def ids_in(index_dir: Path) -> set[str]:
    _, generation = layout.open_generation(index_dir)
    with sqlite3.connect(generation.sqlite) as db:
        return {row[0] for row in db.execute("SELECT id FROM articles")}


# --- remove ---------------------------------------------------------------------------------------


def test_remove_deletes_the_article_rows_vectors_and_postings(tmp_path, encoder):
    corpus = write_jsonl(tmp_path / "in" / "a.jsonl", ARTICLES)
    index_dir = tmp_path / "idx"
    build([corpus], index_dir, encoder)
    before = Searcher.open(index_dir, encoder=encoder)
    tram = before.article("https://harbor.example/tram")
    passages_before = before.store.counts()["passages"]

    report = remove(index_dir, ["https://harbor.example/tram?utm_source=x", "https://nowhere.example/x"])
    assert report.removed == [tram.id] and report.not_found == ["https://nowhere.example/x"]
    assert report.generation == 2 and report.articles == 2

    after = Searcher.open(index_dir, encoder=encoder)
    assert after.vector_index.ntotal == report.passages == passages_before - len(tram.passages)
    # What /api/stats and /api/health say (the generation's own counts) is what the store holds.
    assert after.counts() == after.store.counts() == {"articles": 2, "passages": report.passages, "stories": 0}
    assert before.counts()["passages"] == passages_before
    for mode in ("dense", "lexical", "hybrid"):
        assert tram.id not in {r.id for r in after.search("tram line to the port", k=10, mode=mode).results}
    with sqlite3.connect(after.generation.sqlite) as db:
        assert db.execute("SELECT count(*) FROM article_urls WHERE article_id=?", (tram.id,)).fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM passages WHERE article_id=?", (tram.id,)).fetchone()[0] == 0
    # Its vectors and postings are dead in the new generation: no retriever can return them.
    owners = dict(zip(after.snapshot.passage_ids.tolist(), after.snapshot.passage_articles.tolist(), strict=True))
    assert {p for p, owner in owners.items() if owner.decode() == tram.id} <= set(after.snapshot.parts.dead.tolist())
    # The searcher opened before the removal still answers from its own generation.
    assert before.search("tram line", k=1).results[0].id == tram.id


def test_remove_of_unknown_ids_writes_no_generation(tmp_path, encoder):
    index_dir = tmp_path / "idx"
    build([write_jsonl(tmp_path / "a.jsonl", ARTICLES)], index_dir, encoder)
    report = remove(index_dir, ["nope"])
    assert report.removed == [] and report.not_found == ["nope"] and report.generation == 1
    assert layout.live_generation(index_dir).number == 1


def test_cli_remove_prints_json_and_exits_1_for_a_missing_id(tmp_path, encoder):
    index_dir = tmp_path / "idx"
    build([write_jsonl(tmp_path / "a.jsonl", ARTICLES)], index_dir, encoder)
    options = ("--index", str(index_dir), "--json")
    run = subprocess.run(
        [sys.executable, "-m", "search.cli", "remove", "https://valley.example/heat", "missing-id", *options],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert run.returncode == 1
    payload = json.loads(run.stdout)
    assert len(payload["removed"]) == 1 and payload["not_found"] == ["missing-id"] and payload["articles"] == 2
    assert "missing-id" in run.stderr


# --- the lock ------------------------------------------------------------------------------------


@contextmanager
def lock_held_by_another_process(index_dir: Path) -> Iterator[subprocess.Popen]:
    """Another process holding the index's build lock; killed (not released) when the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from pathlib import Path; from index.locking import build_lock\n"
            f"with build_lock(Path({str(index_dir)!r})):\n    print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_a_second_writer_fails_at_once_and_a_dead_writers_lock_does_not_block(tmp_path, encoder):
    index_dir = tmp_path / "idx"
    build([write_jsonl(tmp_path / "a.jsonl", ARTICLES)], index_dir, encoder)
    # Another process holds the lock, then dies without releasing it: the kernel drops the flock.
    with lock_held_by_another_process(index_dir) as holder:
        started = time.perf_counter()
        with pytest.raises(IndexBusyError, match=f"pid {holder.pid}"):
            remove(index_dir, ["https://valley.example/heat"])
        assert time.perf_counter() - started < 1
    assert (index_dir / ".lock").exists()
    assert remove(index_dir, ["https://valley.example/heat"]).removed


# --- sources.toml, rebuild and update ---------------------------------------------------------------


def test_sources_file_paths_globs_outlets_and_errors(tmp_path):
    write_jsonl(tmp_path / "news" / "a.jsonl", ARTICLES[:1])
    write_jsonl(tmp_path / "news" / "deep" / "b.jsonl", ARTICLES[1:])
    config = load_sources(
        write_sources(
            tmp_path,
            'index = "idx"\n[[source]]\npaths = ["news/**/*.jsonl"]\n[[source]]\npath = "news/deep"\noutlet = "Wire"\n',
        )
    )
    assert config.index == tmp_path / "idx"
    assert [p.name for p in config.sources[0].paths] == ["a.jsonl", "b.jsonl"]
    assert config.sources[0].outlet is None and config.sources[1].outlet == "Wire"
    assert all(p.is_absolute() for s in config.sources for p in s.paths)

    for body, fragment in [
        ('[[source]]\npaths = ["news/*.csv"]\n', "matches no file"),
        ('[[source]]\npaths = ["gone"]\n', "does not exist"),
        ('[[source]]\npaths = ["news"]\nsite = "x"\n', "unknown key(s) site; choose from paths, path, feeds"),
        ("index = 'x'\n", "lists no sources"),
        ("[[source]\n", "cannot read"),
    ]:
        with pytest.raises(SourcesError, match=re.escape(fragment)):
            load_sources(write_sources(tmp_path, body))
    with pytest.raises(SourcesError, match=re.escape("copy sources.example.toml")):
        load_sources(tmp_path / "missing.toml")


def test_sources_file_ray_table(tmp_path):
    (tmp_path / "news").mkdir()
    source = '[[source]]\npaths = ["news"]\n'
    assert load_sources(write_sources(tmp_path, source)).ray is None
    assert load_sources(write_sources(tmp_path, "[ray]\n" + source)).ray == RaySettings()
    configured = load_sources(write_sources(tmp_path, '[ray]\naddress = " head.example:6379 "\nworkers = 4\n' + source))
    assert configured.ray == RaySettings(address="head.example:6379", workers=4)
    for table, fragment in [
        ('address = "head.example"', "'head.example' is not a Ray address; give HOST:PORT"),
        ('address = "news/"', "is not a Ray address"),
        ("address = 6379", "address must be a string"),
        ("workers = 0", "workers must be a whole number ≥ 1"),
        ("nodes = 2", "unknown key(s) nodes; choose from address, workers"),
    ]:
        with pytest.raises(SourcesError, match=re.escape(fragment)):
            load_sources(write_sources(tmp_path, f"[ray]\n{table}\n" + source))


def test_the_example_sources_file_points_at_the_sample_corpus():
    config = load_sources(REPO / "sources.example.toml")
    assert all(path.exists() and REPO / "data" / "sample" in path.parents for s in config.sources for path in s.paths)


def test_rebuild_is_a_fresh_store_that_reuses_vectors_and_keeps_first_seen(tmp_path, encoder):
    news = tmp_path / "news"
    write_jsonl(news / "a.jsonl", ARTICLES[:2])
    write_jsonl(news / "b.jsonl", ARTICLES[2:])
    sources = load_sources(write_sources(tmp_path, '[[source]]\npaths = ["news"]\noutlet = "Town Crier"\n')).sources
    index_dir = tmp_path / "idx"
    first = rebuild(sources, index_dir, encoder)
    assert (first.added, first.embedded, first.articles) == (3, first.passages, 3)
    searcher = Searcher.open(index_dir, encoder=encoder)
    seeds = searcher.article("https://valley.example/seeds")
    assert seeds.source == "Town Crier"  # the outlet overrides the records' own source

    (news / "b.jsonl").unlink()
    write_jsonl(news / "c.jsonl", [EXTRA])
    second = rebuild(sources, index_dir, encoder)
    assert (second.added, second.unchanged, second.removed, second.articles) == (1, 2, 1, 3)
    assert second.embedded == len(Searcher.open(index_dir, encoder=encoder).article(EXTRA["url"]).passages)
    again = Searcher.open(index_dir, encoder=encoder)
    heat_before = searcher.article("https://valley.example/heat")
    heat_after = again.article("https://valley.example/heat")
    assert (heat_after.first_seen, heat_after.updated) == (heat_before.first_seen, heat_before.updated)
    assert seeds.id not in ids_in(index_dir)
    assert again.search("ferry fares", k=1).results[0].url == EXTRA["url"]


def test_rebuild_refuses_to_replace_an_index_with_nothing(tmp_path, encoder):
    news = tmp_path / "news"
    write_jsonl(news / "a.jsonl", ARTICLES)
    sources = load_sources(write_sources(tmp_path, '[[source]]\npaths = ["news"]\n')).sources
    index_dir = tmp_path / "idx"
    rebuild(sources, index_dir, encoder)
    (news / "a.jsonl").write_text("not json\n", encoding="utf-8")  # the files are there but unreadable
    with pytest.raises(Exception, match="refusing to replace"):
        rebuild(sources, index_dir, encoder)
    assert len(ids_in(index_dir)) == 3
    assert sorted(p.name for p in (index_dir / "generations").iterdir()) == ["1"]


def test_update_adds_changes_and_with_prune_removes_articles_whose_file_is_gone(tmp_path, encoder):
    news = tmp_path / "news"
    write_jsonl(news / "a.jsonl", ARTICLES[:2])
    write_jsonl(news / "b.jsonl", ARTICLES[2:])
    sources = load_sources(write_sources(tmp_path, '[[source]]\npaths = ["news"]\n')).sources
    index_dir = tmp_path / "idx"
    update(sources, index_dir, encoder)
    assert origin_file(Searcher.open(index_dir, encoder=encoder).store.origins()[0][1]).parent == news

    nothing = update(sources, index_dir, encoder)
    assert (nothing.unchanged, nothing.embedded, nothing.generation) == (3, 0, 1)  # no new generation

    (news / "b.jsonl").unlink()
    changed = dict(ARTICLES[0], text=ARTICLES[0]["text"] + "\n\nCorrection: the vote was 8-1.")
    write_jsonl(news / "a.jsonl", [changed, ARTICLES[1], EXTRA])
    kept = update(sources, index_dir, encoder)
    assert (kept.added, kept.updated, kept.unchanged, kept.removed, kept.articles) == (1, 1, 1, 0, 4)
    pruned = update(sources, index_dir, encoder, prune=True)
    assert (pruned.removed, pruned.articles) == (1, 3)
    assert "https://valley.example/seeds" not in {
        r.url for r in Searcher.open(index_dir, encoder=encoder).search("seed bank library", k=10).results
    }


def test_articles_not_read_from_an_absolute_path_are_never_pruned(tmp_path):
    assert origin_file("request[3]") is None and origin_file("news/a.jsonl:2") is None
    assert origin_file(str(tmp_path / "a.jsonl") + ":12") == tmp_path / "a.jsonl"
    assert origin_file(str(tmp_path / "feed.rss") + "[0]") == tmp_path / "feed.rss"


def test_update_and_rebuild_print_the_report_and_use_exit_codes(tmp_path):
    write_jsonl(tmp_path / "news" / "a.jsonl", ARTICLES)
    (tmp_path / "news" / "b.jsonl").write_text("not json\n", encoding="utf-8")
    sources = write_sources(tmp_path, 'index = "idx"\n[[source]]\npaths = ["news"]\n')

    rebuilt = newsdesk("rebuild", "--sources", str(sources))
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert rebuilt.stdout.startswith("added 3, updated 0, unchanged 0, duplicates merged 0, removed 0, skipped 1\n")
    assert f"→ {tmp_path / 'idx'} (generation 1)" in rebuilt.stdout  # the index the sources file names
    assert f"  skipped {tmp_path / 'news' / 'b.jsonl'}:1: " in rebuilt.stdout

    (tmp_path / "news" / "b.jsonl").unlink()
    write_jsonl(tmp_path / "news" / "c.jsonl", [EXTRA])
    updated = newsdesk("update", "--sources", str(sources), "--json", "--prune")
    assert updated.exit_code == 0, updated.stderr
    report = json.loads(updated.stdout)
    assert (report["added"], report["unchanged"], report["articles"], report["generation"]) == (1, 3, 4, 2)

    missing = newsdesk("update", "--sources", str(tmp_path / "nope.toml"))
    assert missing.exit_code == 1 and missing.stdout == ""
    assert missing.stderr.startswith("error: no sources file at") and "copy sources.example.toml" in missing.stderr
    assert newsdesk("rebuild", "--sources", str(sources), "--prune").exit_code == 2  # update's option only


def test_a_second_update_fails_fast_with_exit_75(tmp_path, encoder):
    write_jsonl(tmp_path / "news" / "a.jsonl", ARTICLES)
    sources = write_sources(tmp_path, 'index = "idx"\n[[source]]\npaths = ["news"]\n')
    build([tmp_path / "news"], tmp_path / "idx", encoder)
    with lock_held_by_another_process(tmp_path / "idx"):
        run = subprocess.run(
            # -X importtime lists every module the run imported: the proof it never loaded a model.
            [sys.executable, "-X", "importtime", "-m", "search.cli", "update", "--sources", str(sources)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
    assert run.returncode == 75, run.stderr
    assert "another build" in run.stderr and run.stdout == ""
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "json" in imported, "importtime output expected"
    assert not imported & {"torch", "onnxruntime", "sentence_transformers"}  # the lock came before the model


def test_compact_merges_segments_drops_deleted_passages_and_keeps_the_answers(tmp_path):
    records = [article(n, ("tram", "bridge", "ferry")[n % 3], "Harbor Times", "2026-01-05") for n in range(14)]
    index_dir = build_tiny_index(tmp_path, records[:12])
    with writing(index_dir, fake_encoder()) as writer:  # a small second segment beside the first
        writer.add(articles(*records[12:]))
    remove(index_dir, [records[0]["url"], records[13]["url"]])
    before = layout.read_manifest(index_dir)
    assert (before["segments"], before["deleted"]) == (2, 8)

    def dense_answers() -> list[list[tuple[str, float]]]:
        searcher = open_tiny(index_dir)
        try:
            return [
                [(r.id, r.score) for r in searcher.search(q, k=5, mode="dense").results]
                for q in ("tram", "ferry item4x2")
            ]
        finally:
            searcher.close()

    expected = dense_answers()
    run = newsdesk("compact", "--index", str(index_dir), "--json")
    assert run.exit_code == 0, run.stderr
    report = json.loads(run.stdout)
    assert (report["segments_before"], report["segments"], report["deleted_before"], report["deleted"]) == (2, 1, 8, 0)
    assert report["passages"] == 12 * 4 and report["generation"] == before["generation"] + 1
    assert dense_answers() == expected
    text = newsdesk("compact", "--index", str(index_dir))
    assert text.exit_code == 0 and text.stdout.startswith("segments 1 → 1, deleted passages 0 → 0; 48 passages")
