"""scripts/tune_fusion.py: the cross-validated choice never scores a setting on the questions that chose it."""

from __future__ import annotations

import sys

from tests.conftest import REPO, load_script
from tests.tiny_index import build_tiny_index, open_tiny


def test_each_fold_is_scored_with_the_setting_the_other_folds_chose(capsys):
    tune = load_script("tune_fusion")
    good_early = tune.Setting(0.5, 5, 100, 1.0)
    good_late = tune.Setting(1.0, 60, 100, 1.0)
    # The first two questions are answered at rank 1 by one setting only, the last two by the other:
    # chosen on all four, either setting scores MRR 0.5; honestly held out, each fold gets the wrong one.
    ranks = {good_early: [1, 1, None, None], good_late: [None, None, 1, 1]}
    held_out = tune.cross_validate(ranks, folds=[0, 0, 1, 1], count=2)
    assert held_out == [None, None, None, None]
    assert tune.mean_reciprocal_rank(held_out) == 0.0
    assert "held out MRR@10 0.000" in capsys.readouterr().out


def test_the_same_question_always_lands_in_the_same_fold():
    tune = load_script("tune_fusion")
    records = [{"qid": f"q{i}", "question": "?"} for i in range(200)]
    folds = [tune.fold_of(r, 5) for r in records]
    assert folds == [tune.fold_of(r, 5) for r in records]
    assert set(folds) == {0, 1, 2, 3, 4} and max(folds.count(f) for f in range(5)) < 70  # roughly even


def test_runs_on_a_real_index_and_reports_the_held_out_score(sample_index, monkeypatch, capsys):
    tune = load_script("tune_fusion")
    questions = REPO / "data" / "eval" / "sample_questions.jsonl"
    grid = ["--dense-weights", "0.6", "1.0", "--rrf-k", "5", "60", "--depth", "50"]
    argv = ["tune_fusion.py", "--index", str(sample_index), "--questions", str(questions), "--folds", "2", *grid]
    monkeypatch.setattr(sys, "argv", argv)
    assert tune.main() == 0
    out = capsys.readouterr().out
    assert out.count("R@10") >= 5  # the current settings and four grid points, each scored
    assert "held out, pooled: MRR@10" in out


def test_the_title_weight_grid_really_weighs_titles(tmp_path):
    tune = load_script("tune_fusion")
    # "zephyr" is once in one article's title and three times in another's body: BM25 with equal column
    # weights ranks the body first, a heavy title weight the title. Dense weight 0: BM25 alone decides.
    titled = {
        "title": "Zephyr turbines recalled",
        "text": "The maker said the blades would be replaced.",
        "url": "https://a.example/titled",
        "source": "A",
    }
    body = {
        "title": "Council notes",
        "text": "Zephyr, zephyr and again zephyr, said the council.",
        "url": "https://b.example/body",
        "source": "B",
    }
    searcher = open_tiny(build_tiny_index(tmp_path, [titled, body]))
    records = [{"qid": "q1", "question": "zephyr", "relevant_urls": [titled["url"]]}]
    ranks = {
        weight: tune.ranks_for(searcher, searcher.settings, tune.Setting(0.0, 5, 100, weight), records)
        for weight in (1.0, 20.0)
    }
    assert ranks == {1.0: [2], 20.0: [1]}
