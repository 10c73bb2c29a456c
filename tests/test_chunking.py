"""Chunk bounds and offsets, counted with the encoder's own tokenizer."""

from __future__ import annotations

import itertools

from index.chunking import ChunkingParams, chunk_text, encoder_input


def _article(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)


def test_passages_cover_the_text_with_exact_offsets_and_fit_the_encoder(encoder):
    long_paragraph = " ".join(
        f"Sentence number {i} reports that the harbour authority moved {i * 3} containers on day {i}."
        for i in range(60)
    )
    run_on = " ".join(["word"] * 700)  # one sentence far over budget: must be cut between words
    text = _article(["Short lead.", "Another short one.", long_paragraph, run_on, "Closing line."])
    params = ChunkingParams().fitted(encoder.max_tokens)
    passages = chunk_text("a1", text, params, encoder.count_tokens)

    assert [p.ordinal for p in passages] == list(range(len(passages)))
    for passage in passages:
        assert text[passage.start : passage.end] == passage.text
        assert encoder.count_tokens([passage.text])[0] <= params.max_tokens
        with_title = encoder_input("A title of moderate length for the article", passage.text, 160)
        assert encoder.count_tokens([with_title])[0] + 2 <= encoder.max_tokens
    # Nothing is lost: every word of the article is inside some passage, in order.
    assert " ".join(" ".join(p.text.split()) for p in passages) == " ".join(text.split())
    assert all(b.start >= a.end for a, b in itertools.pairwise(passages))


def test_short_paragraphs_are_merged_and_long_ones_split_at_sentences(encoder):
    params = ChunkingParams(max_tokens=60)
    short = ["The mayor spoke.", "Residents cheered.", "The vote is Friday."]
    passages = chunk_text("a1", _article(short), params, encoder.count_tokens)
    assert len(passages) == 1 and passages[0].text == _article(short)

    sentences = [f"The committee heard evidence from witness number {i} about the contract." for i in range(12)]
    passages = chunk_text("a2", " ".join(sentences), params, encoder.count_tokens)
    assert len(passages) > 1
    assert all(p.text.endswith(".") for p in passages)  # cuts fall between sentences


def test_title_is_given_to_the_encoder_as_context():
    assert encoder_input("Kremlin says territory is key", "Talks lasted four hours.", 160) == (
        "Kremlin says territory is key. Talks lasted four hours."
    )
    assert encoder_input("Is peace near?", "Talks went on.", 160) == "Is peace near? Talks went on."
    assert encoder_input("", "Body only.", 160) == "Body only."
