"""Speed of reading time words in a question, and what each meaning of "this week" would keep.

    python scripts/bench_time_words.py                 # parse time over the dev questions and time phrases
    python scripts/bench_time_words.py --windows       # also: the measurements behind the rules (needs the data)

Speed: the import time of dateparser and its first parse (each in a fresh interpreter), then p50/p95 of
`find_time_range` per question over the dev questions (repo samples when ../shared/data is absent) and
over a set of time phrases, with dateparser's memo cleared before every call (the honest cost of a new
question) and kept (a repeated one).

--windows: over questions_dev.jsonl × rtqa-5k, for the questions saying "this week" / "this month" /
"this year" / "recent(ly)" and for all questions, the share whose relevant article (any of them) was
published inside each candidate window ending at the question's date; then, for every question where
search.time_words finds a range, whether that range holds a relevant article.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from search import time_points  # noqa: E402
from search.moments import parse_as_of  # noqa: E402
from search.time_words import find_time_range  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "eval"
SAMPLES = REPO / "data" / "eval" / "sample_questions.jsonl"
PHRASES = [
    "What happened yesterday?", "Which league suspended its season this week?", "rates last month",
    "stock markets in March 2020", "protests in Hong Kong in 2019", "What has the WHO said since January?",
    "layoffs since May 3", "storms in the past 3 days", "arrests over the past two weeks",
    "strikes between May 1 and May 5", "strikes from May 1 to May 5, 2019", "What happened on May 3?",
    "What did he say on March 13, 2020?", "fires before 2019", "Who may run for president?",
    "The Sun reported a scandal", "Protesters march on the capitol", "How many of the 300 workers were laid off?",
    "Boeing 737 grounded", "music of the 1990s", "What happened before the election?",
]  # fmt: skip
WINDOWS: dict[str, Callable[[date, int], bool]] = {  # (as_of day, days from publication to as_of) -> inside
    "calendar week, Monday..as_of": lambda day, ago: 0 <= ago <= day.weekday(),
    "7 days, as_of-6..as_of": lambda day, ago: 0 <= ago <= 6,
    "8 days, as_of-7..as_of (chosen)": lambda day, ago: 0 <= ago <= 7,
    "10 days": lambda day, ago: 0 <= ago <= 9,
    "14 days": lambda day, ago: 0 <= ago <= 13,
    "calendar month, 1st..as_of": lambda day, ago: 0 <= ago <= day.day - 1,
    "calendar month widened to 8 days (chosen)": lambda day, ago: 0 <= ago <= max(day.day - 1, 7),
    "31 days": lambda day, ago: 0 <= ago <= 30,
    "calendar year, Jan 1..as_of": lambda day, ago: 0 <= ago <= day.timetuple().tm_yday - 1,
    "366 days": lambda day, ago: 0 <= ago <= 365,
    "no filter (published <= as_of)": lambda day, ago: ago >= 0,
}


def _read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _day(text: str) -> date:
    return date(*map(int, re.split(r"[/-]", text[:10])))


def fresh_interpreter_seconds(code: str) -> float:
    """Run `code` (which prints a duration) in a new interpreter: module caches make in-process figures lie."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    return float(done.stdout.strip().splitlines()[-1])


def time_parses(questions: list[tuple[str, str | None]], *, cold: bool, repeat: int = 20) -> list[float]:
    """Milliseconds per find_time_range call, every question `repeat` times."""
    timings = []
    for question, day in questions:
        as_of = parse_as_of(day)
        for _ in range(repeat):
            if cold:
                time_points._parse_day.cache_clear()
            started = time.perf_counter()
            find_time_range(question, as_of)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def report(name: str, timings: list[float]) -> None:
    p95 = statistics.quantiles(timings, n=100)[94]
    print(f"  {name:<44} p50 {statistics.median(timings):6.3f} ms   p95 {p95:6.3f} ms   max {max(timings):6.2f} ms")


