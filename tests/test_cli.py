"""The `newsdesk` command as a user runs it: a real subprocess, real index, exit codes and JSON."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO, write_jsonl

ARTICLE = {
    "title": "Port strike ends after nine days",
    "url": "https://harbor.example/port-strike",
    "text": "Dock workers returned on Monday after a nine-day strike over night-shift pay.\n\n"
    "The union accepted a 6.5 percent raise.",
    "date": "2026-02-02",
    "source": "Harbor Times",
    "authors": "Ana Ruiz",
}


def newsdesk(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "search.cli", *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=300
    )


def test_index_search_show_stats_round_trip(tmp_path):
    corpus = write_jsonl(tmp_path / "in.jsonl", [ARTICLE])
    index_dir = str(tmp_path / "idx")
    built = newsdesk("index", str(corpus), "--index", index_dir, "--json")
    assert built.returncode == 0, built.stderr
    report = json.loads(built.stdout)
    assert {"added", "updated", "unchanged", "skipped", "passages", "embedded", "seconds"} <= set(report)
    assert report["added"] == 1 and report["embedded"] == report["passages"] >= 1

    found = newsdesk("search", "why did dock workers stop working", "--index", index_dir, "--json")
    assert found.returncode == 0, found.stderr
    payload = json.loads(found.stdout)
    assert payload["query"] == "why did dock workers stop working"
    top = payload["results"][0]
    assert {"id", "title", "url", "source", "published", "authors", "passage", "score"} <= set(top)
    assert top["url"] == ARTICLE["url"] and top["authors"] == ["Ana Ruiz"]

    shown = newsdesk("show", ARTICLE["url"], "--index", index_dir)
    assert shown.returncode == 0 and "Port strike ends after nine days" in shown.stdout
    assert "6.5 percent" in shown.stdout

    human = newsdesk("search", "dock strike", "--index", index_dir)
    assert "Port strike ends after nine days" in human.stdout and "https://harbor.example/port-strike" in human.stdout
    assert newsdesk("stats", "--index", index_dir).returncode == 0


def test_every_command_fails_with_one_line_when_the_index_is_missing(tmp_path):
    missing = str(tmp_path / "none")
    for args in (("search", "x"), ("show", "abc"), ("related", "abc"), ("stats",)):
        result = newsdesk(*args, "--index", missing)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "run `newsdesk index" in lines[0]
