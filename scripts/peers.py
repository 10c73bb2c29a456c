"""What a user would build instead of newsdesk, on newsdesk's own passages: the peers of the benchmarks.

- plain: sentence-transformers + a flat FAISS inner-product index, written with a passages JSONL
- txtai: `Embeddings(content=True, hybrid=True)` (dense + its own BM25)
- bm25s: BM25 with English stopwords, and a Snowball stemmer when PyStemmer is installed

Every peer indexes exactly the texts newsdesk embeds (title + passage, see `newsdesk_passages`), so
differences come from the systems, not from chunking. scripts/bench_index.py times the index builds,
each in a child process running this file:

    python scripts/peers.py plain|txtai --passages var/bench/passages.jsonl --out DIR --model DIR

and scripts/bench_query.py times queries against them. Heavy libraries are imported inside the functions
that need them, so a child pays for its own peer's imports only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PASSAGES_FILE = "passages.jsonl"
TXTAI_DIR = "txtai"

# A peer's search for `query` returning passage ids, best first, at most `limit` of them.
PassageSearch = Callable[[str, int], list[int]]


@dataclass(frozen=True, slots=True)
class PeerPassage:
    """One passage as the peers see it: newsdesk's passage id, its article's id and link, the encoder input."""

    id: int
    article: str
    url: str | None
    text: str


def newsdesk_passages(index_dir: Path) -> list[PeerPassage]:
    """The passages of a newsdesk index with the exact text its encoder saw, in passage id order.

    The text is rebuilt with `encoder_input` and checked against the input hash the build stored, so a
    peer never embeds something newsdesk did not."""
    from index.chunking import TITLE_CHARS, encoder_input, input_hash  # the build's own: must match exactly
    from index.errors import NewsdeskError
    from index.layout import open_generation
    from index.store import Store

    manifest, generation = open_generation(index_dir)
    # The manifest records token budgets only; the title's character cut is the build's constant.
    title_chars = int(manifest.get("chunking", {}).get("title_chars", TITLE_CHARS))
    store = Store(generation.sqlite, readonly=True)
    try:
        passages, mismatched = [], 0
        for row in store.passages_with_titles():
            encoded = encoder_input(row.title, row.text, title_chars)
            mismatched += input_hash(encoded) != row.input_hash
            passages.append(PeerPassage(int(row.id), row.article_id, row.url, encoded))
    finally:
        store.close()
    if mismatched:
        raise NewsdeskError(
            f"{mismatched} of {len(passages)} passages in {index_dir} do not rebuild to the text the encoder saw "
            "(title_chars or encoder_input changed since the build?) — rebuild the index"
        )
    return passages


def write_passages(passages: Iterable[PeerPassage], path: Path) -> int:
    count = 0
    with Path(path).open("w", encoding="utf-8") as handle:
        for passage in passages:
            handle.write(json.dumps(asdict(passage), ensure_ascii=False) + "\n")
            count += 1
    return count


def read_passages(path: Path) -> list[PeerPassage]:
    with Path(path).open(encoding="utf-8") as handle:
        return [PeerPassage(**json.loads(line)) for line in handle if line.strip()]


def load_passages(workdir: Path, index_dir: Path) -> tuple[list[PeerPassage], str]:
    """The benchmark's passages file when bench_index wrote one, else the newsdesk index's own passages."""
    path = Path(workdir) / PASSAGES_FILE
    if path.is_file():
        return read_passages(path), str(path)
    return newsdesk_passages(index_dir), f"{index_dir} (no {path})"


# --- building the peer indexes ---------------------------------------------------------------------


def build_plain(passages_path: Path, out: Path, model_dir: Path) -> int:
    """The few lines a user would write: embed, flat inner-product index, passages beside it."""
    import faiss
    from sentence_transformers import SentenceTransformer

    passages = read_passages(passages_path)
    model = SentenceTransformer(str(model_dir), device="cpu")
    vectors = model.encode([p.text for p in passages], batch_size=32, normalize_embeddings=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    out.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(out / "index.faiss"))
    write_passages(passages, out / PASSAGES_FILE)  # row i of the index is line i: the index is usable alone
    return len(passages)


def build_txtai(passages: list[PeerPassage], out: Path, model_dir: Path):
    """txtai with its defaults for a hybrid content index; the url is kept so a hit links to its article."""
    from txtai import Embeddings

    embeddings = Embeddings(path=str(model_dir), content=True, hybrid=True)
    embeddings.index({"id": p.id, "text": p.text, "url": p.url} for p in passages)
    embeddings.save(str(out))
    return embeddings


def load_txtai(path: Path, dense_only: bool = False):
    """A saved txtai index; `dense_only` drops its BM25 side at load, so queries skip it entirely."""
    from txtai import Embeddings

    embeddings = Embeddings()
    embeddings.load(str(path))
    if dense_only and embeddings.scoring is not None:
        # txtai has no load option that leaves the sparse index out. Without it, search() is a plain
        # vector search over the same ANN index (the order `weights=1.0` gives, without also paying for
        # a BM25 pass whose scores would be thrown away): what a dense-only txtai user runs.
        embeddings.scoring.close()
        embeddings.scoring = None
    return embeddings


def txtai_search(embeddings) -> PassageSearch:
    def search(query: str, limit: int) -> list[int]:
        return [int(hit["id"]) for hit in embeddings.search(query, limit)]

    return search


def stemmer():
    """PyStemmer's English Snowball stemmer (what bm25s documents), or None when it is not installed."""
    try:
        import Stemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english")


