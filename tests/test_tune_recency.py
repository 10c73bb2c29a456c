"""scripts/tune_recency.py: folds are blocks of dates, and a run prints held-out figures beside in-sample ones."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta

import pytest

from index.errors import NewsdeskError
from search.searcher import Searcher
from tests.conftest import REPO, load_script, read_jsonl, write_jsonl


def test_folds_are_contiguous_blocks_of_dates_that_never_split_a_day():
    tune = load_script("tune_recency")
    days = [datetime(2022, 1, 1) + timedelta(days=d // 3) for d in range(60)]  # three questions a day
    shuffled = days[::2] + days[1::2]
    folds = tune.date_blocks(shuffled, 5)
    by_day: dict[datetime, set[int]] = {}
    for day, fold in zip(shuffled, folds, strict=True):
        by_day.setdefault(day, set()).add(fold)
    assert all(len(f) == 1 for f in by_day.values())  # one date, one fold
    in_date_order = [by_day[day].pop() for day in sorted(by_day)]
    assert in_date_order == sorted(in_date_order) and set(in_date_order) == {0, 1, 2, 3, 4}
    assert max(folds.count(f) for f in range(5)) <= 15


def test_a_question_is_asked_at_the_end_of_its_date():
    tune = load_script("tune_recency")
    assert tune.question_as_of({"date": "2020/03/13"}) == datetime(2020, 3, 14)
    assert tune.question_as_of({"date": "2024-06-21"}) == datetime(2024, 6, 22)
    assert tune.question_as_of({"question": "?"}) is None
    with pytest.raises(NewsdeskError, match="YYYY/MM/DD"):
        tune.question_as_of({"qid": "q1", "date": "last Tuesday"})


def test_skips_cleanly_without_a_questions_file(tmp_path, monkeypatch, capsys):
    tune = load_script("tune_recency")
    monkeypatch.setattr(sys, "argv", ["tune_recency.py", "--questions", str(tmp_path / "missing.jsonl")])
    assert tune.main() == 0
    assert capsys.readouterr().out.startswith("skipped:")


def test_runs_on_a_real_index_and_prints_the_held_out_figure_beside_the_in_sample_one(
    sample_index, encoder, tmp_path, monkeypatch, capsys
):
    tune = load_script("tune_recency")
    searcher = Searcher.open(sample_index, encoder=encoder)
    records = []
    for record in read_jsonl(REPO / "data" / "eval" / "sample_questions.jsonl"):
        article = searcher.store.article(searcher.resolve(record["relevant_urls"][0]))
        asked = date.fromisoformat(article.published[:10]) + timedelta(days=2)
        records.append({**record, "date": asked.strftime("%Y/%m/%d")})
    searcher.close()
    questions = write_jsonl(tmp_path / "dated.jsonl", records)
    argv = ["tune_recency.py", "--index", str(sample_index), "--questions", str(questions), "--folds", "3"]
    monkeypatch.setattr(sys, "argv", [*argv, "--forms", "window", "multiply", "--depth", "50", "--window", "7"])
    assert tune.main() == 0
    out = capsys.readouterr().out
    assert "without dates" in out and "as_of, recency off" in out and "preset default" in out
    assert out.count("fold 2:") == 3  # each form and all forms: three folds, each with its choice
    summary = out.split("held out (date-blocked)")[1].splitlines()[1:]
    assert [line.split()[0] for line in summary] == ["window", "multiply", "all"]
    assert all(line.count("MRR@10") == 3 for line in summary)  # in-sample, held out, asked today
