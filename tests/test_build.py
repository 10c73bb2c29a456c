"""The build: stable ids, nothing embedded twice, corrections, duplicates, refusals and the report."""

from __future__ import annotations

import json

import pytest

from index.build import build
from index.encoders import bundled_model_dir, load_encoder
from index.errors import EncoderMismatchError, IndexMissingError
from index.layout import read_manifest
from search.evaluate import evaluate_questions
from search.searcher import Searcher
from tests.conftest import write_jsonl

ARTICLES = [
    {
        "title": "Harbor council approves tram line",
        "url": "https://harbor.example/tram",
        "text": "The council voted 7-2 to build a 12-kilometre tram line to the port.\n\nWork starts in spring.",
        "date": "2026-01-05",
        "source": "Harbor Times",
        "authors": "Ana Ruiz",
    },
    {
        "title": "Heatwave strains the grid",
        "url": "https://valley.example/heat",
        "text": "Grid operators asked residents to save power as temperatures reached 41 degrees.",
        "date": "2025-07-14",
        "source": "Valley Courier",
        "authors": ["Li Wei"],
    },
]


def test_reindexing_the_same_files_embeds_nothing_and_ids_are_stable(tmp_path, encoder):
    corpus = write_jsonl(tmp_path / "in" / "a.jsonl", ARTICLES)
    first = build([corpus], tmp_path / "idx", encoder)
    assert (first.added, first.updated, first.unchanged, first.embedded) == (2, 0, 0, first.passages)
    ids_before = {r.id for r in Searcher.open(tmp_path / "idx", encoder=encoder).search("tram", k=5).results}

    again = build([corpus], tmp_path / "idx", encoder)
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 2, 0)
    assert again.passages == first.passages
    ids_after = {r.id for r in Searcher.open(tmp_path / "idx", encoder=encoder).search("tram", k=5).results}
    assert ids_before == ids_after


def test_a_changed_article_is_updated_with_new_passages(tmp_path, encoder):
    corpus = write_jsonl(tmp_path / "in" / "a.jsonl", ARTICLES)
    build([corpus], tmp_path / "idx", encoder)
    corrected = [dict(ARTICLES[0], text=ARTICLES[0]["text"] + "\n\nCorrection: the vote was 8-1."), ARTICLES[1]]
    write_jsonl(corpus, corrected)
    report = build([corpus], tmp_path / "idx", encoder)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    assert report.embedded >= 1
    view = Searcher.open(tmp_path / "idx", encoder=encoder).article("https://harbor.example/tram")
    assert "Correction: the vote was 8-1." in view.text
    assert view.updated is not None and view.first_seen
    assert any("8-1" in p.text for p in view.passages)
    assert all(view.text[p.start : p.end] == p.text for p in view.passages)


def test_the_same_text_under_two_urls_is_one_article_with_both_urls(tmp_path, encoder):
    copy = dict(ARTICLES[0], url="https://mirror.example/tram-copy")
    corpus = write_jsonl(tmp_path / "in" / "a.jsonl", [*ARTICLES, copy])
    report = build([corpus], tmp_path / "idx", encoder)
    assert (report.added, report.duplicates, report.articles) == (2, 1, 2)
    view = Searcher.open(tmp_path / "idx", encoder=encoder).article("https://mirror.example/tram-copy")
    assert view.urls == ["https://harbor.example/tram", "https://mirror.example/tram-copy"]
    # A question pointing at the copy's URL is answered by the one article: eval counts it found, once.
    searcher = Searcher.open(tmp_path / "idx", encoder=encoder)
    question = {"question": "Which tram line did the harbor council approve?"}
    for urls in (
        ["https://mirror.example/tram-copy"],
        ["https://harbor.example/tram", "https://mirror.example/tram-copy"],
    ):
        (scores,) = evaluate_questions(searcher, [dict(question, relevant_urls=urls)], ["hybrid"])
        assert (scores.recall_at_1, scores.ndcg_at_10) == (1.0, 1.0)
    for missing in (["https://elsewhere.example/x"], [None, " "]):  # not in the index; null or blank
        (absent,) = evaluate_questions(searcher, [dict(question, relevant_urls=missing)], ["hybrid"])
        assert (absent.recall_at_10, absent.ndcg_at_10) == (0.0, 0.0)


