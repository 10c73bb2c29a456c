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
    """(start, end) of every word in `text` that matches a query term (by light stem)."""
    wanted = {stem(t) for t in terms}
    if not wanted:
        return []
    return [(m.start(), m.end()) for m in _WORD.finditer(text) if stem(m.group()) in wanted]


def mark(text: str, spans: list[tuple[int, int]], before: str = "[", after: str = "]") -> str:
    """Plain-text rendering for terminals: each span wrapped in the given markers."""
    pieces, last = [], 0
    for start, end in spans:
        pieces.append(text[last:start])
        pieces.append(f"{before}{text[start:end]}{after}")
        last = end
    pieces.append(text[last:])
    return "".join(pieces)
