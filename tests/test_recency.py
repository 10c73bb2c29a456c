"""search/recency.py: the recency prior re-orders candidates the way its settings say, and only then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from index.errors import InvalidQueryError
from search.recency import (
    PRESETS,
    RecencyPrior,
    ages_in_days,
    apply_recency,
    decay,
    published_times,
    recency_preset,
)

AS_OF = datetime(2022, 7, 10)  # midnight: the end of 9 July


def days_before(*days: float | None) -> np.ndarray:
    return np.array(
        [np.datetime64("NaT") if d is None else np.datetime64(AS_OF - timedelta(days=d), "s") for d in days],
        dtype="datetime64[s]",
    )


def order(prior: RecencyPrior, fused: list[float], ages: list[float | None]) -> list[str]:
    ids = [f"a{i}" for i in range(len(fused))]
    return apply_recency(ids, np.array(fused), days_before(*ages), AS_OF, prior).article_ids


EVERY_FORM = [
    RecencyPrior(form, curve, scale=3.0, offset=1.0, strength=0.9)
    for form in ("multiply", "add", "rank", "window")
    for curve in ("gauss", "exp", "linear")
]


def test_off_keeps_the_relevance_order_whatever_the_dates():
    fused = [0.30, 0.25, 0.25, 0.10, 0.05]
    assert order(PRESETS["off"], fused, [900, 0.5, 400, None, 0.1]) == ["a0", "a1", "a2", "a3", "a4"]


@pytest.mark.parametrize("prior", EVERY_FORM, ids=lambda p: f"{p.form}-{p.curve}")
def test_strength_zero_is_the_relevance_order(prior):
    fused = [0.05, 0.30, 0.10, 0.25]
    ages = [0.5, 800, 2, None]
    weak = RecencyPrior(prior.form, prior.curve, prior.scale, prior.offset, strength=0.0)
    assert order(weak, fused, ages) == ["a1", "a3", "a2", "a0"]


@pytest.mark.parametrize("prior", [*EVERY_FORM, PRESETS["mild"], PRESETS["default"], PRESETS["strong"]], ids=str)
def test_a_newer_article_of_equal_relevance_comes_first(prior):
    # Ids are chosen so that the tie-break by id alone would put the older one first.
    assert order(prior, [0.2, 0.2], [30, 2]) == ["a1", "a0"]


def test_the_default_lifts_this_weeks_article_over_a_somewhat_more_relevant_old_one():
    # Fused RRF scores of ranks 1 and 3 (dense 0.6 + lexical 1.0, k=5): a typical margin the prior must beat.
    top, third = 0.6 / 6 + 1 / 6, 0.6 / 8 + 1 / 8
    assert order(PRESETS["default"], [top, third], [400, 2]) == ["a1", "a0"]
    assert order(PRESETS["off"], [top, third], [400, 2]) == ["a0", "a1"]


@pytest.mark.parametrize("prior", EVERY_FORM, ids=lambda p: f"{p.form}-{p.curve}")
def test_negative_scores_such_as_cosines_are_lifted_the_same_way(prior):
    # Dense-only mode hands over cosines, which can be below zero.
    assert order(prior, [-0.2, -0.2, -0.5], [30, 2, 400]) == ["a1", "a0", "a2"]
    weak = RecencyPrior(prior.form, prior.curve, prior.scale, prior.offset, strength=0.0)
    assert order(weak, [-0.3, -0.1, -0.2], [1, 400, 2]) == ["a1", "a2", "a0"]


def test_the_effect_grows_with_strength():
    # Relevance falls with the index, age too: the stronger the prior, the further it moves from relevance.
    fused = np.linspace(0.3, 0.05, 12).tolist()
    ages = [365, 200, 90, 40, 20, 10, 6, 4, 3, 2, 1, 0.5]
    displaced, newest = [], []
    for strength in (0.0, 0.3, 0.6, 0.9, 1.0):
        ranked = order(RecencyPrior("multiply", "gauss", scale=5, offset=1, strength=strength), fused, ages)
        displaced.append(sum(ranked[i] != f"a{i}" for i in range(len(fused))))
        newest.append(ranked.index("a11"))
    assert displaced == sorted(displaced) and displaced[0] == 0 and displaced[-1] > 6
    assert newest == sorted(newest, reverse=True) and newest[0] == 11 and newest[-1] < 6


def test_undated_articles_get_the_median_decay_by_default_and_none_on_request():
    fused = [0.2, 0.2, 0.2]
    ages = [1, None, 400]  # fresh, undated, old
    assert order(RecencyPrior("multiply", strength=0.9, scale=5), fused, ages) == ["a0", "a1", "a2"]
    assert order(RecencyPrior("multiply", strength=0.9, scale=5, undated="none"), fused, ages)[0] == "a0"
    no_boost = apply_recency(
        ["a0", "a1", "a2"],
        np.array(fused),
        days_before(*ages),
        AS_OF,
        RecencyPrior("multiply", strength=0.9, undated="none"),
    )
    assert no_boost.decay[no_boost.article_ids.index("a1")] == 0.0


def test_all_undated_keeps_the_relevance_order():
    assert order(PRESETS["strong"], [0.1, 0.3, 0.2], [None, None, None]) == ["a1", "a2", "a0"]


@pytest.mark.parametrize("curve", ["gauss", "exp", "linear"])
def test_the_curve_gives_full_credit_inside_the_offset_and_the_set_decay_at_offset_plus_scale(curve):
    prior = RecencyPrior("multiply", curve, scale=4, offset=2, strength=1, decay_at_scale=0.5)
    values = decay(np.array([0.0, 2.0, 6.0, 30.0]), prior)
    assert values[:2].tolist() == [1.0, 1.0]
    assert values[2] == pytest.approx(0.5)
    assert values[3] < 0.5


def test_ages_count_from_the_start_of_the_day_and_never_go_negative():
    published = published_times(["2022-07-09", "2022-07-09T18:00:00+02:00", "2022-07-12", None, "not a date"])
    ages = ages_in_days(published, AS_OF)
    assert ages[0] == 1.0  # dated 9 July, asked at the end of 9 July
    assert ages[1] == pytest.approx(8 / 24)  # 16:00 UTC
    assert ages[2] == 0.0  # after as_of (the searcher filters these out): no bonus beyond "just published"
    assert np.isnan(ages[3]) and np.isnan(ages[4])
    aware = ages_in_days(published[:1], datetime(2022, 7, 10, 2, 0, tzinfo=timezone(timedelta(hours=2))))
    assert aware[0] == pytest.approx(1.0)
    assert ages_in_days(published[:1], datetime(2022, 7, 10, tzinfo=UTC))[0] == 1.0


def test_presets_by_name_and_a_clear_error_for_an_unknown_one():
    assert recency_preset("off") == PRESETS["off"] and not PRESETS["off"].active
    assert list(PRESETS) == ["off", "mild", "default", "strong"]
    strengths = [PRESETS[name].strength for name in ("mild", "default", "strong")]
    assert strengths == sorted(strengths) and all(PRESETS[name].active for name in ("mild", "default", "strong"))
    with pytest.raises(InvalidQueryError, match="off, mild, default, strong"):
        recency_preset("newest")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"form": "boost"}, "choose from off, multiply"),
        ({"curve": "cubic"}, "choose from gauss, exp, linear"),
        ({"scale": 0}, "positive number of days"),
        ({"offset": -1}, "0 or more days"),
        ({"form": "multiply", "strength": 1.5}, "out of range"),
        ({"undated": "drop"}, "choose from median, none"),
    ],
)
def test_bad_settings_are_refused_with_the_accepted_values(fields, message):
    with pytest.raises(ValueError, match=message):
        RecencyPrior(**fields)


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="one entry per candidate"):
        apply_recency(["a", "b"], np.array([0.1]), days_before(1, 2), AS_OF, PRESETS["default"])
