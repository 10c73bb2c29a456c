"""Related articles through the real searcher: the dense centroid, the more-like-this query and time
proximity together, on a tiny index built by the real build (fake encoder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.related_ranking import RelatedSettings
from search.searcher import Filters, Searcher
from tests.tiny_index import FILLER_TEXT, build_tiny_index, open_tiny


def record(slug: str, title: str, text: str, published: str | None, source: str = "Daily") -> dict:
    return {
        "title": title,
        "text": text,
        "url": f"https://{source.lower()}.example/{slug}",
        "source": source,
        "published": published,
    }


# Words every tram article here uses: by meaning alone, the look-alikes are nearest to the article.
EVERYDAY = "the mayor said the council vote on the tram extension would decide the plan"
ARTICLES = [
    record(
        "origin",
        "Okonkwo vetoes Brightwater tram",
        f"mayor okonkwo vetoes the brightwater tram extension. {EVERYDAY}.\n\n{FILLER_TEXT} origin",
        "2020-03-13",
    ),
    # The same news from another outlet the next day: few words, but its names.
    record(
        "coverage",
        "Brightwater veto",
        f"okonkwo blocked brightwater line.\n\n{FILLER_TEXT} coverage",
        "2020-03-14",
        source="Herald",
    ),
    # Look-alikes without the names: one three years earlier (closer in words), one the day before.
    record(
        "tram-2017",
        "Mayor vetoes tram extension",
        f"mayor vetoes the tram extension. {EVERYDAY}.\n\n{FILLER_TEXT} one",
        "2017-03-13",
    ),
    record("tram-2020", "Tram extension vote", f"{EVERYDAY} as the week ends.\n\n{FILLER_TEXT} two", "2020-03-12"),
    *[
        record(
            f"filler-{i}",
            f"{topic.capitalize()} plan",
            f"the {topic} plan: {EVERYDAY}.\n\n{FILLER_TEXT} {topic}",
            f"2019-0{i + 1}-01",
        )
        for i, topic in enumerate(["harbour", "school", "hospital", "library", "bridge"])
    ],
]
DENSE_ONLY = RelatedSettings(lexical_weight=0.0, time_weight=0.0)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    return build_tiny_index(tmp_path_factory.mktemp("related"), ARTICLES)


def urls(searcher: Searcher, slug: str, **kwargs) -> list[str]:
    response = searcher.related(f"https://daily.example/{slug}", k=10, **kwargs)
    return [r.url.rsplit("/", 1)[1] for r in response.results if r.url]


def test_the_same_story_from_another_outlet_comes_first_by_its_names(index_dir):
    by_meaning = urls(open_tiny(index_dir, related=DENSE_ONLY), "origin")
    assert by_meaning[0] != "coverage", "the fixture's look-alikes are nearer by meaning alone"
    related = urls(open_tiny(index_dir), "origin")
    assert related[0] == "coverage", related
    assert "origin" not in related, "an article is not related to itself"


def test_of_two_look_alikes_the_one_published_near_the_article_ranks_higher(index_dir):
    by_meaning = urls(open_tiny(index_dir, related=DENSE_ONLY), "origin")
    assert by_meaning.index("tram-2017") < by_meaning.index("tram-2020")
    timed = urls(open_tiny(index_dir, related=RelatedSettings(lexical_weight=0.0)), "origin")
    assert timed.index("tram-2020") < timed.index("tram-2017"), timed


def test_with_lexical_and_time_off_the_order_is_the_dense_centroids(index_dir):
    searcher = open_tiny(index_dir, related=DENSE_ONLY)
    related = searcher.related("https://daily.example/origin", k=10)
    origin = searcher.store.article(searcher.resolve("https://daily.example/origin"))
    assert origin is not None
    centroid = searcher.store.passage_vectors(origin.id).mean(axis=0)
    centroid /= (centroid**2).sum() ** 0.5
    nearest = searcher.retriever.nearest(centroid, 1000, Filters()).without({origin.id})
    expected = list(dict.fromkeys(c.article_id for c in nearest.dense))
    assert [r.id for r in related.results] == expected[:10]


def test_filters_apply_to_both_retrievals(index_dir):
    related = urls(open_tiny(index_dir), "origin", filters=Filters(sources=("Daily",)))
    assert related and "coverage" not in related
