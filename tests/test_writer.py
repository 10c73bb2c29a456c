"""The build writer's bookkeeping, fast: the hash-based FakeEncoder stands in for the model, everything else
(SQLite, FAISS, BM25 postings, generations) is real. What the model's vectors are worth is tested end to
end in test_build.py and test_maintenance.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from index import layout, merging, vectors
from index import writer as writer_module
from index.build import writing
from index.chunking import ChunkingParams
from index.errors import EncoderMismatchError, IndexMissingError, NewsdeskError
from index.maintenance import compact
from index.model import Article, Skip
from index.readers.records import article_from_record
from index.report import BuildReport, report_lines
from index.snapshot import Snapshot
from index.store import Store, StoredArticle
from tests.fake_encoder import FakeEncoder

TRAM = {
    "title": "Harbor council approves tram line",
    "url": "https://harbor.example/tram",
    "text": "The council voted 7-2 to build a 12-kilometre tram line to the port.\n\nWork starts in spring.",
    "date": "2026-01-05",
    "source": "Harbor Times",
}
HEAT = {
    "title": "Heatwave strains the grid",
    "url": "https://valley.example/heat",
    "text": "Grid operators asked residents to save power as temperatures reached 41 degrees.",
    "date": "2025-07-14",
    "source": "Valley Courier",
}


class CountingEncoder(FakeEncoder):
    """The fake encoder, remembering every text it was asked to embed."""

    def __init__(self, dimension: int = 64, max_tokens: int = 256) -> None:
        super().__init__(dimension, max_tokens)
        self.seen: list[str] = []

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        self.seen.extend(texts)
        return super().encode(texts, batch_size, progress)


def articles(*records: dict, origin: str = "test.jsonl") -> list[Article | Skip]:
    return [article_from_record(record, f"{origin}:{n}") for n, record in enumerate(records, start=1)]


def add(index_dir: Path, encoder: FakeEncoder, *records: dict, fresh: bool = False) -> BuildReport:
    with writing(index_dir, encoder, fresh=fresh) as writer:
        writer.add(articles(*records))
    return writer.report


def lookup(index_dir: Path, url: str) -> StoredArticle | None:
    """The live generation's article at `url`, read through the store as a searcher would."""
    _, generation = layout.open_generation(index_dir)
    with closing(Store(generation.sqlite, readonly=True)) as store:
        article_id = store.resolve_id(url)
        return store.article(article_id) if article_id else None


def generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in (index_dir / "generations").iterdir())


def live_vectors(index_dir: Path) -> int:
    """Live vectors of the live generation, as a searcher counts them."""
    snapshot = Snapshot.open(index_dir)
    try:
        return snapshot.vectors.ntotal
    finally:
        snapshot.close()


@pytest.fixture
def fake() -> CountingEncoder:
    return CountingEncoder()


def test_new_articles_are_added_embedded_once_and_published(tmp_path, fake):
    report = add(tmp_path, fake, TRAM, HEAT)
    assert (report.added, report.articles, report.generation) == (2, 2, 1)
    assert report.embedded == report.passages == len(fake.seen) >= 2
    manifest = layout.read_manifest(tmp_path)
    assert manifest["encoder"]["name"] == "fake-hash-encoder" and manifest["counts"]["passages"] == report.passages
    assert manifest["last_build"]["added"] == 2
    assert live_vectors(tmp_path) == report.passages


def test_unchanged_articles_cost_nothing_and_publish_nothing(tmp_path, fake):
    add(tmp_path, fake, TRAM, HEAT)
    fake.seen.clear()
    again = add(tmp_path, fake, TRAM, HEAT)
    assert (again.unchanged, again.added, again.embedded, fake.seen) == (2, 0, 0, [])
    assert again.generation == 1 and generations(tmp_path) == ["1"]  # nothing new: no generation written
    assert again.articles == 2


