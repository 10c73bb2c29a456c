"""The recency prior: relevance combined with how recently an article was published before `as_of`.

A news question is asked at a moment, and the articles of the days just before it are far more likely to
answer it: on questions_dev, 190 of 202 questions have a relevant article from the 7 days before their
date, among ~34 of rtqa-5k's 5,000 articles. The prior re-scores the fused candidates of one search:

    age   = as_of - published, in days (an article dated by day only counts from 00:00 of that day,
            so during the day it was published it is 0 to 1 day old)
    decay = 1 within `offset` days, then falling with `curve` to `decay_at_scale` at `offset + scale`
            (Elasticsearch's function_score decay shapes: gauss, exp, linear; linear reaches 0 at
            offset + scale / (1 - decay_at_scale))

and `form` says how it meets the fused relevance score:

    multiply  fused * ((1 - strength) + strength * decay)          the presets; see PRESETS for why
    add       fused + strength * max(fused) * decay
    rank      fused + strength / (rank_k + rank by decay)          a third ranking in the RRF. Relative:
              when no candidate is recent it still lifts the least old ones (questions_dev asked today,
              without dates: MRR@10 0.732 -> 0.32-0.57 under its best settings), and its best setting
              moves with the retrieval depth and the recent pass (one setting: 0.864-0.898).
    window    articles at most offset + scale days old whose fused score is at least (1 - strength)
              of the best come first, the rest after: a soft window that falls back to older articles

Undated articles (no `published`): with `undated="median"` (the default) an undated candidate gets the
median decay of the dated candidates of the same search — no evidence either way, so it is neither
lifted nor buried; `undated="none"` gives it decay 0, as if very old. (rtqa-5k has no undated article,
so this is a choice, not a measurement.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, NamedTuple, get_args

import numpy as np

from index.errors import InvalidQueryError

Form = Literal["off", "multiply", "add", "rank", "window"]
Curve = Literal["gauss", "exp", "linear"]
Undated = Literal["median", "none"]
FORMS: tuple[str, ...] = get_args(Form)
CURVES: tuple[str, ...] = get_args(Curve)
UNDATED: tuple[str, ...] = get_args(Undated)
_DAY = np.timedelta64(86_400, "s")


@dataclass(frozen=True, slots=True)
class RecencyPrior:
    """How much, and in what shape, newer articles are preferred. See the module docstring for each field."""

    form: Form = "off"
    curve: Curve = "gauss"
    scale: float = 7.0  # days past `offset` at which the decay reaches `decay_at_scale`
    offset: float = 0.0  # days of full credit before the decay starts
    strength: float = 0.0  # how much age counts: 0 is relevance alone, whatever the form
    decay_at_scale: float = 0.5
    rank_k: float = 5.0  # form="rank": the RRF constant of the ranking by decay
    undated: Undated = "median"

    def __post_init__(self) -> None:
        for name, value, choices in (
            ("form", self.form, FORMS),
            ("curve", self.curve, CURVES),
            ("undated", self.undated, UNDATED),
        ):
            if value not in choices:
                raise ValueError(f"unknown recency {name} {value!r}; choose from {', '.join(choices)}")
        if not self.scale > 0:
            raise ValueError(f"recency scale must be a positive number of days, not {self.scale}")
        if self.offset < 0:
            raise ValueError(f"recency offset must be 0 or more days, not {self.offset}")
        if not 0 <= self.strength <= (1 if self.form in ("multiply", "window") else float("inf")):
            raise ValueError(f"recency strength {self.strength} is out of range for form {self.form!r}")
        if not 0 < self.decay_at_scale < 1:
            raise ValueError(f"decay_at_scale must be between 0 and 1 (exclusive), not {self.decay_at_scale}")

    @property
    def active(self) -> bool:
        return self.form != "off" and self.strength > 0

    def __str__(self) -> str:
        if not self.active:
            return "off"
        if self.form == "window":
            shape = f"{self.offset + self.scale:g} days"
        else:
            shape = f"{self.curve} offset {self.offset:g}d scale {self.scale:g}d"
            shape += f" k={self.rank_k:g}" if self.form == "rank" else ""
        undated = "" if self.undated == "median" else f" undated={self.undated}"
        return f"{self.form} {shape} strength {self.strength:g}{undated}"


class Reranked(NamedTuple):
    """Candidates best first after the prior: their ids, combined scores and decay values."""

    article_ids: list[str]
    scores: np.ndarray
    decay: np.ndarray


def published_times(values: Sequence[str | None]) -> np.ndarray:
    """ISO 8601 strings as the store keeps them (a date, or a date and time with or without an offset)
    to UTC datetime64[s]; None or an unreadable value becomes NaT (undated)."""
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[s]")
    for i, value in enumerate(values):
        if not value:
            continue
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            continue
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        out[i] = np.datetime64(moment, "s")
    return out


def ages_in_days(published: np.ndarray, as_of: datetime) -> np.ndarray:
    """Days from each publication to `as_of` (never negative); NaN for undated."""
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    delta = np.true_divide(np.datetime64(as_of, "s") - published.astype("datetime64[s]"), _DAY)
    return np.maximum(delta.astype(np.float64), 0.0)  # NaT stays NaN


def decay(ages: np.ndarray, prior: RecencyPrior) -> np.ndarray:
    """The prior's curve at each age: 1 inside the offset, `decay_at_scale` at offset + scale; NaN stays NaN."""
    past = np.maximum(ages - prior.offset, 0.0) / prior.scale
    if prior.curve == "gauss":
        return np.power(prior.decay_at_scale, past * past)
    if prior.curve == "exp":
        return np.power(prior.decay_at_scale, past)
    return np.clip(1.0 - (1.0 - prior.decay_at_scale) * past, 0.0, 1.0)