def speed(questions: list[tuple[str, str | None]]) -> None:
    importing = "import time; t = time.perf_counter(); import dateparser; print(time.perf_counter() - t)"
    first = (
        "import time, sys; sys.path.insert(0, '.'); from search import time_points; t = time.perf_counter(); "
        "time_points.warm_up(); print(time.perf_counter() - t)"
    )
    print(f"import dateparser: {fresh_interpreter_seconds(importing) * 1000:.0f} ms (fresh interpreter)")
    print(f"import + first parse (time_points.warm_up): {fresh_interpreter_seconds(first) * 1000:.0f} ms")
    time_points.warm_up()
    with_range = [q for q in questions if find_time_range(q[0], parse_as_of(q[1])) is not None]
    print(f"find_time_range per question ({len(questions)} questions, {len(with_range)} with a range):")
    report("questions, dateparser memo cleared", time_parses(questions, cold=True))
    report("questions, memo kept", time_parses(questions, cold=False))
    phrases: list[tuple[str, str | None]] = [(phrase, "2020-03-13") for phrase in PHRASES]
    report(f"{len(PHRASES)} time phrases, memo cleared", time_parses(phrases, cold=True))
    report(f"{len(PHRASES)} time phrases, memo kept", time_parses(phrases, cold=False))


def windows(questions: list[dict], published: dict[str, date]) -> None:
    print("\nShare of questions with a relevant article inside each window (any relevant article):")
    groups = {
        "this week": [q for q in questions if re.search(r"\bthis week\b", q["question"], re.I)],
        "this month": [q for q in questions if re.search(r"\bthis month\b", q["question"], re.I)],
        "this year": [q for q in questions if re.search(r"\bthis year\b", q["question"], re.I)],
        "recent(ly)": [q for q in questions if re.search(r"\brecent(ly)?\b", q["question"], re.I)],
        "all": questions,
    }
    print(f"  {'window':<42}" + "".join(f"{f'{name} ({len(group)})':>18}" for name, group in groups.items()))
    for window, inside in WINDOWS.items():
        cells = []
        for group in groups.values():
            kept = sum(
                any(inside(_day(q["date"]), (_day(q["date"]) - published[url]).days) for url in q["relevant_urls"])
                for q in group
            )
            cells.append(f"{kept:>4} = {kept / len(group):.3f}" if group else "-")
        print(f"  {window:<42}" + "".join(f"{cell:>18}" for cell in cells))

    print("\nRanges found by search.time_words in the questions, and whether they hold a relevant article:")
    found = held = 0
    for q in questions:
        as_of = parse_as_of(_day(q["date"]))
        match = find_time_range(q["question"], as_of)
        if match is None:
            continue
        span = match.time_range
        holds = any(span.contains(published[url]) for url in q["relevant_urls"])
        found, held = found + 1, held + holds
        if not holds:
            print(f"  misses: {span.words!r} -> {span.start}..{span.end} (asked {as_of.date()}): {q['question'][:70]}")
    print(f"  {found} of {len(questions)} questions have a range; {held} of them ({held / max(found, 1):.3f}) hold one")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DATA / "questions_dev.jsonl")
    parser.add_argument("--corpus", type=Path, default=DATA / "rtqa-5k.jsonl.gz")
    parser.add_argument("--windows", action="store_true", help="measure the windows on the dev questions")
    args = parser.parse_args()
    if args.questions.exists():
        dev = _read_jsonl(args.questions)
        questions = [(q["question"], _day(q["date"]).isoformat() if q.get("date") else None) for q in dev]
    else:
        print(f"{args.questions} not found: timing the repository's sample questions instead")
        dev = []
        questions = [(q["question"], None) for q in _read_jsonl(SAMPLES)]
    speed(questions)
    if args.windows:
        if not dev or not args.corpus.exists():
            print(f"\n--windows skipped: needs {args.questions} and {args.corpus} (../shared/data)")
            return 0
        published = {a["url"]: _day(a["publish_date"]) for a in _read_jsonl(args.corpus) if a.get("publish_date")}
        windows([q for q in dev if q.get("date") and all(u in published for u in q["relevant_urls"])], published)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
