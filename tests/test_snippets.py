"""Result snippets: the sentences of a passage that answer the question, about 300 characters of them."""

from __future__ import annotations

import random
import re

import pytest

from search.highlight import highlight_spans, query_terms
from search.snippets import ELLIPSIS, Snippet, snippet

FILLER = [
    "The council met on Tuesday evening in the old town hall, where the public gallery was full.",
    "Residents asked about road repairs, library opening hours and the cost of the summer festival.",
    "Several members said the budget for the coming year would be tight after two wet winters.",
    "A petition about parking near the primary school was handed in before the meeting began.",
    "The meeting ran for more than three hours and ended shortly before eleven at night.",
    "Officials promised written answers to the questions that could not be dealt with on the night.",
]
ANSWER = "Mr. Ortiz said the district heating network would be approved in March and built by 2027."


def shown(question: str, passage: str, target: int = 300) -> Snippet:
    return snippet(passage, highlight_spans(passage, query_terms(question)), target)


def marked(result: Snippet) -> list[str]:
    return [result.text[s:e] for s, e in result.highlights]


def test_the_matching_sentence_is_shown_even_when_it_is_the_last():
    passage = " ".join([*FILLER, ANSWER])
    result = shown("When will the district heating network be approved?", passage)
    assert ANSWER in result.text  # whole, "Mr." did not end the sentence
    assert result.text.startswith(ELLIPSIS + " ") and not result.text.endswith(ELLIPSIS)
    assert {"district", "heating", "network", "approved"} <= set(marked(result))
    assert len(result.text) <= 360


def test_highlights_point_at_every_query_word_in_the_snippet_and_nothing_else():
    passage = " ".join([FILLER[0], ANSWER, *FILLER[1:4], "Heating bills rose by a fifth this winter.", *FILLER[4:]])
    question = "district heating network approved"
    result = shown(question, passage)
    assert result.highlights
    assert result.highlights == highlight_spans(result.text, query_terms(question))
    assert all(word.lower() in {"district", "heating", "network", "approved"} for word in marked(result))


def test_sentences_keep_passage_order_and_gaps_are_marked():
    passage = " ".join(["Wind farm output hit a record in January.", *FILLER, "The wind farm will add ten turbines."])
    result = shown("wind farm output turbines", passage)
    first, last = result.text.find("Wind farm output"), result.text.find("The wind farm will")
    assert 0 <= first < last
    assert f" {ELLIPSIS} " in result.text[first:last]  # the filler between them was left out


def test_the_sentence_with_more_of_the_question_wins_over_repetition():
    padding = " and the crowd on the quay watched the boats come in" * 3
    repeats = "Wind, wind and more wind battered the coast on Sunday" + padding + "."
    answer = "The offshore wind farm delivered its full output of 900 megawatts" + padding + "."
    result = shown("offshore wind farm output", " ".join([repeats, *FILLER[:3], answer]))
    assert "offshore wind farm delivered its full output" in result.text
    assert "more wind battered" not in result.text


@pytest.mark.parametrize("seed", range(20))
def test_length_stays_near_the_target_for_any_passage(seed):
    rng = random.Random(seed)
    sentences = [rng.choice(FILLER) for _ in range(rng.randint(4, 12))]
    sentences.insert(rng.randrange(len(sentences) + 1), ANSWER)
    passage = " ".join(sentences)
    for target in (160, 300):
        result = shown("district heating network", passage, target)
        assert len(result.text) <= target * 1.2
        assert len(result.text) >= target * 0.5 or len(passage) <= target * 1.2
        assert "heating" in marked(result)


def test_a_long_sentence_is_cut_between_words_around_the_match():
    before = " ".join(f"word{i}" for i in range(120))
    after = " ".join(f"tail{i}" for i in range(120))
    passage = f"{FILLER[0]} Then {before} the harbour ferry timetable changes next month {after}."
    result = shown("harbour ferry timetable", passage)
    assert result.text.startswith(ELLIPSIS + " ") and result.text.endswith(" " + ELLIPSIS)
    assert marked(result) == ["harbour", "ferry", "timetable"]
    inner = result.text[2:-2]
    at = passage.find(inner)
    assert at > 0, "the snippet is one stretch of the passage"
    assert passage[at - 1] == " " and passage[at + len(inner)] == " ", "cut between words"
    assert len(result.text) <= 300


def test_without_a_match_the_passage_opening_is_shown():
    passage = " ".join(FILLER * 2)
    result = shown("volcano eruption", passage)
    assert result.text.startswith(FILLER[0])
    assert result.text.endswith(" " + ELLIPSIS)
    assert result.highlights == []
    assert len(result.text) <= 360


def test_a_short_passage_is_shown_whole():
    passage = " ".join([FILLER[0], ANSWER])
    spans = highlight_spans(passage, query_terms("district heating"))
    assert snippet(passage, spans) == Snippet(passage, spans)


def test_paragraph_breaks_end_sentences_and_text_is_not_lost_inside_one():
    headline = "District heating approved"
    passage = headline + "\n\n" + " ".join(FILLER) + "\n" + ANSWER
    result = shown("district heating", passage)
    assert result.text.startswith(headline)
    assert ANSWER in result.text
    for piece in re.split(f" ?{ELLIPSIS} ?", result.text):
        assert piece in passage.replace("\n\n", " ").replace("\n", " ")


def test_offsets_count_code_points():
    passage = " ".join([*FILLER, "Le réseau de chaleur 🔥 de Zürich sera approuvé en mars, a dit la maire."])
    result = shown("Zürich réseau approuvé", passage)
    assert marked(result) == ["réseau", "Zürich", "approuvé"]


def test_empty_and_blank_passages():
    assert snippet("", []) == Snippet("", [])
    assert snippet(" " * 1000, []) == Snippet("", [])
