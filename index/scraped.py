"""Find the article inside a scraped news page saved as plain text.

A scraped page is the site's chrome around one article: navigation, masthead credits and ad slots,
then the headline, a date line and a byline, then the body, then share buttons, related links,
newsletter and cookie prompts and the copyright line. The date line is the anchor: the headline is
the title-like line just above it (or just below, on sites that print the date first), the byline
sits next to it, and the body follows. A page with no date line near its top is read plain, BBC
style: title on the first line, body after it. Lines repeated across most pages of one site
(one folder) are that site's chrome too, whatever language they are in.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from index.normalize import normalize_authors, normalize_date

HEADER_LINES = 40  # the date line must be among a page's first 40 non-blank lines
TITLE_REACH = 3  # the headline is at most 3 non-blank lines away from the date line
BYLINE_REACH = 2  # bylines sit at most 2 non-blank lines after the date (or the headline)
SHORT_LINE = 100  # chrome and related-link headlines are short; body paragraphs mostly are not
REPEAT_MIN_PAGES = 3  # a line shared by 2 pages may be coincidence (or one quote), never chrome
REPEAT_SHARE = 0.5  # ...and chrome is on most of a site's pages

_AD_WORDS = r"ads?|advertisements?|advertising|sponsored(?: content)?|publicité|publicidad|anuncio|إعلان"
_AD_SLOT = re.compile(r"^(?:" + _AD_WORDS + r")$", re.IGNORECASE)
# Never article text, wherever it stands: ad slots, share buttons, prompts, legal lines, link teasers.
_CHROME = re.compile(
    r"^(?:" + _AD_WORDS + r"|skip to (?:main )?content|scroll to continue(?: with content)?"
    r"|share(?: this(?: article| story| page)?| on \w+)?|partager|compartir"
    r"|(?:we|this (?:web)?site) uses? cookies\b.*|(?:accept|manage)(?: all)? cookies\b.*"
    r"|(?:sign up|subscribe|inscrivez-vous|abonnez-vous|suscr[ií]bete)\b.*\bnewsletters?\b.*"
    r"|(?:our |daily )?newsletters?"
    r"|(?:read more|also read|see also|read also|lire aussi|à lire aussi|lee también|leer más"
    r"|اقرأ أيضا|اقرأ أيضاً)\s*:.*"
    r"|(?:©|\(c\)|copyright\s*(?:©|\(c\))?\s*\d{4}).*"
    r"|.*\b(?:all rights reserved|tous droits réservés|todos los derechos reservados)\.?)$",
    re.IGNORECASE,
)
# Headings that open the lists of links under an article ("Related", "Read more:", "Tags: ...").
_FOOTER_START = re.compile(
    r"^(?:read more|related(?: articles| stories| news| coverage| topics)?|more (?:from|on) [^.]{1,40}"
    r"|more stories|you may also like|recommended(?: for you)?|most (?:read|popular|viewed)|trending(?: now)?"
    r"|tags?|topics|follow us(?: on [^.]{1,30})?|lire aussi|à lire aussi|sur le même sujet|lee también"
    r"|leer más|noticias relacionadas|te puede interesar|اقرأ أيضا|اقرأ أيضاً|موضوعات ذات صلة)(?:\s*:.*)?$",
    re.IGNORECASE,
)
# Links and prompts a site prints under every article, each on a line of its own: consent and legal
# links ("Cookie settings", "Privacy Policy | Terms of Use") and sign-up prompts ("Get the Morning Briefing
# in your inbox"). Only taken off the end of the body (see `_trim_prompts`): a real paragraph that talks
# about a newsletter is a sentence with a subject, not an imperative, and is rarely the last line.
_SITE_LINK = re.compile(
    r"^(?:cookies?(?: settings| preferences| policy| choices| consent)?|(?:manage|change) (?:my |your )?"
    r"(?:cookies?|cookie (?:settings|preferences)|preferences|consent|privacy settings)"
    r"|privacy(?: policy| settings| notice| centre| center| choices)?|your privacy choices"
    r"|terms(?: of (?:use|service)| (?:and|&) conditions)?"
    r"|do not sell(?: or share)? my (?:personal )?(?:info|information|data)|accessibility(?: statement)?"
    r"|contact us|about us|advertise(?: with us)?|careers|site ?map|help(?: centre| center)?|faqs?|rss(?: feeds?)?"
    r"|paramètres des cookies|gestion des cookies|politique de confidentialité|mentions légales|nous contacter"
    r"|configuración de cookies|política de (?:privacidad|cookies)|aviso legal|contacto)$",
    re.IGNORECASE,
)
# An imperative that asks the reader to sign up for something delivered to them.
_PROMPT = re.compile(
    r"^(?:enter your e-?mail|your e-?mail address|(?:sign up|signup|subscribe|register|join|get|receive|download"
    r"|install|follow|click here"
    r"|tap here|don't miss|never miss|want (?:more|the latest)|like (?:this|what you read)|enjoyed this"
    r"|support (?:our|independent) journalism|inscrivez-vous|abonnez-vous|recevez|suscr[ií]bete|reg[ií]strate)\b"
    r".*\b(?:newsletters?|inbox|e-?mails?|briefings?|alerts?|notifications?|apps?|updates|digest|podcasts?"
    r"|lettre d'information|infolettre|boletín)\b)",
    re.IGNORECASE,
)
_REPORTED = re.compile(r"[\"“”«»]|\b(?:said|says|told|added|according to|a dit|a déclaré|dijo|según)\b", re.I)
# Staff credits printed under the masthead ("Editor in Chief Mohamed Wadie").
_MASTHEAD = re.compile(
    r"^(?:(?:general )?supervisor|editor[- ]in[- ]chief|(?:chief|managing|executive|deputy) editor|publisher"
    r"|founder|chairman(?: of the board)?|editorial director|rédacteur en chef|directeur de (?:la )?publication"
    r"|director(?:a)? (?:general|editorial)|jefe de redacción|المشرف العام|رئيس التحرير|رئيس مجلس الإدارة)"
    r"\s*:?\s+(?P<names>.+)$",
    re.IGNORECASE,
)
# Menus: three or more short items between separators ("Home | World | Business | Sport").
_NAV_SEPARATOR = re.compile(r"\s*[|•·»›]\s*|\s+[/>]\s+")
# "By Jane Doe", "Written by ...", "Reporter: ...", "Par ...", "Por ...", "بقلم ...".
_BYLINE = re.compile(
    r"^(?:by|written by|reported by|reporter|words by|authors?|par|por|escrito por|بقلم|كتب|كتبت)"
    r"\s*:?\s+(?P<names>.+)$",
    re.IGNORECASE,
)
# Lower-case words a name may hold: "Ursula von der Leyen", "Abdel Fattah al-Sisi", "Jane Doe and Tom Roe".
_NAME_PARTICLE = re.compile(r"^(?:and|de|da|di|del|der|van|von|la|le|al|el|bin|ibn|y|et|und)(?:-|$)")
# A line that names a day and a month: ISO, 23/01/2026, "23 Jan", "March 5".
_HAS_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"
    r"|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|\b(?:jan|feb|mar|apr|may|jun|jul|aug"
    r"|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b",
    re.IGNORECASE,
)
# Labels and joiners around the date itself ("Updated 23/01/2026", "Publié le 14/02/2026 à 10:15").
_DATE_LABEL = re.compile(
    r"^(?:(?:last |first )?updated|published|posted|date|publié|mis à jour|publicado|actualizado|نشر|آخر تحديث)"
    r"(?:\s+(?:on|le|el|at))?\s*:?\s*",
    re.IGNORECASE,
)
_DATE_JOINER = re.compile(r"\s+(?:at|à|a las)\s+|\s*[|•·]\s*", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.]\d{2,4}\b")


@dataclass(slots=True)
class ScrapedPage:
    """What was found in one page. `published` is ISO 8601 or None; empty title/text mean none found."""

    title: str
    text: str
    published: str | None = None
    authors: list[str] = field(default_factory=list)
    date_text: str | None = None  # the date as the page wrote it


def read_site(pages: Sequence[str]) -> list[ScrapedPage]:
    """Read the pages of one site (one folder) together, so lines they all repeat count as chrome."""
    chrome = repeated_lines(pages)
    found = [parse_page(page, chrome) for page in pages]
    dayfirst = _site_writes_day_first(page.date_text for page in found if page.date_text)
    for page in found:
        if page.date_text:
            try:
                page.published = normalize_date(page.date_text, dayfirst=dayfirst)
            except ValueError:  # 01/13/2026 on a site that otherwise writes the day first
                page.published = normalize_date(page.date_text)
    return found


def repeated_lines(pages: Sequence[str]) -> set[str]:
    """Short lines found on most pages of a site: its menus, credits and footers, in any language.

    Copies of one story (scraped twice, or corrected) share their long paragraphs; they count as one
    page here, or a folder holding copies would lose their body text as "chrome".
    """
    parent = list(range(len(pages)))  # union-find over pages: copies end up under one root

    def root(page: int) -> int:
        while parent[page] != page:
            parent[page] = page = parent[parent[page]]
        return page

    first_seen: dict[str, int] = {}  # long line -> the first page it was on
    line_sets = []
    for number, page in enumerate(pages):
        lines = {_key(line) for line in page.split("\n") if line.strip()}
        line_sets.append(lines)
        for line in lines:
            if len(line) > SHORT_LINE:
                parent[root(number)] = root(first_seen.setdefault(line, number))
    merged: dict[int, set[str]] = {}
    for number, lines in enumerate(line_sets):
        merged.setdefault(root(number), set()).update(line for line in lines if len(line) <= SHORT_LINE)
    distinct = len(merged)
    if distinct < REPEAT_MIN_PAGES:
        return set()
    counts = Counter(line for lines in merged.values() for line in lines)
    needed = max(REPEAT_MIN_PAGES, math.ceil(REPEAT_SHARE * distinct))
    return {line for line, count in counts.items() if count >= needed}


def parse_page(page: str, chrome: set[str] | frozenset[str] = frozenset()) -> ScrapedPage:
    """Headline, date, authors and body of one page; `chrome` holds the site's repeated lines."""
    lines = page.split("\n")
    rows = [i for i, line in enumerate(lines) if line.strip()]  # indexes of non-blank lines
    clean = {i: " ".join(lines[i].split()) for i in rows}

    def is_chrome(i: int) -> bool:
        line = clean[i]
        return bool(
            _CHROME.match(line)
            or _FOOTER_START.match(line)
            or _is_masthead(line)
            or _is_nav(line)
            or _key(line) in chrome
        )

    # The date line is in the header: a long standfirst may come before it, a second long line is the body.
    long_rows = [i for i in rows[:HEADER_LINES] if len(clean[i]) > SHORT_LINE and not is_chrome(i)][1:2]
    dated = _find_date(clean, [i for i in rows[:HEADER_LINES] if not long_rows or i < long_rows[0]])
    title_at = None
    date_text: str | None = None
    if dated is not None:
        date_at, date_text, byline = dated
        title_at = _find_title(clean, rows, date_at, is_chrome)
    if title_at is None:  # plain layout: the first line that is not chrome is the title
        title_at = next((i for i in rows if not is_chrome(i)), None)
        if title_at is None:
            return ScrapedPage(title="", text="")
        drop: set[int] = set()
        date_text, authors = None, []
    else:
        drop, names = _find_bylines(clean, rows, sorted((title_at, date_at)), is_chrome)
        drop.add(date_at)
        authors = normalize_authors(([byline] if byline else []) + names)
    body = [i for i in rows if i > title_at and i not in drop and not is_chrome(i)]
    body = _trim_footer(clean, [i for i in rows if i > title_at and i not in drop], body)
    body = _trim_prompts(clean, body)
    if not body:
        return ScrapedPage(title=lines[title_at].strip(), text="", authors=authors, date_text=date_text)
    kept = set(body)
    # Rebuild from the original lines so paragraph breaks (and a plain file's text) stay as they were.
    text = "\n".join(lines[i] if i in kept or not lines[i].strip() else "" for i in range(body[0], body[-1] + 1))
    return ScrapedPage(title=lines[title_at].strip(), text=text.strip(), authors=authors, date_text=date_text)


