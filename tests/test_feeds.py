"""The feed reader on RSS 2.0 and Atom files written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.model import Article, Skip
from index.readers import SourceFile, load_file
from index.readers.feeds import html_to_text, read_feed

FEEDS = Path(__file__).parent / "fixtures" / "feeds"


def read(name: str) -> list[Article | Skip]:
    loaded = load_file(FEEDS / name)
    assert isinstance(loaded, SourceFile), loaded
    return list(read_feed(loaded))


def read_bytes(data: bytes, name: str = "feed.xml") -> list[Article | Skip]:
    return list(read_feed(SourceFile(Path(name), data, Path(name).suffix)))


def test_rss_entry_uses_full_content_over_description() -> None:
    first = read("valley_courier.rss")[0]

    assert isinstance(first, Article)
    assert first.title == "Millbrook council trims library hours to balance budget"
    assert first.url == "https://valleycourier.example/2024/11/02/millbrook-library-hours/"
    assert first.source == "The Valley Courier"
    assert first.authors == ["Priya Natarajan"]  # dc:creator
    assert first.published == "2024-11-02T16:20:00-05:00"
    assert first.language == "en"
    assert first.origin == f"{FEEDS / 'valley_courier.rss'}[0]"
    assert first.text == (
        "Millbrook's two branch libraries will open four fewer hours a week from January, after the town "
        "council voted 5-2 on Saturday to close a gap in next year's budget.\n\n"
        "The Eastside and Riverside branches will no longer open on Monday mornings.\n"
        "Riverside will also close at 6pm on Thursdays.\n\n"
        "What else changes\n\n"
        "Parking permits rise from $40 to $55 a year.\n"
        "The pool season is one week shorter.\n\n"
        "A public hearing on the budget is set for November 18 at town hall."
    )
    assert "trackView" not in first.text


def test_rss_summary_only_entry_and_email_style_author() -> None:
    second = read("valley_courier.rss")[1]

    assert isinstance(second, Article)
    assert second.title == "Bridge repairs close Route 9 lanes overnight"
    assert second.text.startswith("One lane of the Route 9 bridge over the Millbrook River will close")
    assert second.authors == ["Sam Okafor"]  # from "traffic@valleycourier.example (Sam Okafor)"
    assert second.published == "2024-11-01T11:05:00-04:00"


def test_rss_entry_without_text_is_skipped_by_name() -> None:
    third = read("valley_courier.rss")[2]

    assert third == Skip(
        f"{FEEDS / 'valley_courier.rss'}[2]",
        "feed entry 'Photo gallery: Harvest fair in pictures' has no text (neither content nor summary)",
    )


def test_atom_entries() -> None:
    glacier, comet, draft = read("science_desk.atom")

    assert isinstance(glacier, Article)
    assert glacier.title == "Glacier melt doubled in a decade, survey finds"  # type="html" title, tags gone
    assert glacier.url == "https://chronicle.example/science/2025/02/glacier-melt"
    assert glacier.source == "Northfield Chronicle — Science"
    assert glacier.authors == ["Ingrid Halvorsen", "Daniel Osei"]
    assert glacier.published == "2025-02-19T08:30:00+01:00"  # published, not updated
    assert glacier.language == "en"
    text = glacier.text.split("\n\n")
    assert len(text) == 2  # the content, not the one-line summary
    assert text[0].startswith("Glaciers in the northern range lost twice as much ice")
    assert text[1].endswith("south-facing slopes below 1,500 metres.")

    assert isinstance(comet, Article)
    assert comet.authors == ["Chronicle Science Desk"]  # an Atom entry inherits the feed's author
    assert comet.published == "2025-02-18T21:15:00+00:00"  # only <updated> given
    assert comet.text.startswith("A comet discovered last autumn")

    assert isinstance(draft, Skip)
    assert "'Untitled draft' has no text" in draft.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"this is not xml at all, just words", "malformed feed: syntax error"),
        (
            b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<url><loc>https://a.example/x</loc></url></urlset>",
            "not an RSS or Atom feed",
        ),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>', "feed has no entries"),
    ],
)
def test_unusable_feed_is_one_skip(data: bytes, reason: str) -> None:
    items = read_bytes(data)

    assert len(items) == 1
    assert isinstance(items[0], Skip)
    assert items[0].path == "feed.xml"
    assert items[0].reason.startswith(reason)


def test_malformed_feed_with_recovered_entries_is_read_and_reported() -> None:
    data = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Smith & Sons Weekly</title>'
        b"<item><title>Mill reopens</title><link>https://smith.example/mill</link>"
        b"<description>The old mill reopened on Monday as a bakery and cafe run by the family.</description>"
        b"</item></channel></rss>"
    )

    note, article = read_bytes(data, "weekly.rss")

    assert isinstance(note, Skip)
    assert note.path == "weekly.rss"
    assert note.reason.startswith("malformed feed: not well-formed")
    assert "1 entries recovered" in note.reason
    assert isinstance(article, Article)
    assert article.title == "Mill reopens"
    assert article.source == "Smith & Sons Weekly"


def test_feed_in_a_legacy_encoding() -> None:
    data = (
        '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>Le Phare</title>'
        "<item><title>Fête du port</title><description>La fête du port aura lieu samedi, "
        "entrée à 5 francs.</description></item></channel></rss>"
    ).encode("iso-8859-1")

    (article,) = read_bytes(data)

    assert isinstance(article, Article)
    assert article.title == "Fête du port"
    assert article.text == "La fête du port aura lieu samedi, entrée à 5 francs."


def test_html_to_text_keeps_paragraphs_and_lines() -> None:
    html = (
        "<p>First  paragraph,\n  wrapped in the source.</p><p>Line one<br>line two</p>"
        "<ul><li>apples</li><li>pears</li></ul>loose <b>bold</b> text<!-- a comment -->"
        "<table><tr><td>1</td><td>2</td></tr></table><style>p { color: red }</style>"
    )

    assert html_to_text(html) == (
        "First paragraph, wrapped in the source.\n\nLine one\nline two\n\napples\npears\n\nloose bold text\n\n1 2"
    )
    assert html_to_text("") == ""
    assert html_to_text("plain text & no tags") == "plain text & no tags"
