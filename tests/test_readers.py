"""Structured readers (JSONL, JSON, CSV, plain text), field aliases, and date / author / URL normalization."""

from __future__ import annotations

import gzip
import json

import pytest

from index.model import Article, Skip
from index.normalize import canonical_url, finalize, normalize_authors, normalize_date
from index.readers import Gunzipped, gunzip, read_paths
from tests.conftest import write_jsonl

BODY = "The council met on Tuesday.\n\nIt approved the budget after a long debate."


def articles_and_skips(*paths):
    items = list(read_paths(paths))
    return [i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, Skip)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2016-09-20", "2016-09-20"),
        ("2023/01/11", "2023-01-11"),  # rtqa-5k's publish_date shape
        ("March 5, 2026 14:05 GMT", "2026-03-05T14:05:00+00:00"),
        ("2026-02-14T09:30:00Z", "2026-02-14T09:30:00+00:00"),
        ("Fri, 23 Jan 2026 08:18:00 +0200", "2026-01-23T08:18:00+02:00"),
        ("2026-01-23 08:18", "2026-01-23T08:18:00"),
        ("", None),
        (None, None),
    ],
)
def test_dates_are_normalized_to_iso_8601(value, expected):
    assert normalize_date(value) == expected


def test_an_unreadable_date_is_an_error_not_a_guess():
    with pytest.raises(ValueError, match="unreadable date"):
        normalize_date("sometime last week")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("N. R. Kleinfield", ["N. R. Kleinfield"]),
        ("Leah Barkoukis, Beth Baumann, Matt Vespa", ["Leah Barkoukis", "Beth Baumann", "Matt Vespa"]),
        (["Brian Truitt", "USA TODAY"], ["Brian Truitt", "USA TODAY"]),
        ("By Ana Ruiz and Tom Becker", ["Ana Ruiz", "Tom Becker"]),
        ([{"name": "Zoë Martin"}], ["Zoë Martin"]),
        (None, []),
        ("Ana Ruiz; ana ruiz", ["Ana Ruiz"]),
    ],
)
def test_authors_become_a_list_of_names(value, expected):
    assert normalize_authors(value) == expected


def test_canonical_url_drops_tracking_and_fragment_but_keeps_identity():
    a = canonical_url("http://www.Example.com/news/story/?utm_source=x&id=7#comments")
    assert a == "https://example.com/news/story?id=7"
    assert canonical_url("https://example.com/news/story?id=8") != a


def test_jsonl_with_allsides_field_names(tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {
                "ID": 1,
                "title": "Bomb suspect changed after trip",
                "url": "https://nytimes.com/x?hp&action=click",
                "date": "2016-09-20",
                "authors": "N. R. Kleinfield",
                "source": "New York Times - News",
                "content_original": BODY,
                "bias": 0,
            }
        ],
    )
    (article,), skips = articles_and_skips(path)
    assert not skips
    assert (article.title, article.source, article.published, article.authors) == (
        "Bomb suspect changed after trip",
        "New York Times - News",
        "2016-09-20",
        ["N. R. Kleinfield"],
    )
    assert article.text == BODY


def test_gzipped_jsonl_with_rtqa_field_names(tmp_path):
    path = tmp_path / "r.jsonl.gz"
    record = {
        "url": "https://usatoday.com/story/1/",
        "title": "IRS backlog smaller",
        "text": BODY,
        "authors": ["Jane Doe"],
        "publish_date": "2023/01/11",
    }
    path.write_bytes(gzip.compress((json.dumps(record) + "\n").encode()))
    (article,), _ = articles_and_skips(path)
    assert article.published == "2023-01-11"
    assert article.authors == ["Jane Doe"]
    assert article.url == "https://usatoday.com/story/1/"


def test_json_object_and_array_with_aliases(tmp_path):
    single = tmp_path / "one.json"
    single.write_text(
        json.dumps(
            {
                "headline": "One",
                "body": BODY,
                "link": "https://a.example/1",
                "published_at": "2026-01-02",
                "byline": "By Kim Lee",
                "site": "A",
            }
        )
    )
    many = tmp_path / "many.json"
    many.write_text(
        json.dumps(
            [
                {"title": "Two", "articleBody": BODY, "pubDate": "2026-01-03", "outlet": "B"},
                {"title": "Three", "content": BODY, "sitename": "C"},
            ]
        )
    )
    articles, skips = articles_and_skips(single, many)
    assert not skips
    assert [(a.title, a.source, a.published) for a in articles] == [
        ("One", "A", "2026-01-02"),
        ("Two", "B", "2026-01-03"),
        ("Three", "C", None),
    ]
    assert articles[0].authors == ["Kim Lee"]


