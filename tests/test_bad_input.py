"""Bad input never stops a build and never passes silently: each bad file or record is a named skip,
and everything else in the same build is indexed."""

from __future__ import annotations

import gzip
import json
import re

from index.build import build
from search.searcher import Searcher
from tests.conftest import write_jsonl

GOOD = {
    "title": "Ferry service resumes after storm",
    "url": "https://coast.example/ferry",
    "text": "The island ferry resumed sailings on Sunday after three days of gales.\n\nCrews cleared the slipway.",
    "date": "2026-02-01",
    "source": "Coastal Daily",
}


def test_every_kind_of_bad_input_is_skipped_with_a_reason_and_the_rest_is_indexed(tmp_path, encoder):
    folder = tmp_path / "in"
    write_jsonl(folder / "good.jsonl", [GOOD])
    (folder / "zero.jsonl").write_bytes(b"")
    (folder / "binary.json").write_bytes(bytes(range(256)) * 8)
    (folder / "latin1.csv").write_bytes("title,text\nCaf\xe9,Le caf\xe9 est ouvert.\n".encode("latin-1"))
    cut = [dict(GOOD, url=f"https://coast.example/pier/{n}", title=f"Pier notice {n}") for n in range(50)]
    payload = gzip.compress("".join(json.dumps(record) + "\n" for record in cut).encode())
    (folder / "truncated.jsonl.gz").write_bytes(payload[: len(payload) // 2])
    (folder / "mixed.jsonl").write_text(
        json.dumps(dict(GOOD, url="https://coast.example/3", title="Harbour dredging starts")) + "\n{broken\n"
    )
    (folder / "no_text.csv").write_text("title,url\nA headline,https://coast.example/4\n")
    (folder / "empty_page.html").write_text(
        "<html><head><title>Log in</title></head><body><nav><a href='/'>Home</a></nav>"
        "<form><input name=user><button>Log in</button></form></body></html>"
    )
    (folder / "huge.jsonl").write_text(json.dumps(GOOD) + "\n" + " " * 3_000_000)

    report = build([folder], tmp_path / "idx", encoder, max_file_bytes=2_000_000)

    # good.jsonl, the readable line of mixed.jsonl, and the records of truncated.jsonl.gz before the cut
    [cut_off] = [w for w in report.warnings if "truncated.jsonl.gz" in w["path"]]
    kept = int(re.search(r"the (\d+) complete line", cut_off["warning"])[1])
    assert 0 < kept < 50
    assert report.added == 2 + kept
    reasons = {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in report.skipped}
    assert reasons["zero.jsonl"] == "empty file (0 bytes)"
    assert reasons["binary.json"] == "binary content, not text"
    assert reasons["latin1.csv"].startswith("invalid UTF-8 at byte")
    assert cut_off["warning"].startswith("truncated gzip (compressed stream ends early)")
    assert "malformed JSON" in reasons["mixed.jsonl:2"]
    assert reasons["no_text.csv"].startswith("CSV has no text column (has: title, url")
    assert reasons["empty_page.html"] == "no article text found in HTML"
    assert reasons["huge.jsonl"].startswith("file too large (3,")
    assert len(report.skipped) == 7


def test_a_record_whose_url_cannot_be_parsed_is_indexed_with_a_warning(tmp_path, encoder):
    broken = dict(GOOD, url="http://[coast.example/ferry", title="Ferry timetable changes")
    corpus = write_jsonl(tmp_path / "in" / "a.jsonl", [broken, dict(GOOD, url="https://coast.example/ok")])

    report = build([corpus], tmp_path / "idx", encoder)

    assert (report.added, report.skipped) == (2, [])
    [warning] = report.warnings
    assert warning["warning"] == (
        "URL 'http://[coast.example/ferry' is not a valid URL (Invalid IPv6 URL); kept as given"
    )
    searcher = Searcher.open(tmp_path / "idx", encoder=encoder)
    assert searcher.article("http://[coast.example/ferry").title == "Ferry timetable changes"
