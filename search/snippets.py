"""The part of a passage worth reading in a result list: the sentences that match the query best.

A passage runs up to ~1,000 characters, a wall of text on a phone. `snippet` keeps about `target`
characters of it: whole sentences where it can, chosen by how many distinct query words they hold and
then by how densely, shown in passage order with "…" wherever text was left out. The passage's highlight
ranges come back re-based into the snippet, so callers still mark the text up themselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

from search.highlight import stem

ELLIPSIS = "…"
# A passage this much over the target is shown whole: cutting 30 characters saves nobody any reading.
SLACK = 0.2

# Where a sentence may end: terminal punctuation (and closing quotes or brackets), or a line break. One
# character class first lets the regex engine skip ahead fast; _sentences decides which ones are ends.
_BOUNDARY = re.compile(r"[.!?…\n][.!?…\"'”’)\]]*\s*")
_NEXT_STARTS_SENTENCE = re.compile(r"[\"'“‘(\[]*[^\W_a-z]")  # a capital, a digit or a non-Latin letter
# Words whose full stop does not end a sentence ("Mr. Smith", "Jan. 5", "St. Louis").
_ABBREVIATION_WORDS = (
    "mr mrs ms dr prof st sen rep gov gen lt col sgt capt cmdr adm jr sr inc ltd co corp bros vs no nos "
    "jan feb mar apr jun jul aug sep sept oct nov dec mt ft approx est dept univ"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())


@dataclass(frozen=True, slots=True)
class Snippet:
    """The text to show and the query words in it, as [start, end) ranges of code points in `text`."""

    text: str
    highlights: list[tuple[int, int]]


class _Sentence(NamedTuple):  # a NamedTuple: built for every sentence of every result, so built fast
    start: int
    end: int
    terms: frozenset[str]  # the distinct query words in it (by light stem)
    hits: int


class _Passage:
    """A passage cut into sentences, and the length a choice of them takes once assembled."""

    def __init__(self, text: str, spans: list[tuple[int, int]]) -> None:
        self.text = text
        self.first = len(text) - len(text.lstrip())  # where the words begin and end
        self.last = len(text.rstrip())
        self.sentences = _sentences(text, self.first, self.last, spans)

    def length(self, chosen: list[int]) -> int:
        """Characters of the snippet: sentences, one space or " … " between, ellipses at the ends."""
        order = sorted(chosen)
        sentences = self.sentences
        total = sum(sentences[i].end - sentences[i].start for i in order)
        total += sum(1 if b == a + 1 else 3 for a, b in pairwise(order))
        total += 2 if sentences[order[0]].start > self.first else 0
        total += 2 if sentences[order[-1]].end < self.last else 0
        return total


def snippet(passage: str, highlights: Sequence[tuple[int, int]], target: int = 300) -> Snippet:
    """The best ~`target` characters of `passage` for a reader, given its query-word ranges.

    Never longer than `target` plus 20 %. A passage within that is returned whole; without any
    query word in it, its opening is.
    """
    spans = sorted((s, e) for s, e in highlights if 0 <= s < e <= len(passage))
    limit = int(target * (1 + SLACK))
    if len(passage) <= limit:
        return Snippet(passage, spans)
    layout = _Passage(passage, spans)
    sentences = layout.sentences
    if not sentences:
        return Snippet("", [])
    matched = [i for i, s in enumerate(sentences) if s.hits]
    # The sentence adding the most query words not yet shown, then the one holding most, then the densest.
    chosen: list[int] = []
    covered: frozenset[str] = frozenset()
    while matched:
        best = max(matched, key=lambda i: _rank(sentences[i], covered, i))
        matched.remove(best)
        if layout.length([*chosen, best]) <= (target if chosen else limit):  # the first may run a little long
            chosen.append(best)
            covered |= sentences[best].terms
        elif not chosen:  # too long to show whole: cut it around its query words
            return _window(layout, sentences[best], spans, target)
    if not chosen:  # no query word in the passage: its opening
        if layout.length([0]) > limit:
            return _window(layout, sentences[0], spans, target)
        chosen = [0]
    return _assemble(layout, sorted(_with_context(layout, chosen, target)), spans)


def _rank(sentence: _Sentence, covered: frozenset[str], index: int) -> tuple[int, int, float, int]:
    return (len(sentence.terms - covered), len(sentence.terms), sentence.hits / (sentence.end - sentence.start), -index)


def _sentences(text: str, first: int, last: int, spans: list[tuple[int, int]]) -> list[_Sentence]:
    bounds, start = [], first
    for m in _BOUNDARY.finditer(text, first, last):
        mark = m.group()
        if "\n" not in mark and (not mark[-1].isspace() or not _ends_sentence(text, m.start(), m.end())):
            continue  # "3.5", "U.S. officials", "Mr. Smith"
        end = m.start() + len(mark.rstrip())
        while end > start and text[end - 1].isspace():  # spaces before a line break
            end -= 1
        bounds.append((start, end))
        start = m.end()
    bounds.append((start, last))
    sentences, at = [], 0
    for s, e in bounds:
        while at < len(spans) and spans[at][0] < s:  # a range across a boundary belongs to neither sentence
            at += 1
        inside = []
        while at < len(spans) and spans[at][1] <= e:
            inside.append(spans[at])
            at += 1
        if s < e:
            sentences.append(_Sentence(s, e, frozenset(stem(text[a:b]) for a, b in inside), len(inside)))
    return sentences


def _ends_sentence(text: str, stop: int, next_start: int) -> bool:
    if not _NEXT_STARTS_SENTENCE.match(text, next_start):
        return False  # "e.g. the", "3.5 million" and lower-case continuations
    if text[stop] != ".":
        return True
    word_start = stop
    while word_start > 0 and text[word_start - 1].isalpha():
        word_start -= 1
    word = text[word_start:stop]
    return not (word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper()))  # "U.S.", "J. Smith"


def _with_context(layout: _Passage, chosen: list[int], target: int) -> list[int]:
    """The chosen sentences and their neighbours, while they fit `target`: a snippet reads better whole."""
    chosen = list(chosen)
    while True:
        # The sentence after a chosen one reads on naturally; the one before is the next best context.
        order = sorted(chosen)
        around = [i + 1 for i in order] + [i - 1 for i in order]
        fits = (
            i
            for i in around
            if 0 <= i < len(layout.sentences) and i not in chosen and layout.length([*chosen, i]) <= target
        )
        neighbour = next(fits, None)
        if neighbour is None:
            return chosen
        chosen.append(neighbour)


def _assemble(layout: _Passage, order: list[int], spans: list[tuple[int, int]]) -> Snippet:
    sentences = layout.sentences
    parts: list[str] = []
    pieces: list[tuple[int, int, int]] = []  # (start in passage, end in passage, offset in snippet)
    at = 0
    if sentences[order[0]].start > layout.first:
        parts.append(ELLIPSIS + " ")
        at += 2
    for n, i in enumerate(order):
        if n:
            gap = " " if i == order[n - 1] + 1 else f" {ELLIPSIS} "
            parts.append(gap)
            at += len(gap)
        sentence = sentences[i]
        parts.append(layout.text[sentence.start : sentence.end])
        pieces.append((sentence.start, sentence.end, at))
        at += sentence.end - sentence.start
    if sentences[order[-1]].end < layout.last:
        parts.append(" " + ELLIPSIS)
    return Snippet("".join(parts), _rebase(spans, pieces))


def _window(layout: _Passage, sentence: _Sentence, spans: list[tuple[int, int]], target: int) -> Snippet:
    """About `target` characters of one long sentence, placed to hold the most query words, cut between words."""
    text = layout.text
    width = target - 4  # room for an ellipsis at each end
    inside = [(a, b) for a, b in spans if sentence.start <= a and b <= sentence.end]
    lead = width // 5  # a little of what comes before the first query word
    starts = {max(sentence.start, a - lead) for a, _ in inside} or {sentence.start}

    def held(start: int) -> tuple[int, int, int]:
        words = [text[a:b] for a, b in inside if start <= a and b <= start + width]
        return (len({stem(w) for w in words}), len(words), -start)

    start = max(starts, key=held)
    end = min(sentence.end, start + width)
    if start > sentence.start and not text[start - 1].isspace():
        space = text.find(" ", start, end)
        start = space + 1 if space != -1 else start
    if end < sentence.end and not text[end].isspace():
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    while end > start and text[end - 1].isspace():
        end -= 1
    before = ELLIPSIS + " " if start > layout.first else ""
    after = " " + ELLIPSIS if end < layout.last else ""
    return Snippet(before + text[start:end] + after, _rebase(spans, [(start, end, len(before))]))


def _rebase(spans: list[tuple[int, int]], pieces: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """Passage ranges moved into the snippet; a range in text that was left out is dropped."""
    moved = []
    for a, b in spans:
        for start, end, offset in pieces:
            if start <= a and b <= end:
                moved.append((offset + a - start, offset + b - start))
                break
    return moved