def test_corrected_metadata_is_applied_without_embedding(tmp_path, encoder):
    corpus = write_jsonl(tmp_path / "in" / "a.jsonl", ARTICLES)
    build([corpus], tmp_path / "idx", encoder)
    write_jsonl(corpus, [dict(ARTICLES[0], date="2026-01-06", authors="Ana Ruiz, Tom Becker"), ARTICLES[1]])
    report = build([corpus], tmp_path / "idx", encoder)
    assert (report.unchanged, report.embedded) == (2, 0)
    view = Searcher.open(tmp_path / "idx", encoder=encoder).article("https://harbor.example/tram")
    assert (view.published, view.authors) == ("2026-01-06", ["Ana Ruiz", "Tom Becker"])


def test_an_article_edited_into_a_copy_of_another_keeps_no_stale_text(tmp_path, encoder):
    corpus = write_jsonl(tmp_path / "in" / "a.jsonl", ARTICLES)
    build([corpus], tmp_path / "idx", encoder)
    write_jsonl(corpus, [ARTICLES[0], dict(ARTICLES[0], url=ARTICLES[1]["url"])])
    report = build([corpus], tmp_path / "idx", encoder)
    assert (report.duplicates, report.articles) == (1, 1)
    searcher = Searcher.open(tmp_path / "idx", encoder=encoder)
    assert searcher.resolve(ARTICLES[1]["url"]) == searcher.resolve(ARTICLES[0]["url"])
    assert all("Grid operators" not in r.passage for r in searcher.search("grid operators power", k=5).results)


def test_a_repeated_copy_within_one_build_is_counted_as_a_duplicate(tmp_path, encoder):
    corpus = write_jsonl(tmp_path / "in" / "a.jsonl", [*ARTICLES, ARTICLES[0]])
    report = build([corpus], tmp_path / "idx", encoder)
    assert (report.added, report.duplicates, report.unchanged, report.articles) == (2, 1, 0, 2)


def test_skips_are_reported_with_path_and_reason_and_the_rest_is_indexed(tmp_path, encoder):
    folder = tmp_path / "in"
    write_jsonl(folder / "good.jsonl", ARTICLES)
    (folder / "empty.json").write_bytes(b"")
    (folder / "notes.docx").write_bytes(b"PK\x03\x04")
    report = build([folder], tmp_path / "idx", encoder)
    assert report.added == 2
    reasons = {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in report.skipped}
    assert reasons["empty.json"] == "empty file (0 bytes)"
    assert "unsupported file type" in reasons["notes.docx"]


def test_manifest_records_encoder_chunking_counts_and_generation(tmp_path, encoder):
    build([write_jsonl(tmp_path / "a.jsonl", ARTICLES)], tmp_path / "idx", encoder)
    manifest = read_manifest(tmp_path / "idx")
    assert manifest["encoder"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["encoder"]["fingerprint"] == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    assert manifest["encoder"]["dimension"] == 384
    assert manifest["counts"]["articles"] == 2
    assert manifest["generation"] == 1
    assert json.loads((tmp_path / "idx" / "manifest.json").read_text())["chunking"]["max_tokens"] > 0


def test_an_index_is_never_searched_or_extended_with_another_encoder(tmp_path, encoder):
    build([write_jsonl(tmp_path / "a.jsonl", ARTICLES)], tmp_path / "idx", encoder)
    # A model given as a local folder (`--model PATH`) is another encoder, by name, even with these weights.
    # A link, not a copy: the int8 build cached for these weights serves it, so no model is built here.
    other_dir = tmp_path / "other-model"
    other_dir.symlink_to(bundled_model_dir(), target_is_directory=True)
    other = load_encoder(str(other_dir))
    assert other.name == str(bundled_model_dir().resolve()) and other.fingerprint == encoder.fingerprint
    with pytest.raises(EncoderMismatchError, match="built with encoder sentence-transformers/all-MiniLM-L6-v2"):
        Searcher.open(tmp_path / "idx", encoder=other)
    with pytest.raises(EncoderMismatchError):
        build([tmp_path / "a.jsonl"], tmp_path / "idx", other)


def test_a_missing_index_names_the_command_that_builds_one(tmp_path):
    with pytest.raises(IndexMissingError, match=r"run `newsdesk index PATH\.\.\. --index"):
        Searcher.open(tmp_path / "nothing-here")