def test_a_changed_article_is_updated_and_only_its_new_text_embedded(tmp_path, fake):
    add(tmp_path, fake, TRAM, HEAT)
    before = lookup(tmp_path, TRAM["url"])
    fake.seen.clear()
    corrected = dict(TRAM, text=TRAM["text"] + "\n\nCorrection: the vote was 8-1.")
    report = add(tmp_path, fake, corrected, HEAT)
    assert (report.updated, report.unchanged, report.generation) == (1, 1, 2)
    assert fake.seen and all("8-1" in text for text in fake.seen)  # the unchanged paragraphs kept their vectors
    assert report.embedded == len(fake.seen)
    after = lookup(tmp_path, TRAM["url"])
    assert "Correction" in after.text and after.updated is not None
    assert after.id == before.id and after.first_seen == before.first_seen


def test_the_same_text_twice_is_one_article_embedded_once(tmp_path, fake):
    mirror = dict(TRAM, url="https://mirror.example/tram")
    report = add(tmp_path, fake, TRAM, mirror, TRAM)
    assert (report.added, report.duplicates, report.articles) == (1, 2, 1)
    assert len(fake.seen) == len(set(fake.seen)) == report.passages
    assert lookup(tmp_path, mirror["url"]).urls == [TRAM["url"], mirror["url"]]


def test_one_encoder_input_in_two_articles_is_embedded_once(tmp_path, fake):
    shared = "Officials from the council and the port will give more details at a press conference on Monday morning."
    one = dict(TRAM, text=TRAM["text"] + "\n\n" + shared)
    two = dict(one, url="https://harbor.example/tram-2", text="The line will have nine stops.\n\n" + shared)
    with writing(tmp_path, fake, ChunkingParams(max_tokens=20)) as writer:  # `shared` a passage of its own
        writer.add(articles(one, two))
    report = writer.report
    assert report.added == 2 and report.passages > report.embedded == len(fake.seen) == len(set(fake.seen))


def test_removed_articles_leave_the_next_generation(tmp_path, fake):
    add(tmp_path, fake, TRAM, HEAT)
    with writing(tmp_path) as writer:  # no encoder: removals only
        writer.remove([lookup(tmp_path, HEAT["url"]).id])
    assert (writer.report.removed, writer.report.articles, writer.report.generation) == (1, 1, 2)
    assert lookup(tmp_path, HEAT["url"]) is None
    assert live_vectors(tmp_path) == writer.report.passages


def test_remove_unseen_prunes_only_what_this_build_did_not_meet(tmp_path, fake):
    add(tmp_path, fake, TRAM, HEAT)
    asked: list[str | None] = []

    def gone(origin: str | None) -> bool:
        asked.append(origin)
        return True

    with writing(tmp_path, fake) as writer:
        writer.add(articles(TRAM))
        writer.remove_unseen(gone)
    assert asked == ["test.jsonl:2"]  # the heatwave article's origin; the tram article was met
    assert (writer.report.unchanged, writer.report.removed, writer.report.articles) == (1, 1, 1)


def test_a_fresh_build_counts_what_it_no_longer_holds_and_reuses_vectors(tmp_path, fake):
    add(tmp_path, fake, TRAM, HEAT)
    fake.seen.clear()
    report = add(tmp_path, fake, TRAM, fresh=True)
    assert (report.unchanged, report.removed, report.articles, report.embedded) == (1, 1, 1, 0)
    assert fake.seen == []


def test_a_fresh_build_that_meets_nothing_does_not_replace_the_index(tmp_path, fake):
    add(tmp_path, fake, TRAM, HEAT)
    with pytest.raises(NewsdeskError, match="refusing to replace"):
        add(tmp_path, fake, fresh=True)
    assert layout.live_generation(tmp_path).number == 1 and generations(tmp_path) == ["1"]


