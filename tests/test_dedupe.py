"""Near-duplicate story grouping: wire copies join one story, same-topic stories and short texts do not."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import dedupe
from index.errors import IndexFormatError

FIXTURES = Path(__file__).parent / "fixtures" / "dedupe"
REPO = Path(__file__).resolve().parents[1]


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


WIRE = fixture("wire_harbor.txt")

# The same wire story as three sites ran it (each under its own headline, which is not part of the body).
SITE_A = WIRE
SITE_B = (  # a regional paper: dateline dropped, a few words rewritten, a credit line added
    WIRE.replace("SAVANNAH BAY, Ore. (AP) — ", "")
    .replace("on Tuesday approved", "approved Tuesday")
    .replace("said board chair Marguerite Olsen, who noted", "board chair Marguerite Olsen said. She noted")
    .replace("9 million", "nine million")
    + "\n\nThe Associated Press contributed to this report."
)
SITE_C = (  # an aggregator: photo caption on top, last paragraph cut, house style for percentages
    "FILE - A container ship waits outside the harbor entrance in Savannah Bay, Ore., on March 3, 2025. "
    "(AP Photo/Lena Fisk, File)\n\n" + "\n\n".join(WIRE.split("\n\n")[:-1]).replace("roughly 40 percent", "about 40%")
)

# Three different transit votes on the same Tuesday; two from one council, written by one paper and
# sharing a background paragraph, names and most of their vocabulary.
COUNCIL = {
    "riverton-brt": fixture("council_riverton.txt"),
    "riverton-fares": fixture("council_riverton_fares.txt"),
    "lakeside-rail": fixture("council_lakeside.txt"),
}


def synthetic(units: range, seed_words: int = 12) -> str:
    """A text made of numbered units of pseudo-random words, so overlaps between texts are exact by design."""
    vocabulary = [f"w{n}" for n in range(400)]
    parts = []
    for unit in units:
        rng = random.Random(unit)
        parts.append(" ".join(rng.choice(vocabulary) for _ in range(seed_words)) + ".")
    return " ".join(parts)


def test_wire_story_on_three_sites_is_one_story():
    signatures = {
        name: dedupe.signature(text) for name, text in (("ap", SITE_A), ("paper", SITE_B), ("aggregator", SITE_C))
    }
    assert dedupe.similarity(signatures["ap"], signatures["paper"]) >= dedupe.THRESHOLD
    assert dedupe.similarity(signatures["ap"], signatures["aggregator"]) >= dedupe.THRESHOLD

    grouper = dedupe.StoryGrouper()
    stories = {name: grouper.assign(name, sig) for name, sig in signatures.items()}
    assert set(stories.values()) == {"ap"}  # the first one seen founds the story, named by its id


def test_same_topic_same_day_stories_are_not_grouped():
    first, second = set(dedupe.words(COUNCIL["riverton-brt"])), set(dedupe.words(COUNCIL["riverton-fares"]))
    # The fixture is a hard case: its word overlap is above that of 99% of independently written
    # same-story pairs from different outlets (AllSides stories_dev: p99 0.37, median 0.21).
    assert len(first & second) / len(first | second) > 0.3

    signatures = {name: dedupe.signature(text) for name, text in COUNCIL.items()}
    for name, sig in signatures.items():
        for other, other_sig in signatures.items():
            if name != other:
                assert dedupe.similarity(sig, other_sig) < 0.2, (name, other)

    grouper = dedupe.StoryGrouper()
    for name, sig in [*signatures.items(), ("ap", dedupe.signature(WIRE))]:
        assert grouper.assign(name, sig) == name


def test_short_texts_are_never_grouped():
    brief = "The city council approved the transit budget on Tuesday. The vote was 7-2. More to come."
    assert len(dedupe.words(brief)) < dedupe.MIN_WORDS
    signature = dedupe.signature(brief)
    assert len(signature) < 16 and dedupe.parse_signature(signature) is None
    assert dedupe.similarity(signature, signature) == 0.0

    grouper = dedupe.StoryGrouper()
    assert [grouper.assign(name, signature) for name in ("one", "two", "three")] == ["one", "two", "three"]
    assert grouper.match(dedupe.signature(WIRE)) is None
    assert len(grouper) == 3


def test_a_text_of_exactly_min_words_is_signed():
    text = " ".join(f"word{n}" for n in range(dedupe.MIN_WORDS))
    assert dedupe.parse_signature(dedupe.signature(text)) is not None
    assert dedupe.parse_signature(dedupe.signature(text.rsplit(" ", 1)[0])) is None


def test_joins_the_best_match_only_and_never_merges_two_stories():
    grouper = dedupe.StoryGrouper(threshold=0.35)  # low, so the estimates below sit far from it
    x, y = dedupe.signature(synthetic(range(0, 40))), dedupe.signature(synthetic(range(25, 65)))
    assert grouper.assign("x", x) == "x"
    # x and y share 15 of 65 units: they collide in some LSH band, yet the Jaccard check keeps them apart.
    rows = dedupe.lsh_rows(0.35)
    x_bands, y_bands = (dedupe.parse_signature(s)[: dedupe.NUM_PERM // rows * rows].reshape(-1, rows) for s in (x, y))
    assert (x_bands == y_bands).all(axis=1).any()
    assert dedupe.similarity(x, y) < 0.35
    assert grouper.assign("y", y) == "y"

    z = dedupe.signature(synthetic(range(4, 50)))  # ~0.72 like x, ~0.41 like y: above the threshold for both
    assert dedupe.similarity(z, x) > dedupe.similarity(z, y) >= 0.35
    found = grouper.match(z)
    assert found is not None and (found.article_id, found.story_id) == ("x", "x")
    assert grouper.assign("z", z) == "x"
    # y keeps its own story, and a near-copy of y (also ~0.39 like z) joins y's story, not the chain's.
    assert grouper.assign("y-copy", dedupe.signature(synthetic(range(26, 65)))) == "y"


def test_a_changed_article_does_not_match_its_old_self():
    grouper = dedupe.StoryGrouper()
    assert grouper.assign("ap", dedupe.signature(SITE_A)) == "ap"
    assert grouper.assign("paper", dedupe.signature(SITE_B)) == "ap"
    # The paper replaces its copy with a different story: it leaves the wire story.
    assert grouper.assign("paper", dedupe.signature(COUNCIL["lakeside-rail"])) == "paper"
    assert len(grouper) == 2


def corpus() -> list[tuple[str, str]]:
    texts = [("ap", SITE_A), *COUNCIL.items(), ("paper", SITE_B), ("brief", "Council meets Tuesday.")]
    texts += [(f"synthetic-{n}", synthetic(range(n * 4, n * 4 + 30))) for n in range(4)]  # neighbours ~0.76
    texts += [(f"apart-{n}", synthetic(range(1000 + n * 15, 1000 + n * 15 + 30))) for n in range(4)]  # ~0.33
    texts += [("aggregator", SITE_C), ("riverton-brt-update", COUNCIL["riverton-brt"] + " Updated at 9 p.m.")]
    return [(name, text) for name, text in texts]


def test_incremental_build_matches_one_pass():
    signed = [(name, dedupe.signature(text)) for name, text in corpus()]
    one_pass = dedupe.StoryGrouper()
    expected = {name: one_pass.assign(name, sig) for name, sig in signed}
    assert expected["paper"] == expected["aggregator"] == "ap"
    assert expected["riverton-brt-update"] == "riverton-brt"
    # A chain: each joins its best match (the one before it), so all end up in the first one's story.
    assert expected["synthetic-1"] == expected["synthetic-2"] == expected["synthetic-3"] == "synthetic-0"
    assert [expected[f"apart-{n}"] for n in range(4)] == [f"apart-{n}" for n in range(4)]
    assert len(set(expected.values())) < len(expected)

    for cut in (1, 5, 9, len(signed) - 1):
        first = dedupe.StoryGrouper()
        stored = [(name, first.assign(name, sig), sig) for name, sig in signed[:cut]]
        random.Random(cut).shuffle(stored)  # the store hands triples back in its own order
        second = dedupe.StoryGrouper(stored)
        got = {name: story for name, story, _ in stored}
        got.update((name, second.assign(name, sig)) for name, sig in signed[cut:])
        assert got == expected, cut


def test_many_articles_across_bucket_merges():
    """Enough articles to move LSH buckets from the recent dict into the sorted arrays."""
    texts = [synthetic(range(n * 7, n * 7 + 20), seed_words=6) for n in range(2600)]
    signatures = [dedupe.signature(t) for t in texts]
    grouper = dedupe.StoryGrouper(threshold=0.5)
    stories = [grouper.assign(f"a{n:05d}", sig) for n, sig in enumerate(signatures)]
    # Neighbours share 13 of 27 units (~0.48 Jaccard, near the threshold): whatever was grouped, the
    # same texts again must each find their original, whether its buckets are sorted or recent.
    triples = [(f"a{n:05d}", story, sig) for n, (story, sig) in enumerate(zip(stories, signatures, strict=True))]
    again = dedupe.StoryGrouper(triples, threshold=0.5)
    for n in range(0, 2600, 97):  # 0..2037 were merged into sorted arrays in `grouper`, the rest are recent
        for built in (grouper, again):
            found = built.match(signatures[n])
            assert found is not None and found.similarity == 1.0 and found.article_id == f"a{n:05d}"


def test_signature_round_trips_through_bytes():
    signature = dedupe.signature(WIRE)
    assert isinstance(signature, bytes) and len(signature) == 7 + 4 * dedupe.NUM_PERM
    stored = bytes(memoryview(bytearray(signature)))  # as it comes back from a SQLite BLOB
    assert stored == signature
    assert dedupe.similarity(stored, signature) == 1.0
    values = dedupe.parse_signature(stored)
    assert values is not None and values.dtype == np.uint32 and len(values) == dedupe.NUM_PERM
    grouper = dedupe.StoryGrouper([("ap", "story-1", stored)])
    assert grouper.assign("paper", dedupe.signature(SITE_B)) == "story-1"


def test_signature_is_the_same_in_another_process():
    """Signatures are persisted, so they must not depend on Python's per-process hash seed."""
    code = "import sys; from index import dedupe; sys.stdout.write(dedupe.signature(sys.stdin.read()).hex())"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], input=WIRE, capture_output=True, text=True, cwd=REPO, env=env, check=True
    ).stdout
    assert bytes.fromhex(out) == dedupe.signature(WIRE)


def test_normalization_ignores_case_punctuation_and_spacing():
    noisy = WIRE.upper().replace(",", " ,").replace("\n\n", "\n").replace("'", "’")
    assert dedupe.signature(noisy) == dedupe.signature(WIRE)


def test_foreign_signatures_are_refused_with_a_fix():
    good = dedupe.signature(WIRE)
    for bad in (b"", b"XX" + good[2:], good[:2] + bytes([99]) + good[3:], good[:-4]):
        with pytest.raises(IndexFormatError, match="rebuild the index"):
            dedupe.parse_signature(bad)
    with pytest.raises(IndexFormatError):
        dedupe.StoryGrouper([("a", "a", good[:-4])])


def test_lsh_rows_catch_pairs_just_under_the_threshold():
    rows = dedupe.lsh_rows(dedupe.THRESHOLD)
    bands = dedupe.NUM_PERM // rows
    assert (rows, bands) == (4, 64)
    assert 1 - (1 - (dedupe.THRESHOLD - 0.05) ** rows) ** bands >= 0.99