def apply_recency(
    article_ids: Sequence[str], fused: np.ndarray, published: np.ndarray, as_of: datetime, prior: RecencyPrior
) -> Reranked:
    """Re-score the fused candidates of one search with the prior; best first, ties by article id.

    `fused` are the relevance scores (higher is better: weighted RRF in hybrid mode, a retriever's own
    score in one mode), `published` the candidates' datetime64 publication times (NaT: undated; see
    `published_times`), `as_of` the moment of the question (naive means UTC). Returns the candidates best
    first with the combined score (the fused score itself when the prior is inactive) and their decay.
    """
    fused = np.asarray(fused, dtype=np.float64)
    if len(fused) != len(article_ids) or len(published) != len(article_ids):
        raise ValueError("article_ids, fused and published must have one entry per candidate")
    ages = ages_in_days(published, as_of)
    values = decay(ages, prior)
    undated = np.isnan(values)
    if undated.any():
        dated = values[~undated]
        values[undated] = float(np.median(dated)) if prior.undated == "median" and len(dated) else 0.0
    scores = _combine(fused, values, ages, prior) if prior.active and len(fused) else fused.copy()
    ids = np.asarray(article_ids, dtype=str)
    order = np.lexsort((ids, -scores))
    return Reranked(ids[order].tolist(), scores[order], values[order])


def _combine(fused: np.ndarray, values: np.ndarray, ages: np.ndarray, prior: RecencyPrior) -> np.ndarray:
    strength = prior.strength
    if fused.min() < 0:
        # A cosine can be negative; scaling a negative score up would push it down. Shifted so the
        # weakest candidate scores 0, the prior means the same for every score.
        fused = fused - fused.min()
    if prior.form == "multiply":
        return fused * ((1.0 - strength) + strength * values)
    if prior.form == "add":
        return fused + strength * fused.max() * values
    if prior.form == "rank":
        # Rank by decay, more relevant first among equals; one ranking among the fused ones.
        order = np.lexsort((-fused, -values))
        ranks = np.empty(len(fused))
        ranks[order] = np.arange(1, len(fused) + 1)
        # A candidate the curve has fully decayed (linear past its end) is not in the ranking.
        return fused + (values > 0) * strength / (prior.rank_k + ranks)
    # window: recent and relevant enough first; the rest keep their fused order below them.
    recent = np.nan_to_num(ages, nan=np.inf) <= prior.offset + prior.scale
    lifted = recent & (fused >= (1.0 - strength) * fused.max())
    return fused + lifted * (fused.max() + 1.0)


# The per-request switch `recency=<name>`. Measured on questions_dev (202 questions) over rtqa-5k, each
# asked at the end of its date with its time words read, hybrid depth 200 + a 14-day recent pass
# (scripts/tune_recency.py --time-words; docs/evaluation.md has the tables):
#
#   recency off       R@10 0.965  MRR@10 0.828   (as_of and time words; no as_of at all: 0.936 / 0.737)
#   mild    (s 0.4)   R@10 0.970  MRR@10 0.885
#   default (s 0.7)   R@10 0.970  MRR@10 0.900   in-sample; held out by date-blocked 5-fold CV of a
#                                                1,728-setting multiply grid: 0.970 / 0.894
#   strong  (s 0.9)   R@10 0.975  MRR@10 0.885
#
# All four forms land within 0.01 MRR of each other (in-sample best 0.890-0.898, held out 0.876-0.894, time
# words ignored, as first measured):
# what the prior cannot fix is relevance inside the week (of the 189 questions answered by an article of
# the last 8 days, 23 have another article of those days that the fusion scores higher; the best setting
# per question, over all 7,400 tried, would give 0.921). `multiply` is the default because it is the most
# stable: the same setting is the best of its grid at every retrieval depth from 50 to 1000, with or
# without the recent pass; it degrades least when weeks are busier (ages compressed 10x: 0.858 against
# 0.844-0.856); and it leaves the order alone when nothing is recent. The curve: full credit for the day
# before as_of, 0.85 of the score at 4 days, 0.65 at 8, the floor 1 - strength from 15 days on. `mild`
# keeps more for questions about older events (the 11 questions answered by an article older than 8 days:
# MRR@10 0.561 under mild, 0.508 default, 0.379 strong, 0.667 off); `strong` puts the last days first.
_DEFAULT = RecencyPrior("multiply", "linear", scale=7.0, offset=1.0, strength=0.7)
PRESETS: dict[str, RecencyPrior] = {
    "off": RecencyPrior(),
    "mild": replace(_DEFAULT, strength=0.4),
    "default": _DEFAULT,
    "strong": replace(_DEFAULT, strength=0.9),
}


def recency_preset(name: str) -> RecencyPrior:
    """The prior a request names (`recency=off|mild|default|strong`); an unknown name is refused with the choices."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InvalidQueryError(f"unknown recency {name!r}; choose from {', '.join(PRESETS)}") from None