def test_forcing_the_vector_index_type_publishes_without_other_changes(tmp_path, fake):
    add(tmp_path, fake, TRAM, HEAT)
    with writing(tmp_path) as writer:
        assert writer.force_vector_index(vectors.HNSW) == vectors.HNSW
    assert writer.report.generation == 2 and writer.previous["vector_index"] == vectors.FLAT
    assert layout.read_manifest(tmp_path)["vector_index"] == vectors.HNSW


def test_an_error_inside_the_block_leaves_the_live_generation_alone(tmp_path, fake):
    add(tmp_path, fake, TRAM)
    with pytest.raises(RuntimeError), writing(tmp_path, fake) as writer:
        writer.add(articles(HEAT))
        raise RuntimeError("the caller failed half way")
    assert layout.live_generation(tmp_path).number == 1 and generations(tmp_path) == ["1"]
    assert lookup(tmp_path, HEAT["url"]) is None


def test_refusals_another_encoder_a_missing_index_no_encoder_to_add_with(tmp_path, fake):
    add(tmp_path, fake, TRAM)
    with (
        pytest.raises(EncoderMismatchError, match="built with encoder fake-hash-encoder"),
        writing(tmp_path, FakeEncoder(dimension=32)),
    ):
        pass
    with pytest.raises(IndexMissingError), writing(tmp_path / "none"):
        pass
    with pytest.raises(NewsdeskError, match="needs an encoder"), writing(tmp_path) as writer:
        writer.add(articles(HEAT))
    assert generations(tmp_path) == ["1"]


def test_skips_and_warnings_are_reported_and_printed(tmp_path, fake):
    undated = dict(HEAT, date="the day before yesterday")
    with writing(tmp_path, fake) as writer:
        writer.add([Skip("bad.jsonl:3", "malformed JSON"), *articles(TRAM, undated)])
    report: BuildReport = writer.report
    assert report.skipped == [{"path": "bad.jsonl:3", "reason": "malformed JSON"}]
    assert [w["path"] for w in report.warnings] == ["test.jsonl:2"]
    lines = report_lines(report, tmp_path)
    assert lines[0] == "added 2, updated 0, unchanged 0, duplicates merged 0, removed 0, skipped 1"
    assert "  skipped bad.jsonl:3: malformed JSON" in lines
    assert any(line.startswith("  warning test.jsonl:2: ") for line in lines)


def stops(count: int) -> list[dict]:
    """Articles of one passage each, all different."""
    return [
        dict(TRAM, url=f"https://harbor.example/tram{n}", text=f"The tram line gets stop number {n}.")
        for n in range(count)
    ]