def _find_date(clean: dict[int, str], rows: list[int]) -> tuple[int, str, str | None] | None:
    """The first date line among `rows`: its index, the date as written, a byline sharing the line."""
    for i in rows:
        line = clean[i]
        if len(line) > 80 or not _HAS_DATE.search(line):
            continue
        if date_text := _date_text(line):
            return i, date_text, None
        # "By Jane Doe | March 5, 2026": one part is the date, another may be the byline.
        parts = [p for p in re.split(r"\s*[|•·]\s*", line) if p]
        dates = [d for d in map(_date_text, parts) if d]
        if dates:
            return i, dates[0], next((p for p in parts if _byline_names(p)), None)
    return None


def _date_text(line: str) -> str | None:
    text = _DATE_JOINER.sub(" ", _DATE_LABEL.sub("", line)).strip(" ,-")
    if not _HAS_DATE.search(text):
        return None
    try:
        return text if normalize_date(text) else None
    except ValueError:
        return None


def _find_title(clean: dict[int, str], rows: list[int], date_at: int, is_chrome: Callable[[int], bool]) -> int | None:
    """The headline near the date line: above it, else below it (sites that print the date first)."""
    position = rows.index(date_at)
    above = [
        i
        for i in reversed(rows[max(0, position - TITLE_REACH) : position])
        if not is_chrome(i) and _byline_names(clean[i]) is None and _is_title_like(clean[i])
    ]
    # The nearest line, except that a sentence is the standfirst under the headline (or, when long, the
    # body) and a bare name is the author's. "Title Case Headlines" look like names too: the longest wins.
    headline = next((i for i in above if not _is_sentence(clean[i]) and not _is_bare_name(clean[i])), None)
    unpunctuated = [i for i in above if not _is_sentence(clean[i])]
    if headline is None and unpunctuated:
        headline = max(unpunctuated, key=lambda i: len(clean[i]))
    if headline is None:
        headline = next((i for i in above if len(clean[i]) <= SHORT_LINE), None)
    if headline is not None:
        return headline
    below = [
        i
        for i in rows[position + 1 : position + 1 + TITLE_REACH]
        if not is_chrome(i) and _byline_names(clean[i]) is None
    ]
    if below and _is_title_like(clean[below[0]]) and not _is_sentence(clean[below[0]]):
        return below[0]
    return None


