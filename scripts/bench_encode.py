"""Encoding speed and agreement of the torch fp32 and int8 backends on real news passages.

    python scripts/bench_encode.py [--n 2000] [--data ../shared/data] [--batch-size 64] [--block 250]

Passages are cut from `eval/rtqa-5k.jsonl.gz` the way the index build cuts them (title as context).
Both backends run in this one process, warmed up first, alternating over blocks of passages so a
change in the machine's load hits both alike. Prints passages/s of each, the speed ratio, and the
mean / min cosine between the two backends' vectors for the same passage.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index.chunking import TITLE_CHARS, ChunkingParams, chunk_text, encoder_input  # noqa: E402
from index.encoders import Encoder, load_encoder  # noqa: E402

DATA = REPO.parent / "shared" / "data"
CORPUS = Path("eval") / "rtqa-5k.jsonl.gz"


def passages(path: Path, encoder: Encoder, limit: int) -> Iterator[str]:
    """Encoder inputs (title + passage) from the articles in `path`, in file order, at most `limit`."""
    params = ChunkingParams().fitted(encoder.max_tokens)
    produced = 0
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            article = json.loads(line)
            text, title = article.get("text") or "", article.get("title") or ""
            for passage in chunk_text(f"a{number}", text, params, encoder.count_tokens):
                yield encoder_input(title, passage.text, TITLE_CHARS)
                produced += 1
                if produced >= limit:
                    return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder (default: %(default)s)")
    parser.add_argument("--n", type=int, default=2000, help="passages to encode (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--block", type=int, default=250, help="passages per turn of each backend")
    parser.add_argument("--model", default=None, help="model name or folder (default: the bundled MiniLM)")
    args = parser.parse_args()
    corpus = args.data / CORPUS
    if not corpus.is_file():
        print(f"skipped: {corpus} not found (this benchmark needs ../shared/data)")
        return 0

    backends = {"torch": load_encoder(args.model, "torch"), "int8": load_encoder(args.model, "int8")}
    texts = list(passages(corpus, backends["torch"], args.n))
    tokens = backends["torch"].count_tokens(texts)
    print(
        f"{len(texts)} passages from {corpus.name}: {np.mean(tokens):.0f} word pieces on average "
        f"(min {min(tokens)}, max {max(tokens)}); batch size {args.batch_size}; {os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    for encoder in backends.values():  # warm-up: first calls allocate and pick kernels
        encoder.encode(texts[: args.batch_size], batch_size=args.batch_size)
    seconds = dict.fromkeys(backends, 0.0)
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in backends}
    for begin in range(0, len(texts), args.block):
        block = texts[begin : begin + args.block]
        for name, encoder in backends.items():
            started = time.perf_counter()
            vectors[name].append(encoder.encode(block, batch_size=args.batch_size))
            seconds[name] += time.perf_counter() - started

    for name, spent in seconds.items():
        print(f"{name:>6}: {len(texts) / spent:7.1f} passages/s  ({spent:.1f} s)")
    print(f" ratio: int8 is {seconds['torch'] / seconds['int8']:.2f}× torch fp32")
    cosine = (np.concatenate(vectors["torch"]) * np.concatenate(vectors["int8"])).sum(axis=1)
    print(
        f"cosine int8 vs torch: mean {cosine.mean():.4f}, min {cosine.min():.4f}, "
        f"share below 0.98: {(cosine < 0.98).mean():.2%}; load average now {os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
