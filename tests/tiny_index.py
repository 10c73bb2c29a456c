"""Tiny indexes built by the real build with the FakeEncoder, for fast tests of the search logic.

Each generated article is a few short paragraphs, and the fake encoder's small token budget makes every
paragraph a passage of its own: many passages per article, so fusion, story folding and deepening all
have work to do on a corpus that builds in a fraction of a second.
"""

from __future__ import annotations

from pathlib import Path

from index.build import build
from search.searcher import Searcher
from search.settings import Settings
from tests.conftest import write_jsonl
from tests.fake_encoder import FakeEncoder

MAX_TOKENS = 64  # leaves a passage budget of 29 words: each paragraph below (16-18 words) is one passage
FILLER_TEXT = (
    "officials said the plan would be reviewed by a committee before the next budget round and residents "
    "could comment online until the end of the month"
)
FILLER = FILLER_TEXT.split()


def fake_encoder() -> FakeEncoder:
    return FakeEncoder(max_tokens=MAX_TOKENS)


def paragraphs(topic: str, number: int, count: int, mentions: int) -> str:
    """`count` paragraphs about `topic`, each naming it `mentions` times, distinct per article `number`."""
    return "\n\n".join(
        " ".join([*([topic] * mentions), f"item{number}x{j}", *FILLER[j : j + 14]]) for j in range(count)
    )


def article(number: int, topic: str, source: str, published: str | None, count: int = 4, mentions: int = 1) -> dict:
    return {
        "title": f"{topic.capitalize()} report number {number}",
        "text": paragraphs(topic, number, count, mentions),
        "url": f"https://{source.lower().replace(' ', '')}.example/{topic}/{number}",
        "source": source,
        "published": published,
    }


def build_tiny_index(directory: Path, articles: list[dict]) -> Path:
    """The `articles` (reader records) indexed into `directory`/index by the real build."""
    corpus = write_jsonl(directory / "corpus" / "articles.jsonl", articles)
    index_dir = directory / "index"
    build([corpus], index_dir, fake_encoder())
    return index_dir


def open_tiny(index_dir: Path, **settings: object) -> Searcher:
    """A searcher over a tiny index, with `settings` overriding the defaults (e.g. depth=2)."""
    return Searcher.open(index_dir, settings=Settings(index=index_dir, **settings), encoder=fake_encoder())