def build_bm25s(passages: list[PeerPassage]) -> PassageSearch:
    import bm25s

    stem = stemmer()
    retriever = bm25s.BM25()
    corpus = bm25s.tokenize([p.text for p in passages], stopwords="en", stemmer=stem, show_progress=False)
    retriever.index(corpus, show_progress=False)
    ids = [p.id for p in passages]

    def search(query: str, limit: int) -> list[int]:
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=stem, return_ids=False, show_progress=False)
        if not any(token in retriever.vocab_dict for token in tokens[0]):
            return []
        found, scores = retriever.retrieve(tokens, k=min(limit, len(ids)), show_progress=False)
        # bm25s fills k with documents that match no query term (score 0): those are not hits.
        return [ids[i] for i, score in zip(found[0], scores[0], strict=True) if score > 0]

    return search


# --- from passage hits to articles ---------------------------------------------------------------


class ArticleRanker:
    """Turns a peer's passage ranking into an article ranking the way newsdesk ranks articles: an
    article ranks where its best passage does, each counted once, urls canonicalized."""

    def __init__(self, passages: Iterable[PeerPassage], first_pool: int = 50) -> None:
        from index.normalize import canonical_url

        # An article without a url still counts once, under its id (it can never be a relevant hit).
        self.url_of = {p.id: canonical_url(p.url) or f"article:{p.article}" for p in passages}
        self.first_pool = first_pool
        self.short = 0  # queries that ended with fewer than k articles (the peer ran out of hits)

    def top_articles(self, search: PassageSearch, query: str, k: int = 10) -> list[str]:
        """The first k distinct article urls. Like newsdesk's depth, the passage pool grows fourfold
        while it holds fewer than k articles and the peer still had more to give."""
        pool = self.first_pool
        while True:
            ids = search(query, pool)
            urls = list(dict.fromkeys(self.url_of[i] for i in ids))
            if len(urls) >= k or len(ids) < pool or pool >= len(self.url_of):
                break
            pool *= 4
        if len(urls) < k:
            self.short += 1
        return urls[:k]


def rank_of(urls: list[str], relevant: set[str]) -> int | None:
    """1-based rank of the first relevant article url."""
    return next((rank for rank, url in enumerate(urls, start=1) if url in relevant), None)


# --- a peer build as a child process (scripts/bench_index.py) ------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description="Build one peer index (a leg of scripts/bench_index.py).")
    parser.add_argument("peer", choices=["plain", "txtai"])
    parser.add_argument("--passages", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True, help="the sentence-transformers model folder")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.peer == "plain":
        count = build_plain(args.passages, args.out, args.model)
    else:
        count = build_txtai(read_passages(args.passages), args.out, args.model).count()
    import torch

    report = {"passages": count, "torch_threads": torch.get_num_threads(), "seconds": time.perf_counter() - started}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