def test_an_interrupted_build_resumes_without_embedding_again(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(writer_module, "BATCH_ARTICLES", 2)  # batches of two: each committed to the cache
    records = stops(7)
    with pytest.raises(RuntimeError), writing(tmp_path, fake) as writer:
        writer.add(articles(*records[:5]))
        raise RuntimeError("killed after three batches")
    assert len(fake.seen) == 5 and layout.live_generation(tmp_path) is None  # embedded, nothing published
    fake.seen.clear()
    report = add(tmp_path, fake, *records)
    assert (report.added, report.generation, report.embedded) == (7, 1, 2)
    assert all("number 5" in text or "number 6" in text for text in fake.seen)
    assert live_vectors(tmp_path) == 7


def test_a_build_past_the_segment_size_writes_several_segments_searched_as_one(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(writer_module, "BATCH_ARTICLES", 2)
    monkeypatch.setattr(writer_module, "MAX_SEGMENT_PASSAGES", 3)
    monkeypatch.setattr(merging, "MAX_SEGMENT_PASSAGES", 3)
    report = add(tmp_path, fake, *stops(9))
    snapshot = Snapshot.open(tmp_path)
    try:
        sizes = [len(ids) for ids in snapshot.parts.ids]
        assert len(sizes) == 3 and sum(sizes) == report.passages == 9
        assert snapshot.passage_ids.tolist() == sorted(set(snapshot.passage_ids.tolist()))
        query = FakeEncoder().encode(["The tram line gets stop number 7."])[0]
        best = snapshot.vectors.search(query, 1).ids[0]
        assert snapshot.store.passages_by_id([int(best)])[int(best)].text.endswith("number 7.")
    finally:
        snapshot.close()


def test_a_reader_keeps_seeing_its_generation_while_a_correction_is_written_in_place(tmp_path, fake):
    add(tmp_path, fake, TRAM, HEAT)
    old = Snapshot.open(tmp_path)
    tram_id = old.store.resolve_id(TRAM["url"])
    old_ids = old.live_passage_ids().tolist()
    corrected = dict(TRAM, text="The council reversed its vote: no tram line will be built to the port.")
    add(tmp_path, fake, corrected, HEAT)  # the store's rows are replaced in place, in one commit
    new = Snapshot.open(tmp_path)
    try:
        assert (old.generation.number, new.generation.number) == (1, 2)
        # The old reader: old rows, old passages, and every passage its indexes can return still readable.
        assert old.store.article(tram_id).text == TRAM["text"]
        assert old.store.passages_by_id(old_ids).keys() == set(old_ids)
        assert all("reversed" not in p.text for p in old.store.passages_of(tram_id))
        # The new one: only the new text, the old passages dead in its indexes.
        assert new.store.article(tram_id).text == corrected["text"]
        assert [p.text for p in new.store.passages_of(tram_id)] == [corrected["text"]]
        assert set(new.live_passage_ids().tolist()).isdisjoint(
            {pid for pid, p in old.store.passages_by_id(old_ids).items() if p.article_id == tram_id}
        )
        assert new.store.passages_by_id(new.live_passage_ids().tolist()).keys() == set(new.live_passage_ids().tolist())
    finally:
        old.close()
        new.close()


WIRE = (
    "The harbour authority said on Monday that the new container terminal will open in March after two years "
    "of building work, doubling the port's capacity and creating about four hundred jobs in the district. "
    "Ships of up to four hundred metres will be able to berth at the quay, and the rail link to the inland "
    "depot is due to be finished in the same month, the authority said in a statement."
)


def wire_copy(outlet: str, url: str, changed: str = "") -> dict:
    """The same agency story as an outlet prints it: a near-copy (a word or two changed), not a duplicate."""
    return {"title": "Container terminal to open in March", "url": url, "text": WIRE + changed, "source": outlet}


def band_rows(index_dir: Path, article_id: str) -> int:
    with closing(sqlite3.connect(index_dir / "news.sqlite")) as db:
        return db.execute("SELECT count(*) FROM story_bands WHERE article_id=?", (article_id,)).fetchone()[0]


def test_a_removed_article_groups_no_later_copy_and_compaction_drops_its_band_keys(tmp_path, fake):
    add(tmp_path, fake, wire_copy("Harbor Times", "https://harbor.example/terminal"))
    gone = lookup(tmp_path, "https://harbor.example/terminal")
    with writing(tmp_path) as writer:
        writer.remove([gone.id])
    assert band_rows(tmp_path, gone.id) > 0, "a removal leaves the band keys (pages of a big table) in place"
    add(tmp_path, fake, wire_copy("Valley Courier", "https://valley.example/terminal", " Officials agreed."))
    first = lookup(tmp_path, "https://valley.example/terminal")
    assert first.story_id in (None, first.id), "the removed article is no candidate: the copy starts its own story"
    add(tmp_path, fake, wire_copy("Coast Post", "https://coast.example/terminal", " Critics disagreed."))
    second = lookup(tmp_path, "https://coast.example/terminal")
    assert second.story_id == lookup(tmp_path, "https://valley.example/terminal").story_id not in (None, "")
    compact(tmp_path)
    assert band_rows(tmp_path, gone.id) == 0
    assert band_rows(tmp_path, first.id) > 0 and band_rows(tmp_path, second.id) > 0
