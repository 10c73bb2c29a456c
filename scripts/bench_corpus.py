"""The synthetic news corpus of scripts/bench_scale.py: generated, never copied from ../shared/data.

Article number n is a function of (seed, n) alone, so a corpus of 100k passages is the start of the corpus of
1M and shards written once are reused (`corpus_slice`). Each article: 8-12 paragraphs of 600-1,200
characters, each one passage (between 101 and 200 of the stand-in's word pieces, so the chunker neither
splits nor merges them: the passage count is known before indexing); a title; one of 50 outlets (Zipf
weights); a date and time over ten years (2016-2025); one or two authors; a URL. Sentences draw words from a
Zipf-distributed vocabulary (English function words first, then 200,000 generated words that look like
words), mixed with the words of the article's cluster and topic (see scripts/bench_stand_in.py: the words
decide the stand-in's vector). 3% of articles are another outlet's copy of a recent one under a new headline,
with its last sentence edited: story grouping has near-copies to find, as in real news.
"""

from __future__ import annotations

import json
import string
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling, when imported by file (tests)
from bench_stand_in import CLUSTERS_PER_TOPIC, LABELS, STOPWORDS, count_tokens, label_of, spelled

VOCABULARY = 200_000
ARTICLES_PER_SHARD = 1_000
OUTLETS = 50
COPY_SHARE = 0.03
PARAGRAPHS = (8, 12)  # per article, both included
PARAGRAPH_CHARS = (600, 1_200)
PARAGRAPH_TOKENS = (101, 200)  # two never fit the chunker's budget of 200 together; one always does
FIRST_DAY = datetime(2016, 1, 1, tzinfo=UTC)
DAYS = 3_653
# Syllables weighted towards English shapes: single consonants and vowels mostly, so words average 5-6 letters.
ONSETS = spelled("- - b c d f g h k l m n p r s t v w b c d l m n p r s t bl br ch cl cr dr fl fr gr pl pr sh st th tr")
VOWELS = spelled("a e i o u a e i o u a e i o ea ai ou oo y")
CODAS = spelled("- - - - - - n r s t l d m n r s t nd nt st ng ck rt")
SUFFIXES = spelled("- - - - - - - - - s s ed ing er ly al tion")
PAPERS = spelled("Herald Times Post Tribune Journal Gazette Chronicle Observer Courier Ledger Sentinel Dispatch Review")


def _syllable(rng: np.random.Generator) -> str:
    parts = (ONSETS[rng.integers(len(ONSETS))], VOWELS[rng.integers(len(VOWELS))], CODAS[rng.integers(len(CODAS))])
    return "".join(p for p in parts if p != "-")


def _cumulative(count: int, exponent: float, offset: float = 1.0) -> np.ndarray:
    weights = 1.0 / (np.arange(count) + offset) ** exponent
    return np.cumsum(weights / weights.sum())


