"""Which words of a passage match the query: character ranges the caller marks up itself.

Offsets, not HTML, cross this boundary, so no caller ever has to trust markup built from article text.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "after",
        "before",
        "over",
        "under",
        "said",
        "says",
        "much",
        "many",
        "can",
        "could",
        "should",
        "any",
        "some",
    ]
)


# Highlighting only: words never marked in a passage, even when the question holds them, because they carry no
# meaning for a reader ("how much did the new …" marked every "much" and "new"). `query_terms`, which builds
# the BM25 query, keeps STOPWORDS above, so retrieval scores do not move. Source: the Snowball English stop
# list (snowballstem.org, BSD licence; the list NLTK ships), split as _WORD splits text ("isn't" → "isn", "t")
# and without "won" (of "won't"), plus the filler of news prose and of questions put to a news archive.
_SNOWBALL_ENGLISH = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves what which who whom this that these those am is are
    was were be been being have has had having do does did doing would should could ought i'm you're he's she's
    it's we're they're i've you've we've they've i'd you'd he'd she'd we'd they'd i'll you'll he'll she'll we'll
    they'll isn't aren't wasn't weren't hasn't haven't hadn't doesn't don't didn't won't wouldn't shan't
    shouldn't can't cannot couldn't mustn't let's that's who's what's here's there's when's where's why's how's
    a an the and but if or because as until while of at by for with about against between into through during
    before after above below to from up down in out on off over under again further then once here there when
    where why how all any both each few more most other some such no nor not only own same so than too very
"""
_NEWS_FILLER = """
    said says say saying told tell according new much many also just now like will can may might must shall
    whose whether yet still even ever every really already via per ago another since within without among
    across around upon toward towards though although however else anyone anything someone something everyone
    everything happen happens happened happening today yesterday tomorrow last latest recent recently mr mrs ms
"""
HIGHLIGHT_STOPWORDS = (STOPWORDS | frozenset(_WORD.findall(_SNOWBALL_ENGLISH + _NEWS_FILLER))) - {"won"}


@lru_cache(maxsize=1 << 16)  # passages repeat the same words: stem each once
def stem(word: str) -> str:
    """A light suffix strip, enough to match 'talks' with 'talk' and 'agreed' with 'agree'."""
    word = word.lower()
    for suffix in ("ingly", "edly", "ing", "ies", "ied", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def query_terms(query: str) -> list[str]:
    """Content words of the query, in order, without duplicates."""
    terms = [w.lower() for w in _WORD.findall(query)]
    return list(dict.fromkeys(t for t in terms if t not in STOPWORDS and (len(t) > 1 or t.isdigit())))


def highlight_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """(start, end) of every word in `text` that matches a query term (by light stem), meaningless words aside."""
    wanted = {stem(t) for t in terms if t.lower() not in HIGHLIGHT_STOPWORDS}
    if not wanted:
        return []
    return [
        (m.start(), m.end())
        for m in _WORD.finditer(text)
        # The word itself is checked too: the query's "news" stems to "new", yet "new" alone means nothing.
        if stem(m.group()) in wanted and m.group().lower() not in HIGHLIGHT_STOPWORDS
    ]


def mark(text: str, spans: list[tuple[int, int]], before: str = "[", after: str = "]") -> str:
    """Plain-text rendering for terminals: each span wrapped in the given markers."""
    pieces, last = [], 0
    for start, end in spans:
        pieces.append(text[last:start])
        pieces.append(f"{before}{text[start:end]}{after}")
        last = end
    pieces.append(text[last:])
    return "".join(pieces)