def test_csv_with_header_aliases(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        'title,content,url,date,author,outlet\n"Quoted, title","Line one.\n\nLine two.",'
        'https://c.example/1,"March 12, 2026",Ana Ruiz,Courier\n',
        encoding="utf-8",
    )
    (article,), skips = articles_and_skips(path)
    assert not skips
    assert (article.title, article.published, article.source) == ("Quoted, title", "2026-03-12", "Courier")
    assert article.text == "Line one.\n\nLine two."


def test_plain_text_title_on_first_line_and_folders_walked_recursively(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "1.txt").write_text("Ad sales boost profit\n\nProfits rose 76%.\n\nSales rose.")
    (tmp_path / "a" / "2.txt").write_text("Second title\n\nSecond body.")
    articles, skips = articles_and_skips(tmp_path)
    assert not skips
    assert sorted(a.title for a in articles) == ["Ad sales boost profit", "Second title"]


def test_bad_records_are_named_and_the_rest_is_read(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        json.dumps({"title": "Good", "text": BODY})
        + "\n{not json\n"
        + json.dumps({"title": "No text"})
        + "\n"
        + json.dumps({"title": "Bad date", "text": BODY, "date": "someday"})
        + "\n"
    )
    articles, skips = articles_and_skips(path)
    assert [a.title for a in articles] == ["Good", "Bad date"]
    reasons = {s.path.rsplit(":", 1)[1]: s.reason for s in skips}
    assert "malformed JSON" in reasons["2"]
    assert "no article text" in reasons["3"]
    # An unreadable date costs the date, not the article, and is reported.
    assert articles[1].published is None
    assert articles[1].warnings == ["unreadable date 'someday'; indexed without a date"]


def test_ids_are_stable_and_follow_the_canonical_url():
    a = finalize(Article(title="T", text=BODY, url="https://www.example.com/x?utm_source=mail"))
    b = finalize(Article(title="T changed", text=BODY + " More.", url="http://example.com/x/"))
    c = finalize(Article(title="T", text=BODY, url="https://example.com/y"))
    assert a.id == b.id != c.id
    assert a.content_hash != b.content_hash
    without_url = finalize(Article(title="T", text=BODY, source="S", published="2026-01-01"))
    assert without_url.id == finalize(Article(title="T", text=BODY, source="S", published="2026-01-01")).id


def test_an_article_without_an_outlet_takes_its_site_as_source():
    article = finalize(Article(title="T", text=BODY, url="https://www.usatoday.com/story/news/1/"))
    assert article.source == "usatoday.com"
    assert finalize(Article(title="T", text=BODY, url="https://a.example/1", source="Outlet")).source == "Outlet"


def test_a_cut_off_jsonl_gz_keeps_the_records_before_the_cut_with_a_named_warning(tmp_path):
    records = [{"title": f"Council notice {n}", "text": f"The council published notice {n} today."} for n in range(200)]
    payload = gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode())
    (tmp_path / "export.jsonl.gz").write_bytes(payload[: len(payload) // 2])  # a download that stopped halfway

    results = list(read_paths([tmp_path]))

    assert all(isinstance(r, Article) for r in results), [r for r in results if isinstance(r, Skip)]
    kept = len(results)
    assert 20 < kept < 200
    assert [r.title for r in results] == [f"Council notice {n}" for n in range(kept)]  # in order, none lost
    # The cut line is not misread as a malformed record; the last record kept carries the warning.
    *before, last = results
    assert all(not r.warnings for r in before)
    assert last.origin == f"{tmp_path / 'export.jsonl.gz'}:{kept}"
    assert last.warnings == [
        f"truncated gzip (compressed stream ends early): the {kept} complete line(s) before the cut were read, "
        "the rest of the file is missing"
    ]


def test_a_cut_off_gzip_with_nothing_readable_is_a_named_skip(tmp_path):
    payload = gzip.compress(b'{"title": "Only record", "text": "' + b"x" * 5000 + b'"}\n')
    (tmp_path / "tiny.jsonl.gz").write_bytes(payload[:30])

    [skip] = list(read_paths([tmp_path]))

    assert isinstance(skip, Skip)
    assert skip.reason.startswith("truncated gzip (compressed stream ends early)")


def test_gunzip_stops_a_gzip_bomb_at_the_cap():
    bomb = gzip.compress(bytes(20_000_000))  # ~20 KB that inflate to 20 MB

    with pytest.raises(OverflowError):
        gunzip(bomb, 1_000_000)
    assert gunzip(gzip.compress(b"one ") + gzip.compress(b"two"), 100) == Gunzipped(b"one two", complete=True)