def _find_bylines(
    clean: dict[int, str], rows: list[int], span: list[int], is_chrome: Callable[[int], bool]
) -> tuple[set[int], list[str]]:
    """Bylines between the headline and the date, and just after whichever comes last."""
    first, last = span
    between = [i for i in rows if first < i < last]
    after = rows[rows.index(last) + 1 :][:BYLINE_REACH]
    at, names = set(), []
    for i in between + after:
        found = _byline_names(clean[i])
        # A bare name is trusted only in the header or right after it, where sites print the author.
        if found is None and (i in between or i == after[0]) and _is_bare_name(clean[i]) and not is_chrome(i):
            found = clean[i]
        if found is None:
            if i in after and not is_chrome(i):
                break  # the body has started
            continue
        at.add(i)
        names.append(found)
    return at, names


def _trim_footer(clean: dict[int, str], tail: list[int], body: list[int]) -> list[int]:
    """Drop the link lists under the article: from a footer heading on, when all that follows is short."""
    for position, i in enumerate(tail):
        # An ad slot can sit mid-body with a short last paragraph after it, and share buttons can sit
        # above the article: neither is its end.
        if _AD_SLOT.match(clean[i]) or not (
            _FOOTER_START.match(clean[i]) or _CHROME.match(clean[i]) or is_trailing_prompt(clean[i])
        ):
            continue
        if not body or body[0] > i:
            continue
        rest = tail[position + 1 :]
        if all(len(clean[j]) <= SHORT_LINE or _CHROME.match(clean[j]) for j in rest):
            return [j for j in body if j < i]
    return body


