"""A small real HTTP app that serves the page (web/) and answers /api/search as docs/API-13 describes it.

The page's time features (as_of, when, sort, time words, facets, snippets) were coded against the issue-13
API contract before the searcher implemented it. This app answers that contract from a handful of article
records, with the project's own time-word parser, highlighting and snippets. The browser tests of the time
features now drive the real app over an index of `ARTICLES` (tests/test_web.py, `time_site`); this one
stays for what depends on the page alone: its wording of dates, and its fallback for a server that sends
no snippets (`WITHOUT_SNIPPET`).

`ARTICLES` are ordinary article records (title, text, url, source, date), distinct enough that the real
build keeps them apart. Matching here is plain: an article matches when it holds a content word of the
question (after its time words); the real app's rule is search.matches'.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from index.errors import InvalidQueryError
from search.highlight import highlight_spans, query_terms, stem
from search.moments import TimeRange, parse_as_of, parse_when
from search.snippets import snippet
from search.time_words import find_time_range

WEB_DIR = Path(__file__).resolve().parents[1] / "web"

_FILLER = [
    "Officials said more announcements were expected within days as checks widened across the country.",
    "Fans who had bought tickets were told that refunds would be handled by the clubs directly.",
    "Broadcasters said they were reviewing their schedules and would replace live games with archive matches.",
    "Several team owners held a call on the evening before the announcement to discuss the season.",
    "Health authorities asked people to keep their distance and to wash their hands often.",
    "Ticket offices at the grounds stayed closed while staff answered questions by phone.",
    "Local businesses near the grounds said the loss of match days would hurt them badly.",
]
# Each article takes a different three filler sentences (no two articles share all three).
_FILLER_PICKS = list(itertools.combinations(range(len(_FILLER)), 3))


def _article(n: int, title: str, lead: str, source: str, day: str | None) -> dict:
    # Long enough to be cut to a snippet, and different enough that the real build does not take the
    # articles for copies of one story (index.dedupe folds articles sharing most of their text).
    first, second, third = (_FILLER[i] for i in _FILLER_PICKS[n * 3 % len(_FILLER_PICKS)])
    text = " ".join([first, second, lead, third, f"This report, number {n} of the day, will be updated."])
    record = {"title": title, "text": text, "url": f"https://news.example/{n:02d}", "source": source}
    if day:
        record["date"] = day
    return record


_STORIES = [  # title, the sentence that makes it news, outlet, published
    (
        "League watches virus spread abroad",
        "The league said no player had been tested yet.",
        "Metro Wire",
        "2020-02-10",
    ),
    (
        "Clubs prepare for empty stadiums",
        "The league asked clubs to plan games without fans.",
        "Valley Courier",
        "2020-02-27",
    ),
    (
        "Tournament moves behind closed doors",
        "The league will test every player before travel.",
        "Metro Wire",
        "2020-03-03",
    ),
    (
        "Player isolates after symptoms",
        "A player with a fever was told to stay home pending a test.",
        "Harbor Times",
        "2020-03-05",
    ),
    (
        "Season opener postponed",
        "The league postponed its opener after talks with health officials.",
        "Valley Courier",
        "2020-03-07",
    ),
    (
        "Star player tests positive",
        "The league suspended its season after a player tested positive for the coronavirus.",
        "Metro Wire",
        "2020-03-11",
    ),
    (
        "Second player tests positive",
        "A second player tested positive, the league confirmed.",
        "Harbor Times",
        "2020-03-11",
    ),
    (
        "League suspends season",
        "The league suspended the season indefinitely after a positive test.",
        "Valley Courier",
        "2020-03-12",
    ),
    (
        "Other leagues follow",
        "Hockey and football leagues paused play a day after the first positive test.",
        "Metro Wire",
        "2020-03-12",
    ),
    (
        "Players return home",
        "Every player was sent home and told to wait for test results.",
        "Metro Wire",
        "2020-03-13",
    ),
    (
        "What the suspension means",
        "Analysts said the league could lose a third of its income.",
        "Harbor Times",
        "2020-03-10",
    ),
    ("Ferry timetable changes", "The harbour ferry keeps its first crossing at six.", "Harbor Times", "2020-03-09"),
    (
        "League plans a restart",
        "The league drew up a plan to restart once every player tests negative.",
        "Valley Courier",
        "2020-03-20",
    ),
    ("Undated league notice", "A league notice said each player would be tested twice.", "Valley Courier", None),
]
ARTICLES = [_article(n, *story) for n, story in enumerate(_STORIES, start=1)]
# Results without `snippet`, as today's server sends them: the page must fall back to the passage.
WITHOUT_SNIPPET = {"https://news.example/07"}


@dataclass
class _Match:
    n: int
    record: dict
    terms: int
    day: date | None = None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": {"status": status, "type": "invalid_query", "message": message}}
    )


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _facets(matches: list[_Match]) -> dict:
    sources = Counter(m.record["source"] for m in matches)
    days = sorted(m.day for m in matches if m.day)
    buckets = []
    if days:
        week = _monday(days[0])
        while week <= days[-1]:
            end = week + timedelta(days=6)
            count = sum(1 for d in days if week <= d <= end)
            buckets.append({"start": week.isoformat(), "end": end.isoformat(), "count": count})
            week += timedelta(days=7)
    return {
        "total": len(matches),
        "sources": [{"value": s, "count": c} for s, c in sources.most_common()],
        "interval": "week",
        "dates": buckets,
        "undated": sum(1 for m in matches if not m.day),
    }


def _result(match: _Match, terms: list[str]) -> dict:
    record = match.record
    text = record["text"]
    spans = highlight_spans(text, terms)
    result = {
        "id": f"a{match.n:02d}",
        "title": record["title"],
        "url": record["url"],
        "source": record["source"],
        "published": record.get("date"),
        "authors": [],
        "passage": text,
        "passage_start": 0,
        "passage_end": len(text),
        "highlights": spans,
        "score": float(match.terms),
        "story_id": None,
        "also": [],
        "more_passages": [],
    }
    if record["url"] not in WITHOUT_SNIPPET:
        shown = snippet(text, spans)
        result["snippet"], result["snippet_highlights"] = shown.text, shown.highlights
    return result


def create_fixture_app(articles: list[dict] | None = None) -> FastAPI:
    """The page and an API answering from `articles` (default ARTICLES) by the issue-13 contract."""
    records = ARTICLES if articles is None else articles
    app = FastAPI(title="newsdesk fixture API")

    @app.get("/api/search")
    def search(
        q: str = "",
        k: int = 10,
        offset: int = 0,
        source: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults per request)
        date_from: Annotated[date | None, Query(alias="from")] = None,
        date_to: Annotated[date | None, Query(alias="to")] = None,
        as_of: str | None = None,
        when: str | None = None,
        sort: str = "relevance",
        time_words: bool = True,
        facets: bool = False,
    ) -> JSONResponse:
        if not q.strip():
            return _error(422, "the query is empty; type a few words")
        if sort not in ("relevance", "newest"):
            return _error(422, f"unknown sort {sort!r}; choose from relevance, newest")
        try:
            moment = parse_as_of(as_of)
            window: TimeRange | None = parse_when(when, moment).to_range(when) if when else None
        except InvalidQueryError as exc:
            return _error(422, str(exc))
        found = find_time_range(q, moment) if time_words else None
        question = found.query if found else q
        time_range = found.time_range if found else window
        origin = "question" if found else "when"
        wanted = {stem(t) for t in query_terms(question)}
        matches = []
        for n, record in enumerate(records, start=1):
            day = date.fromisoformat(record["date"]) if record.get("date") else None
            words = {stem(w) for w in query_terms(f"{record['title']} {record['text']}")}
            hits = len(wanted & words)
            if not hits or (source and record["source"] not in source):
                continue
            if day and (day > moment.date() or (date_from and day < date_from) or (date_to and day > date_to)):
                continue
            if (date_from or date_to or time_range) and not day:
                continue
            if time_range and day and not time_range.contains(day):
                continue
            matches.append(_Match(n, record, hits, day))
        if sort == "newest":
            matches.sort(key=lambda m: (m.day or date.min, m.n), reverse=True)
        else:
            matches.sort(key=lambda m: (-m.terms, m.n))
        page = matches[offset : offset + k]
        return JSONResponse(
            {
                "query": q,
                "mode": "hybrid",
                "offset": offset,
                "k": k,
                "results": [_result(m, query_terms(question)) for m in page],
                "has_more": len(matches) > offset + k,
                "as_of": moment.isoformat(),
                "sort": sort,
                "recency": "default",
                "time_range": {**time_range.as_dict(), "origin": origin} if time_range else None,
                "facets": _facets(matches) if facets else None,
            }
        )

    @app.get("/api/stats")
    def stats() -> dict:
        days = sorted(r["date"] for r in records if r.get("date"))
        return {
            "articles": len(records),
            "passages": len(records),
            "stories": len(records),
            "sources": dict(Counter(r["source"] for r in records)),
            "date_from": days[0] if days else None,
            "date_to": days[-1] if days else None,
            "encoder": {},
            "generation": 1,
            "built": None,
        }

    @app.get("/api/articles/{article_id}/related")
    def related(article_id: str, k: int = 5) -> dict:
        others = [_Match(n, r, 0) for n, r in enumerate(records, start=1) if f"a{n:02d}" != article_id]
        return {"query": "", "mode": "dense", "offset": 0, "k": k, "results": [_result(m, []) for m in others[:k]]}

    app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app
