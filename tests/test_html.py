"""The HTML reader on pages written for these tests: fields a user checks, and no site chrome in the text."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import pytest

from index.model import Article, Skip
from index.readers import SourceFile, load_file, read_paths
from index.readers.html import NO_ARTICLE, decode_html, extract_article, read_html

FIXTURES = Path(__file__).parent / "fixtures"
HTML = FIXTURES / "html"

CHROME = [
    "cookie",
    "Accept all",
    "Manage preferences",
    "Subscribe today",
    "Most read",
    "Harbour wall",
    "Share on",
    "Email this story",
    "All rights reserved",
    "Privacy policy",
    "Contact us",
]

# A café closing in a port town, in French: accents, guillemets and the euro sign, which
# Latin-1 lacks but windows-1252 (what browsers read "iso-8859-1" as) has at byte 0x80.
FRENCH_PAGE = """<!DOCTYPE html>
<html lang="fr"><head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>Le café du port ferme ses portes</title></head>
<body><nav><a href="/">Accueil</a> · <a href="/region">Région</a></nav>
<article><h1>Le café du port ferme ses portes</h1>
<p>Après quarante-deux ans derrière le comptoir, Hélène Marchetti éteint la machine à café de la Digue.
Le loyer est passé de 900 € à 1 400 € par mois depuis la rénovation du quai.</p>
<p>« C'était notre salon à tous », résume un ancien docker, habitué du comptoir à six heures du matin.</p>
</article><footer>Tous droits réservés</footer></body></html>"""

RUSSIAN_PAGE = """<!DOCTYPE html>
<html lang="ru"><head><meta charset="{charset}"><title>Мост через реку откроют весной</title></head>
<body><article><h1>Мост через реку откроют весной</h1>
<p>Новый пешеходный мост через реку Сосновку откроют в апреле, сообщили в городской администрации.
Строители закончили укладку настила и приступили к установке перил и освещения.</p>
<p>Жители правого берега ждали переправы почти десять лет.</p></article></body></html>"""


def read_one(path: Path) -> Article | Skip:
    loaded = load_file(path)
    assert isinstance(loaded, SourceFile), loaded
    items = list(read_html(loaded))
    assert len(items) == 1
    return items[0]


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


def test_article_with_json_ld_and_canonical_link() -> None:
    article = read_one(HTML / "ferry_article.html")

    assert isinstance(article, Article)
    assert article.title == "Island ferry returns after winter repairs"
    # The canonical link wins over og:url, which here carries a tracking parameter.
    assert article.url == "https://harbourgazette.example/news/2025/03/ferry-returns"
    assert article.source == "Harbour Gazette"
    assert article.authors == ["Morag Lindsay", "Tomasz Wrobel"]
    assert article.published == "2025-03-14T07:45:00+00:00"
    assert article.language == "en"
    assert article.origin == str(HTML / "ferry_article.html")

    body = paragraphs(article.text)
    assert len(body) == 5
    assert body[0].startswith("The ferry linking the mainland to the island of Skerrow")
    assert body[-1].endswith("by the end of this month.")
    assert "Elspeth Crane" in body[2]
    for chrome in CHROME:
        assert chrome not in article.text


def test_article_with_meta_tags_and_no_article_element() -> None:
    article = read_one(HTML / "council_budget.html")

    assert isinstance(article, Article)
    assert article.title == "Millbrook council trims library hours to balance budget"
    assert article.url == "https://valleycourier.example/2024/11/02/millbrook-library-hours/"  # og:url
    assert article.source == "The Valley Courier"
    assert article.authors == ["Priya Natarajan"]
    assert article.published == "2024-11-02T16:20:00-05:00"  # the published time, not the modified one
    assert article.language == "en"

    body = paragraphs(article.text)
    assert body[0].startswith("Millbrook's two branch libraries will open four fewer hours")
    assert "What else changes" in body
    # A list stays one paragraph, an item a line.
    assert "- Parking permits for the municipal lot rise from $40 to $55 a year.\n- The summer pool" in article.text
    assert body[-1].startswith("The new schedule takes effect on January 6.")
    for chrome in [
        "Get the Courier in your inbox",
        "Sign up",
        "Related",
        "Pool season could be cut short",
        "uses cookies",
        "Got it",
        "Advertise with us",
        "Search the Courier",
        "Obituaries",
    ]:
        assert chrome not in article.text


@pytest.mark.parametrize("name", ["login.html", "section_index.html"])
def test_page_without_an_article_is_skipped(name: str) -> None:
    assert read_one(HTML / name) == Skip(str(HTML / name), NO_ARTICLE)


def test_gzipped_page_reads_like_the_plain_one(tmp_path: Path) -> None:
    packed = tmp_path / "ferry_article.html.gz"
    packed.write_bytes(gzip.compress((HTML / "ferry_article.html").read_bytes()))

    article, plain = read_one(packed), read_one(HTML / "ferry_article.html")

    assert isinstance(article, Article) and isinstance(plain, Article)
    assert (article.title, article.text, article.url, article.published) == (
        plain.title,
        plain.text,
        plain.url,
        plain.published,
    )
    assert article.origin == str(packed)


@pytest.mark.parametrize(
    ("page", "declared", "codec", "expected"),
    [
        (FRENCH_PAGE, "ISO-8859-1", "cp1252", "Le loyer est passé de 900 € à 1 400 € par mois"),
        (FRENCH_PAGE, "windows-1252", "cp1252", "« C'était notre salon à tous », résume"),
        (FRENCH_PAGE, "iso-8859-15", "iso8859_15", "Le loyer est passé de 900 € à 1 400 € par mois"),
        (RUSSIAN_PAGE, "windows-1251", "cp1251", "Новый пешеходный мост через реку Сосновку"),
        (RUSSIAN_PAGE, "koi8-r", "koi8_r", "Жители правого берега ждали переправы"),
    ],
)
def test_declared_charset_is_honoured(tmp_path: Path, page: str, declared: str, codec: str, expected: str) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(page.format(charset=declared).encode(codec))

    article = read_one(path)

    assert isinstance(article, Article)
    assert expected in article.text
    assert article.title in ("Le café du port ferme ses portes", "Мост через реку откроют весной")
    assert "\ufffd" not in article.text


def test_utf8_page_without_declaration_and_with_bom() -> None:
    html = FRENCH_PAGE.replace('<meta http-equiv="Content-Type" content="text/html; charset={charset}">', "")
    assert decode_html(html.encode("utf-8")) == html
    assert decode_html(b"\xef\xbb\xbf" + html.encode("utf-8")) == html


def test_relative_canonical_link_is_resolved_against_og_url() -> None:
    html = (HTML / "ferry_article.html").read_text(encoding="utf-8")
    html = html.replace(
        '<link rel="canonical" href="https://harbourgazette.example/news/2025/03/ferry-returns">',
        '<link rel="canonical" href="/news/2025/03/ferry-returns">',
    )

    article = extract_article(html, origin="inline")

    assert isinstance(article, Article)
    assert article.url == "https://harbourgazette.example/news/2025/03/ferry-returns"


def test_an_unparseable_og_url_leaves_the_page_without_a_url_instead_of_failing() -> None:
    html = (HTML / "ferry_article.html").read_text(encoding="utf-8")
    html = html.replace(
        '<link rel="canonical" href="https://harbourgazette.example/news/2025/03/ferry-returns">',
        '<link rel="canonical" href="/news/2025/03/ferry-returns">',
    )
    html = re.sub(r'(<meta property="og:url" content=")[^"]*"', r'\1http://[harbourgazette/news"', html)

    article = extract_article(html, origin="inline")

    assert isinstance(article, Article) and "ferry" in article.text.lower()
    assert article.url is None


def test_no_date_is_guessed_from_the_copyright_line() -> None:
    html = (HTML / "ferry_article.html").read_text(encoding="utf-8")
    html = re.sub(r'<script type="application/ld\+json">.*?</script>|<time.*?</time>', "", html, flags=re.S)

    article = extract_article(html, origin="inline")

    assert isinstance(article, Article)
    assert article.published is None  # not 2025-01-01 from "© 2025 Harbour Gazette Ltd."
    assert article.authors == ["Morag Lindsay", "Tomasz Wrobel"]  # from the byline


def test_read_paths_over_a_folder_of_pages_and_feeds(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    (folder / "archive").mkdir(parents=True)
    (folder / "archive" / "ferry_article.html.gz").write_bytes(
        gzip.compress((HTML / "ferry_article.html").read_bytes())
    )
    for name in ["council_budget.html", "login.html", "section_index.html"]:
        shutil.copy(HTML / name, folder / name)
    (folder / "cafe.htm").write_bytes(FRENCH_PAGE.format(charset="iso-8859-1").encode("cp1252"))
    (folder / "blank.html").write_bytes(b"")
    for name in ["valley_courier.rss", "science_desk.atom"]:
        shutil.copy(FIXTURES / "feeds" / name, folder / name)
    (folder / "broken.xml").write_bytes(b"<rss><channel><title>Cut off")

    items = list(read_paths([folder]))

    articles = {Path(a.origin).name: a for a in items if isinstance(a, Article)}
    skips = {Path(s.path).name: s.reason for s in items if isinstance(s, Skip)}
    assert sorted(articles) == [
        "cafe.htm",
        "council_budget.html",
        "ferry_article.html.gz",
        "science_desk.atom[0]",
        "science_desk.atom[1]",
        "valley_courier.rss[0]",
        "valley_courier.rss[1]",
    ]
    assert articles["ferry_article.html.gz"].title == "Island ferry returns after winter repairs"
    assert "900 € à 1 400 €" in articles["cafe.htm"].text
    assert articles["science_desk.atom[0]"].source == "Northfield Chronicle — Science"
    assert skips["login.html"] == skips["section_index.html"] == NO_ARTICLE
    assert skips["blank.html"].startswith("empty file")
    assert skips["broken.xml"].startswith("malformed feed")
    assert "Harvest fair in pictures" in skips["valley_courier.rss[2]"]
    assert "Untitled draft" in skips["science_desk.atom[2]"]
    assert len(items) == len(articles) + len(skips)