def _trim_prompts(clean: dict[int, str], body: list[int]) -> list[int]:
    """Drop the sign-up prompts and site links the body ends with, up to the last line that is neither."""
    end = len(body)
    while end > 0 and is_trailing_prompt(clean[body[end - 1]]):
        end -= 1
    return body[:end]


def is_trailing_prompt(line: str) -> bool:
    """A sign-up prompt or a row of site links (cookies, privacy, terms...), the lines pages end with.

    Short, not reported speech (quotation marks, "said": article text), and either only site links
    ("Privacy Policy | Cookie settings") or an imperative asking to sign up for something delivered.
    """
    if len(line) > SHORT_LINE or _REPORTED.search(line):
        return False
    links = [part for part in _NAV_SEPARATOR.split(line.strip(" .")) if part]
    return (bool(links) and all(_SITE_LINK.match(link) for link in links)) or bool(_PROMPT.match(line))


def _is_masthead(line: str) -> bool:
    match = _MASTHEAD.match(line)
    return bool(match and _looks_like_names(match["names"]))


def _is_nav(line: str) -> bool:
    parts = [part for part in _NAV_SEPARATOR.split(line) if part]
    return len(parts) >= 3 and all(len(part) <= 30 and len(part.split()) <= 4 for part in parts)


def _is_title_like(line: str) -> bool:
    return 10 <= len(line) <= 250 and len(line.split()) >= 2 and not line.endswith(":") and not _is_nav(line)


def _is_sentence(line: str) -> bool:
    return line.rstrip("\"'”’»)").endswith(".")


def _byline_names(line: str) -> str | None:
    match = _BYLINE.match(line)
    return match["names"] if match and _looks_like_names(match["names"]) else None


def _is_bare_name(line: str) -> bool:
    return 2 <= len(line.split()) <= 5 and _looks_like_names(line) and not _NAV_SEPARATOR.search(line)


def _looks_like_names(text: str) -> bool:
    """Capitalised words (or words of a script without case), no digits, no sentence punctuation."""
    if len(text) > 80 or re.search(r"\d|[.!?:;\"“”]$", text):
        return False
    words = [w for w in re.split(r"[\s,|&/]+", text) if w]
    return 0 < len(words) <= 10 and all(not w[0].islower() or _NAME_PARTICLE.match(w) for w in words)


def _site_writes_day_first(date_texts: Iterable[str]) -> bool:
    """23/01/2026 or 01/23/2026? Any date on the site whose first or second number cannot be a month
    tells; day first (most of the world) when none does, or when the site is inconsistent."""
    day_first = month_first = False
    for text in date_texts:
        for first, second in _NUMERIC_DATE.findall(text):
            day_first |= int(first) > 12
            month_first |= int(second) > 12
    return not (month_first and not day_first)


def _key(line: str) -> str:
    return " ".join(line.split()).casefold()
