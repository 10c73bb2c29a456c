"""Highlighting marks the words that carry the question, not "much", "new" or "said"; BM25 keeps its terms."""

from __future__ import annotations

from search.highlight import highlight_spans, query_terms

PASSAGE = (
    "The new Gannet Ridge offshore wind farm delivered much more power than expected, the operator said. "
    "What did the grid say? How the news was received: the power price fell."
)


def marked(question: str, text: str = PASSAGE) -> list[str]:
    return [text[s:e] for s, e in highlight_spans(text, query_terms(question))]


def test_words_without_meaning_are_not_highlighted():
    words = marked("How much power does the new offshore wind farm deliver, and what did they say?")
    assert words == ["offshore", "wind", "farm", "delivered", "power", "power"]
    assert not {"new", "much", "what", "the", "how", "did", "said", "say"} & {w.lower() for w in words}


def test_a_question_of_only_such_words_marks_nothing():
    assert marked("what did they say and how much was new?") == []


def test_a_meaningful_word_stemming_like_a_stopword_is_still_marked():
    # "news" and "new" share a light stem; only the word that means something is marked.
    assert marked("grid news") == ["grid", "news"]


def test_the_bm25_query_keeps_every_term_it_had():
    # query_terms builds the lexical (BM25) query: highlighting must not change what retrieval receives,
    # so these stay exactly as they were before highlighting learned its own stopwords.
    assert query_terms("How much power does the new offshore wind farm deliver?") == [
        "power",
        "new",
        "offshore",
        "wind",
        "farm",
        "deliver",
    ]
    assert query_terms("What did the mayor say about the latest news, according to reports?") == [
        "mayor",
        "say",
        "latest",
        "news",
        "according",
        "reports",
    ]
