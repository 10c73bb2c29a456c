"""Split an article into passages the encoder can read whole.

Paragraphs are the unit: short ones are merged up to the budget, long ones are split at sentence
boundaries (and, for a run-on sentence, at word boundaries). Token counts come from the encoder's
own tokenizer, so no passage is ever truncated by the model.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from index.model import Passage

CountTokens = Callable[[Sequence[str]], list[int]]

TITLE_CHARS = 160  # ~32 word pieces of title given to the encoder as context

_PARAGRAPH = re.compile(r"[^\n]+(?:\n[^\n]+)*")
# A sentence ends at . ! ? (optionally followed by a closing quote or bracket) before whitespace and
# an opening capital, digit or quote. Abbreviations like "U.S. officials" occasionally split; that only
# costs a slightly earlier passage break, never lost text.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class ChunkingParams:
    """Passage budget in word pieces. Recorded in the manifest; changing it re-chunks on the next build."""

    max_tokens: int = 200  # passage text alone; the title is added as context on top
    title_tokens: int = 32  # the title is cut to this before it is prefixed for the encoder

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def fitted(self, encoder_max_tokens: int) -> ChunkingParams:
        """Shrink the passage budget so title + passage + [CLS]/[SEP] fits the encoder."""
        room = encoder_max_tokens - self.title_tokens - 3
        return ChunkingParams(max_tokens=min(self.max_tokens, room), title_tokens=self.title_tokens)


def _spans(pattern: re.Pattern[str], text: str, offset: int) -> list[tuple[int, int]]:
    return [(offset + m.start(), offset + m.end()) for m in pattern.finditer(text)]


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, begin = [], start
    for match in _SENTENCE_END.finditer(text, start, end):
        spans.append((begin, match.start()))
        begin = match.end()
    spans.append((begin, end))
    return [(s, e) for s, e in spans if e > s]


def _split_words(text: str, start: int, end: int, budget: int, count: CountTokens) -> list[tuple[int, int]]:
    """Last resort for a sentence over budget: cut between words, measuring each word's pieces."""
    words = _spans(_WORD, text[start:end], start)
    sizes = count([text[s:e] for s, e in words])
    spans: list[tuple[int, int]] = []
    begin, end, used = words[0][0], words[0][0], 0
    for (s, e), size in zip(words, sizes, strict=True):
        if used and used + size > budget:
            spans.append((begin, end))
            begin, used = s, 0
        used += size
        end = e
    spans.append((begin, end))
    return spans


def _units(text: str, budget: int, count: CountTokens) -> list[tuple[int, int, int]]:
    """(start, end, tokens) pieces, each within budget, in text order."""
    paragraphs = _spans(_PARAGRAPH, text, 0)
    sizes = count([text[s:e] for s, e in paragraphs])
    units: list[tuple[int, int, int]] = []
    for (start, end), size in zip(paragraphs, sizes, strict=True):
        if size <= budget:
            units.append((start, end, size))
            continue
        sentences = _sentence_spans(text, start, end)
        for (s, e), n in zip(sentences, count([text[s:e] for s, e in sentences]), strict=True):
            if n <= budget:
                units.append((s, e, n))
            else:
                pieces = _split_words(text, s, e, budget, count)
                units.extend(
                    (ps, pe, n) for (ps, pe), n in zip(pieces, count([text[ps:pe] for ps, pe in pieces]), strict=True)
                )
    return units


def chunk_text(article_id: str, text: str, params: ChunkingParams, count: CountTokens) -> list[Passage]:
    """Passages covering `text` in order, each with `text[start:end] == passage.text`.

    Units are merged greedily; word pieces are added up per unit, which matches the tokenizer
    because BERT-style tokenizers split on whitespace before they split words.
    """
    passages: list[Passage] = []
    current: list[tuple[int, int, int]] = []

    def flush() -> None:
        if current:
            start, end = current[0][0], current[-1][1]
            passages.append(Passage(article_id, len(passages), start, end, text[start:end]))
            current.clear()

    used = 0
    for unit in _units(text, params.max_tokens, count):
        # +1 stands for the separator between merged units, which may be a piece of its own.
        if current and used + unit[2] + 1 > params.max_tokens:
            flush()
            used = 0
        current.append(unit)
        used += unit[2] + (1 if len(current) > 1 else 0)
    flush()
    return passages


def encoder_input(title: str, passage_text: str, title_chars: int) -> str:
    """What the encoder sees for a passage: the article title as context, then the passage."""
    title = title.strip()
    if len(title) > title_chars:
        title = title[:title_chars].rsplit(" ", 1)[0]
    if not title:
        return passage_text
    separator = " " if title[-1] in ".!?:" else ". "
    return f"{title}{separator}{passage_text}"


def input_hash(encoder_text: str) -> str:
    """The key a passage's vector is stored and reused under: a hash of exactly what the encoder saw
    (`encoder_input`). Equal hash, equal vector."""
    return hashlib.sha256(encoder_text.encode()).hexdigest()[:32]
