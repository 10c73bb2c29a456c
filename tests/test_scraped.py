"""Scraped .txt pages: headline, date and byline found inside the site's chrome; BBC-style files unchanged."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.model import Article, Skip
from index.normalize import normalize_date
from index.readers import read_paths
from index.scraped import REPEAT_MIN_PAGES, is_trailing_prompt, parse_page, repeated_lines

FIXTURES = Path(__file__).parent / "fixtures" / "scraped"
SHARED_DATA = Path(__file__).parents[1].parent / "shared" / "data"


@dataclass(frozen=True)
class Expected:
    title: str
    published: str | None
    authors: list[str]
    first: str  # the body's first and last sentences, which must survive
    last: str
    chrome: tuple[str, ...]  # lines of the page that must not reach the article text


SITE_STYLES = {
    "arabic_portal.txt": Expected(
        title="Desalination plant on the Red Sea coast starts first deliveries",
        published="2026-02-10T16:45:00",
        authors=["Nour El-Din Farouk"],
        first="The new desalination plant north of Safaga began pumping",
        # Short, and after a mid-body ad slot: an ad must not be taken for the end of the article.
        last="Residents said they hoped the supply would finally be steady.",
        chrome=(
            "الرئيسية أخبار مصر",
            "Supervisor Karim Hassan",
            "Editor in Chief Laila Mansour",
            "ads",
            "Tue 10 Feb 2026",
            "Nour El-Din Farouk",
        ),
    ),
    "english_daily.txt": Expected(
        title="Harbour strike ends after port operators raise night-shift pay",
        published="2026-03-05T14:05:00+00:00",
        authors=["Jane Whitfield", "Tom Oduya"],
        first="Dockworkers at the country's two largest container ports voted on Thursday",
        last="Port operators said normal schedules should resume within a week.",
        chrome=(
            "Skip to content",
            "We use cookies",
            "Home | World",
            "Advertisement",
            "By Jane Whitfield",
            "March 5, 2026",
            "Read more:",
            "Share this article",
            "Related articles",
            "Freight rates climb as ships queue outside the harbour",
            "Five questions about the dockworkers",
            "Sign up for our newsletter",
            "All rights reserved",
        ),
    ),
    "french_site.txt": Expected(
        title="Les bibliothèques de quartier prolongent leurs horaires d'ouverture le soir",
        published="2026-02-14T10:15:00",
        authors=["Camille Lefèvre"],
        first="À partir du mois prochain, douze bibliothèques municipales resteront ouvertes",
        last="sera couvert par le budget culturel de la ville.",
        chrome=(
            "Accueil | France",
            "Publicité",
            "Inscrivez-vous",
            "Par Camille",
            "Mis à jour",
            "Lire aussi",
            "Les salles d'étude saturées",
            "Partager",
            "Tous droits réservés",
        ),
    ),
    "spanish_site.txt": Expected(
        title="El tren nocturno entre Madrid y Lisboa vuelve a circular tras cuatro años",
        published="2026-02-14T09:30:00+00:00",
        authors=["Andrés Salcedo"],
        first="El servicio nocturno que une Madrid y Lisboa volverá a funcionar",
        last="que hoy eligen el avión para distancias medias.",
        chrome=(
            "Inicio · Internacional",
            "Publicidad",
            "Publicado el",
            "Por Andrés",
            "Noticias relacionadas",
            "Portugal amplía su red de alta velocidad",
            "Todos los derechos reservados",
        ),
    ),
    "uk_local.txt": Expected(
        title="Lifeboat crew rescues two walkers cut off by the tide",
        published="2026-01-23",  # "Updated 23/01/2026": day first
        authors=["Harriet Molloy"],
        first="Two walkers were brought to safety on Wednesday evening",
        last="check tide tables before setting out along the shore.",
        chrome=(
            "News / Local / Sport",
            "ADVERTISEMENT",
            "Written by",
            "Updated 23/01/2026",
            "Sign up for our newsletter",
            "Follow us on Facebook",
            "Tags:",
        ),
    ),
    "trailing_prompts.txt": Expected(
        title="Riverside bridge to close for six weeks of repairs",
        published="2026-03-12T07:40:00",
        authors=["Helen Marsh"],
        first="The Riverside bridge will close to all traffic from Monday",
        # Opens like a prompt ("Get the latest ... updates") but is reported: the article's real last line.
        last="Get the latest closure updates on the council's website, a spokesperson said.",
        chrome=(
            "Get the Riverside Gazette morning briefing delivered to your inbox",
            "Sign up to our free daily email",
            "Enter your email address",
            "Download the Gazette app",
            "Privacy Policy | Terms of Use",
            "Cookie settings",
            "Do not sell or share my personal information",
            "© 2026 Riverside Gazette",
        ),
    ),
    "date_above_headline.txt": Expected(
        title="City council approves budget for new bus lanes downtown",
        published="2026-02-26T18:40:00-05:00",
        authors=["Li Wei"],
        first="The city council voted 9 to 4 on Thursday to fund protected bus lanes",
        last="finish before the end of the year.",
        chrome=(
            "HOME • POLITICS",
            "Sponsored",
            "Thursday, February 26, 2026",
            "Reporter:",
            "You may also like",
            "Commuters weigh in on the downtown parking plan",
            "Transit agency orders forty electric buses",
        ),
    ),
}


def read_alone(tmp_path: Path, name: str) -> Article | Skip:
    folder = tmp_path / name.removesuffix(".txt")
    folder.mkdir()
    shutil.copy(FIXTURES / name, folder / name)
    [result] = read_paths([folder])
    return result


def write_site(folder: Path, pages: list[str]) -> Path:
    folder.mkdir(parents=True)
    for number, page in enumerate(pages):
        (folder / f"{number:03d}.txt").write_text(page, encoding="utf-8")
    return folder


def leaked(chrome: str, text: str) -> bool:
    # A very short chrome line ("ads") could be part of a body word ("roads"): compare whole lines.
    return chrome in text.split("\n") if len(chrome) <= 4 else chrome in text


def articles(results: list[Article | Skip]) -> list[Article]:
    assert all(isinstance(r, Article) for r in results), [r for r in results if isinstance(r, Skip)]
    return [r for r in results if isinstance(r, Article)]


@pytest.mark.parametrize("name", sorted(SITE_STYLES))
def test_site_style_gives_headline_date_byline_and_clean_body(tmp_path: Path, name: str) -> None:
    expected = SITE_STYLES[name]
    page = (FIXTURES / name).read_text(encoding="utf-8")
    article = read_alone(tmp_path, name)

    assert isinstance(article, Article), article
    assert article.title == expected.title
    assert article.published == expected.published
    assert article.authors == expected.authors
    assert article.text.startswith(expected.first) or f"\n{expected.first}" in article.text
    assert article.text.rstrip().endswith(expected.last)
    for chrome in expected.chrome:
        assert chrome in page, f"test data: {chrome!r} is not in {name}"
        assert not leaked(chrome, article.text), f"{chrome!r} leaked into the text of {name}"


@pytest.mark.parametrize(
    "line",
    [
        "Sign up for the Morning Briefing",
        "Get the best of the Courier delivered to your inbox every morning.",
        "Subscribe to our newsletter",
        "Enter your e-mail address",
        "Download our free app",
        "Cookie settings",
        "Manage cookie preferences",
        "Privacy Policy | Terms of Use | Cookie Settings",
        "Do not sell my personal information",
        "Inscrivez-vous à notre lettre d'information",
    ],
)
def test_sign_up_prompts_and_site_links_are_trailing_prompts(line: str) -> None:
    assert is_trailing_prompt(line)


@pytest.mark.parametrize(
    "line",
    [
        # Real last paragraphs that mention what prompts mention.
        "Residents can sign up for text alerts about the closures on the council's website.",
        "Subscribers to the council's newsletter will be told of any changes.",
        "Get the latest closure updates on the council's website, a spokesperson said.",
        '"Sign up for alerts and check before you travel," the mayor urged.',
        "The cookie factory will reopen in May.",
        "Privacy campaigners said they would appeal the ruling to the Supreme Court.",
        "Get well soon.",
    ],
)
def test_real_last_paragraphs_are_not_trailing_prompts(line: str) -> None:
    assert not is_trailing_prompt(line)


def test_prompts_under_a_short_last_paragraph_go_and_the_paragraph_stays() -> None:
    page = (
        "Library reopens after roof repairs\nFri 23 Jan 2026 | 08:18 AM\nBy Sam Okafor\n\n"
        "The central library reopened on Friday after four months of repairs to its leaking roof, "
        "and the children's section has moved to the ground floor.\n\n"
        "Opening hours are unchanged.\n\n"
        "Get our weekly newsletter in your inbox\nCookie settings\n"
    )
    assert parse_page(page).text.endswith("\n\nOpening hours are unchanged.")


def test_standfirst_under_the_headline_stays_in_the_body(tmp_path: Path) -> None:
    article = read_alone(tmp_path, "english_daily.txt")

    assert isinstance(article, Article)
    assert article.text.startswith("Dockworkers return on Monday after a deal that lifts overnight rates")


def test_title_case_headline_above_a_bare_name(tmp_path: Path) -> None:
    page = (
        "Latest News\nCity Council Approves New Bus Lanes\nMaria Gonzalez\nMarch 5, 2026 9:15 AM\n\n"
        "The council approved the lanes on Thursday after a long debate about parking on the avenues.\n"
    )
    [article] = articles(list(read_paths([write_site(tmp_path / "site", [page])])))

    assert (article.title, article.published, article.authors) == (
        "City Council Approves New Bus Lanes",
        "2026-03-05T09:15:00",
        ["Maria Gonzalez"],
    )
    assert article.text.startswith("The council approved the lanes on Thursday")


def test_share_buttons_above_a_short_article_do_not_end_it(tmp_path: Path) -> None:
    page = (
        "Home | Local | Sport\nLibrary reopens after roof repairs\nFri 23 Jan 2026 | 08:18 AM\nBy Sam Okafor\n"
        "Share this article\n\nThe library reopened on Friday.\n\nOpening hours are unchanged.\n"
    )
    [article] = articles(list(read_paths([write_site(tmp_path / "site", [page])])))

    assert article.text == "The library reopened on Friday.\n\nOpening hours are unchanged."


def test_plain_title_first_file_reads_as_before(tmp_path: Path) -> None:
    page = (FIXTURES / "plain_title_first.txt").read_text(encoding="utf-8")
    article = read_alone(tmp_path, "plain_title_first.txt")

    title, body = page.strip().split("\n", 1)
    assert isinstance(article, Article)
    assert (article.title, article.text) == (title.strip(), body.strip())
    assert article.published is None
    assert article.authors == []  # "By the time the box office opened…" is a sentence, not a byline


def test_date_line_inside_a_plain_body_does_not_move_the_title(tmp_path: Path) -> None:
    page = (
        "Museum extends its summer opening hours\n\n"
        "The city museum will stay open until nine in the evening on weekdays, its director said on Monday, "
        'citing "record demand" from visitors.\n\n'
        "Tickets for the late sessions cost the same as daytime entry, and school groups can book evening visits.\n\n"
        "12 June 2026\n\n"
        "The longer hours begin on that date and run until the end of August.\n"
    )
    [article] = articles(list(read_paths([write_site(tmp_path / "plain", [page])])))

    assert (article.title, article.published) == ("Museum extends its summer opening hours", None)
    assert article.text.startswith("The city museum will stay open")
    assert article.text.endswith("run until the end of August.")


def test_page_of_only_chrome_is_skipped_with_reason(tmp_path: Path) -> None:
    skip = read_alone(tmp_path, "only_chrome.txt")

    assert isinstance(skip, Skip)
    assert skip.path.endswith("only_chrome.txt")
    assert "every line is site chrome" in skip.reason


def test_fixtures_read_together_as_when_read_alone(tmp_path: Path) -> None:
    # One folder of pages from different sites: nothing is common enough to be taken for chrome.
    together = {Path(r.origin if isinstance(r, Article) else r.path).name: r for r in read_paths([FIXTURES])}

    for name in sorted(p.name for p in FIXTURES.glob("*.txt")):
        alone = read_alone(tmp_path, name)
        if isinstance(alone, Article):
            mine = together[name]
            assert isinstance(mine, Article)
            assert (mine.title, mine.text, mine.published, mine.authors) == (
                alone.title,
                alone.text,
                alone.published,
                alone.authors,
            )
        else:
            assert together[name].reason == alone.reason


def gazette_page(number: int, extra: str = "") -> str:
    """A page from one invented site whose chrome no built-in pattern knows."""
    return (
        "The Harbour Gazette\n"
        "Independent news for the north coast since 1887\n"
        f"Ferry timetable changes for route {number} from next month\n"
        f"Mon 2 Mar 2026 | 0{number}:00 AM\n"
        f"By Reporter Number{number}\n\n"
        f"The operator said route {number} would gain an extra crossing each weekday because demand has grown "
        f"steadily since the harbour reopened, and that fares stay the same.\n\n"
        f"{extra}"
        f"Passengers on route {number} can check the new times at the terminal from Friday onwards.\n\n"
        "Contact the newsroom\n"
        "Harbour Gazette Ltd, Quay Street\n"
    )


def test_lines_on_most_pages_of_a_site_are_chrome(tmp_path: Path) -> None:
    pages = [gazette_page(n, extra="The council declined to comment.\n\n" if n < 2 else "") for n in range(5)]
    results = articles(list(read_paths([write_site(tmp_path / "gazette", pages)])))

    assert len(results) == 5
    for number, article in enumerate(results):
        assert article.title == f"Ferry timetable changes for route {number} from next month"
        assert article.published == f"2026-03-02T0{number}:00:00"
        assert article.text.endswith(
            f"Passengers on route {number} can check the new times at the terminal from Friday onwards."
        )
        for chrome in ("The Harbour Gazette", "Independent news", "Contact the newsroom", "Quay Street"):
            assert chrome not in article.text
    # A short body line shared by 2 of 5 pages is not "most pages": it stays.
    assert "The council declined to comment." in results[0].text
    assert "The council declined to comment." in results[1].text


def test_two_pages_never_lose_lines_they_share(tmp_path: Path) -> None:
    results = articles(list(read_paths([write_site(tmp_path / "pair", [gazette_page(1), gazette_page(2)])])))

    assert all("Contact the newsroom" in article.text for article in results)


def test_copies_of_one_story_count_as_one_page(tmp_path: Path) -> None:
    # Three scrapes of one story and one other story: two distinct pages, too few to call anything chrome,
    # so the copies keep their short lines.
    copy = gazette_page(1, extra="Tickets bought before the change remain valid.\n\n")
    results = articles(list(read_paths([write_site(tmp_path / "copies", [copy, copy, copy, gazette_page(2)])])))

    assert sum("Tickets bought before the change remain valid." in a.text for a in results) == 3


def test_repeated_line_thresholds() -> None:
    body = "A paragraph long enough to be body text rather than chrome, about page {n}, says the test, really."
    pages = [
        f"Menu line\n{body.format(n=n)}\n" + ("Half line\n" if n < 5 else "Minority line\n" if n < 9 else "")
        for n in range(10)
    ]

    chrome = repeated_lines(pages)

    assert "menu line" in chrome  # on 10 of 10 pages
    assert "half line" in chrome  # on 5 of 10: half the pages is enough
    assert "minority line" not in chrome  # on 4 of 10
    assert not any(len(line) > 100 for line in chrome)  # paragraphs are never chrome
    assert repeated_lines(pages[: REPEAT_MIN_PAGES - 1]) == set()


def test_day_and_month_order_follows_the_site(tmp_path: Path) -> None:
    def page(date: str, n: int) -> str:
        return f"Harbour works update number {n}\nUpdated {date}\n\nThe works continue on schedule this week.\n"

    europe = articles(list(read_paths([write_site(tmp_path / "eu", [page("05/03/2026", 1), page("23/01/2026", 2)])])))
    america = articles(list(read_paths([write_site(tmp_path / "us", [page("05/03/2026", 1), page("01/23/2026", 2)])])))

    assert [a.published for a in europe] == ["2026-03-05", "2026-01-23"]
    assert [a.published for a in america] == ["2026-05-03", "2026-01-23"]


def test_byline_and_date_sharing_one_line(tmp_path: Path) -> None:
    page = (
        "World | Politics | Climate\nGlacier retreat speeds up in the eastern Alps\nBy Jane Doe | March 5, 2026\n\n"
        "Researchers measured the fastest summer melt on record across twelve glaciers.\n"
    )
    [article] = articles(list(read_paths([write_site(tmp_path / "site", [page])])))

    assert (article.title, article.published, article.authors) == (
        "Glacier retreat speeds up in the eastern Alps",
        "2026-03-05",
        ["Jane Doe"],
    )
    assert article.text == "Researchers measured the fastest summer melt on record across twelve glaciers."


def test_normalize_date_reads_day_first_and_zone_names() -> None:
    assert normalize_date("05/03/2026", dayfirst=True) == "2026-03-05"
    assert normalize_date("2026-02-03", dayfirst=True) == "2026-02-03"  # year first is never reordered
    assert normalize_date("March 5, 2026 14:05 EST") == "2026-03-05T14:05:00-05:00"
    assert normalize_date("March 5, 2026 14:05 IST") == "2026-03-05T14:05:00"  # ambiguous zone: local time


def test_seed_scraped_article_from_shared_data() -> None:
    folder = SHARED_DATA / "raw" / "scraped"
    if not folder.is_dir():
        pytest.skip(f"shared data not present at {folder}; the fixtures above cover the same shape")
    results = {Path(r.origin).name: r for r in read_paths([folder]) if isinstance(r, Article)}
    article = results.get("000_9be2cf442cbeee9b.txt")
    assert article is not None, f"seed article not read from {folder}"

    assert article.title == "Putin agrees next steps with US envoys but Kremlin says territory is key"
    assert article.published == "2026-01-23T08:18:00"
    assert article.authors == ["Basant Ahmed"]
    assert article.text.startswith("Russia said it will hold security talks with the U.S. and Ukraine")
    for chrome in ("Supervisor Elham AbolFateh", "Editor in Chief Mohamed Wadie", "ads", "08:18 AM", "Basant Ahmed"):
        assert not leaked(chrome, article.text), chrome
    assert not any("\u0600" <= char <= "\u06ff" for char in article.text)  # the Arabic menu line


def test_bbc_style_shared_data_reads_as_before() -> None:
    folder = SHARED_DATA / "raw" / "bbc" / "business"
    if not folder.is_dir():
        pytest.skip(f"shared data not present at {folder}; test_plain_title_first_file_reads_as_before covers it")
    by_name = {r.origin: r for r in read_paths([folder]) if isinstance(r, Article)}

    assert by_name
    for path in sorted(folder.glob("*.txt")):
        article = by_name.get(str(path))
        if article is None:
            continue  # skipped for its bytes (e.g. invalid UTF-8), as before
        title, body = path.read_text(encoding="utf-8").strip().split("\n", 1)
        assert (article.title, article.text, article.published, article.authors) == (
            title.strip(),
            body.strip(),
            None,
            [],
        ), path