@dataclass
class Vocabulary:
    """The words by rank (most frequent first), their Zipf law, and the words of each cluster and topic with
    a Zipf law of their own (ranks and cumulative weights)."""

    words: list[str]
    cumulative: np.ndarray  # Zipf-Mandelbrot over ranks
    by_label: list[tuple[np.ndarray, np.ndarray]]
    by_topic: list[tuple[np.ndarray, np.ndarray]]

    @classmethod
    def generate(cls, size: int = VOCABULARY, seed: int = 0) -> Vocabulary:
        rng = np.random.default_rng([seed, 7])
        words, seen = list(STOPWORDS), set(STOPWORDS)
        while len(words) < size:
            # Frequent words are short: one syllable near the top ranks, up to three among the rarest.
            batch = 4096
            rare = np.minimum(1.0, (len(words) + np.arange(batch)) / size)
            syllables = 1 + (rng.random(batch) < 0.35 + 0.45 * rare) + (rng.random(batch) < 0.25 * rare)
            parts = [rng.integers(len(table), size=(batch, 3)) for table in (ONSETS, VOWELS, CODAS)]
            suffixes = rng.integers(len(SUFFIXES), size=batch)
            for i in range(batch):
                word = "".join(
                    ONSETS[parts[0][i, j]] + VOWELS[parts[1][i, j]] + CODAS[parts[2][i, j]] for j in range(syllables[i])
                ).replace("-", "")
                if syllables[i] < 3:
                    word += SUFFIXES[suffixes[i]].replace("-", "")
                if len(word) > 1 and word not in seen and len(words) < size:
                    seen.add(word)
                    words.append(word)
        first = len(STOPWORDS)
        labels = np.array([label_of(w) for w in words[first:]])
        order = np.argsort(labels, kind="stable") + first
        edges = np.searchsorted(labels[order - first], np.arange(LABELS + 1))
        by_label = [order[edges[i] : edges[i + 1]] for i in range(LABELS)]
        by_topic = [
            np.sort(np.concatenate(by_label[t * CLUSTERS_PER_TOPIC : (t + 1) * CLUSTERS_PER_TOPIC]))
            for t in range(LABELS // CLUSTERS_PER_TOPIC)
        ]
        return cls(
            words,
            _cumulative(len(words), 1.0, 2.7),
            [(pool, _cumulative(len(pool), 1.0)) for pool in by_label],
            [(pool, _cumulative(len(pool), 1.0)) for pool in by_topic],
        )

    def draw(self, rng: np.random.Generator, label: int, count: int, own: float, topical: float) -> list[str]:
        """`count` words: a share `own` from the label's words, `topical` from its topic's, the rest from all."""
        source = rng.random(count)
        ranks = np.searchsorted(self.cumulative, rng.random(count))
        for (pool, cumulative), chosen in (
            (self.by_topic[label // CLUSTERS_PER_TOPIC], source < own + topical),
            (self.by_label[label], source < own),
        ):
            picks = int(chosen.sum())
            if picks and len(pool):
                ranks[chosen] = pool[np.minimum(np.searchsorted(cumulative, rng.random(picks)), len(pool) - 1)]
        words = self.words
        return [words[r] for r in np.minimum(ranks, len(words) - 1).tolist()]


class WordStream:
    """One article's words, drawn a block at a time (few numpy calls per article), with a roll per word that
    decides its punctuation."""

    BLOCK = 1024

    def __init__(self, vocabulary: Vocabulary, rng: np.random.Generator, label: int) -> None:
        self.vocabulary, self.rng, self.label = vocabulary, rng, label
        self.words: list[str] = []
        self.rolls: list[float] = []

    def take(self, count: int) -> tuple[list[str], list[float]]:
        if len(self.words) < count:
            self.words += self.vocabulary.draw(self.rng, self.label, self.BLOCK, own=0.22, topical=0.08)
            self.rolls += self.rng.random(self.BLOCK).tolist()
        words, rolls = self.words[:count], self.rolls[:count]
        del self.words[:count], self.rolls[:count]
        return words, rolls


class Corpus:
    """Articles by number, for one seed. Cheap to make; the vocabulary is generated on first use."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        names = np.random.default_rng([seed, 11])
        self.outlets = []
        for _ in range(OUTLETS):
            place = "".join(_syllable(names) for _ in range(2)).capitalize()
            self.outlets.append((f"The {place} {PAPERS[names.integers(len(PAPERS))]}", place.lower()))
        self.outlet_cumulative = _cumulative(OUTLETS, 0.8)
        self.first_names = ["".join(_syllable(names) for _ in range(2)).capitalize() for _ in range(400)]
        self.last_names = ["".join(_syllable(names) for _ in range(3)).capitalize() for _ in range(2000)]

    @cached_property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary.generate(seed=self.seed)

    def _plan(self, number: int) -> tuple[np.random.Generator, int | None, int]:
        """The article's generator, the number of the article it copies (or None), its paragraph count."""
        rng = np.random.default_rng([self.seed, number])
        copies = number - int(rng.integers(1, 50)) if rng.random() < COPY_SHARE else -1
        paragraphs = int(rng.integers(PARAGRAPHS[0], PARAGRAPHS[1] + 1))
        if copies >= 0:
            return rng, copies, self._plan(copies)[2]
        return rng, None, paragraphs

    def passages(self, number: int) -> int:
        """How many passages article `number` makes (without writing it)."""
        return self._plan(number)[2]

    def article(self, number: int) -> dict[str, object]:
        """Article `number` as a JSON Lines record (the field names exports use)."""
        rng, copies, paragraphs = self._plan(number)
        if copies is not None:
            record = self.article(copies)
            label = self._label_of_text(str(record["text"]))
            record["text"] = self._edited(rng, str(record["text"]), label)
        else:
            label = self._label(rng)
            stream = WordStream(self.vocabulary, rng, label)
            record = {"text": "\n\n".join(self._paragraph(stream) for _ in range(paragraphs))}
        outlet, domain = self.outlets[int(np.searchsorted(self.outlet_cumulative, rng.random()))]
        when = FIRST_DAY + timedelta(days=int(rng.integers(DAYS)), minutes=int(rng.integers(24 * 60)))
        title = self._title(rng, label)
        slug = "-".join(title.lower().translate(str.maketrans("", "", string.punctuation)).split()[:6])
        authors = [f"{self._pick(rng, self.first_names)} {self._pick(rng, self.last_names)}"]
        if rng.random() < 0.2:
            authors.append(f"{self._pick(rng, self.first_names)} {self._pick(rng, self.last_names)}")
        return record | {
            "title": title,
            "url": f"https://www.{domain}.example/{when:%Y/%m/%d}/{slug}-{number}",
            "source": outlet,
            "published": when.isoformat(),
            "authors": authors,
        }

    @staticmethod
    def _pick(rng: np.random.Generator, items: list[str]) -> str:
        return items[int(rng.integers(len(items)))]

    @staticmethod
    def _label(rng: np.random.Generator) -> int:
        return int(np.searchsorted(_cumulative(LABELS, 0.5), rng.random()))  # uneven cluster sizes, as bench_ann's

    def _label_of_text(self, text: str) -> int:
        """A copy's new headline stays on its original's cluster: the label its first words vote for."""
        words = [w.strip(string.punctuation).lower() for w in text.split()[:60]]
        votes = np.bincount([label_of(w) for w in words if w and w not in STOPWORDS], minlength=LABELS)
        return int(votes.argmax())

    def _edited(self, rng: np.random.Generator, text: str, label: int) -> str:
        """A copy's light edit: a few words of its last paragraph replaced, word for word (the passage keeps
        its word-piece count, so the copy makes as many passages as its original)."""
        head, _, last = text.rpartition("\n\n")
        words = last.split(" ")
        plain = [i for i, w in enumerate(words) if w.isalpha() and w.islower()]
        for i, word in zip(
            rng.choice(plain, size=min(3, len(plain)), replace=False),
            self.vocabulary.draw(rng, label, 3, 0.5, 0.2),
            strict=False,
        ):
            words[int(i)] = word
        return f"{head}\n\n{' '.join(words)}" if head else " ".join(words)

    def _sentence(self, stream: WordStream) -> str:
        rng = stream.rng
        words, rolls = stream.take(int(rng.integers(8, 31)))
        for i in range(1, len(words) - 1):
            if rolls[i] < 0.06:
                words[i] += ","
            elif rolls[i] < 0.07:
                words[i] = str(int(rolls[i] * 1e6) % 2_000 + 2)
            elif rolls[i] < 0.08:
                words[i] = str(1990 + int(rolls[i] * 1e6) % 36)
        sentence = " ".join(words)
        if rolls[0] < 0.12:
            name = f"{self._pick(rng, self.first_names)} {self._pick(rng, self.last_names)}"
            return f'"{sentence[0].upper()}{sentence[1:]}," said {name}.'
        return f"{sentence[0].upper()}{sentence[1:]}."

    def _paragraph(self, stream: WordStream) -> str:
        """Sentences up to a length drawn from PARAGRAPH_CHARS, within PARAGRAPH_TOKENS."""
        target = int(stream.rng.integers(PARAGRAPH_CHARS[0], PARAGRAPH_CHARS[1] + 1))
        sentences: list[str] = []
        chars = tokens = misses = 0
        while misses < 4:
            sentence = self._sentence(stream)
            size = count_tokens([sentence])[0]
            fits = tokens + size <= PARAGRAPH_TOKENS[1] and chars + len(sentence) <= target
            if fits or tokens < PARAGRAPH_TOKENS[0]:  # a short paragraph takes it: the budget has room for two
                sentences.append(sentence)
                chars += len(sentence) + 1
                tokens += size
            else:
                misses += 1  # a shorter sentence may still fit
        return " ".join(sentences)

    def _title(self, rng: np.random.Generator, label: int) -> str:
        words = self.vocabulary.draw(rng, label, int(rng.integers(6, 13)), own=0.45, topical=0.15)
        return " ".join([words[0].capitalize(), *(w.capitalize() if rng.random() < 0.25 else w for w in words[1:])])

    # --- queries and changes ---------------------------------------------------------------------------

    def queries(self, articles: int, count: int) -> list[str]:
        """Search texts from the first `articles` articles: half titles, half 5-12 words of a sentence."""
        rng = np.random.default_rng([self.seed, 13])
        texts = []
        for i, number in enumerate(rng.choice(articles, size=min(count, articles), replace=False)):
            record = self.article(int(number))
            if i % 2 == 0:
                texts.append(str(record["title"]))
                continue
            sentences = str(record["text"]).replace("\n\n", " ").split(". ")
            words = sentences[int(rng.integers(len(sentences)))].strip('."').split()
            texts.append(" ".join(words[: int(rng.integers(5, 13))]).strip(',"'))
        return texts

    def urls(self, articles: int, count: int) -> list[str]:
        """URLs of `count` of the first `articles` articles, for removal."""
        rng = np.random.default_rng([self.seed, 17])
        return [
            str(self.article(int(n))["url"]) for n in rng.choice(articles, size=min(count, articles), replace=False)
        ]

    def new_articles(self, count: int) -> list[dict[str, object]]:
        """`count` articles no corpus slice holds (numbered from 2**40): an update's."""
        return [self.article(2**40 + i) for i in range(count)]


@dataclass(frozen=True)
class CorpusSlice:
    """The first `articles` articles of a corpus, as JSON Lines files, and the passages they make."""

    paths: list[Path]
    articles: int
    passages: int
    generated_seconds: float


def articles_for(corpus: Corpus, passages: int) -> tuple[int, int]:
    """(articles, their passages): the fewest first articles making at least `passages` passages."""
    articles = total = 0
    while total < passages:
        total += corpus.passages(articles)
        articles += 1
    return articles, total


def write_jsonl(path: Path, records: list[dict[str, object]]) -> None:
    """Write records as JSON Lines through a temporary file, so a killed run leaves no half shard."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    tmp.replace(path)


def corpus_slice(corpus: Corpus, passages: int, directory: Path) -> CorpusSlice:
    """The JSON Lines files of the first articles making `passages` passages, written to `directory` unless
    already there: full shards of ARTICLES_PER_SHARD articles, and the first articles of the next one."""
    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    articles, total = articles_for(corpus, passages)
    full, rest = divmod(articles, ARTICLES_PER_SHARD)
    paths = []
    for shard in range(full + (1 if rest else 0)):
        first = shard * ARTICLES_PER_SHARD
        count = ARTICLES_PER_SHARD if shard < full else rest
        path = directory / (
            f"shard-{shard:05d}.jsonl" if count == ARTICLES_PER_SHARD else f"head-{first + count}.jsonl"
        )
        if not path.is_file():
            write_jsonl(path, [corpus.article(n) for n in range(first, first + count)])
        paths.append(path)
    return CorpusSlice(paths, articles, total, time.perf_counter() - started)
