"""GET /api/stats and /api/health: what the live index holds, and whether there is one."""

from dataclasses import dataclass

from fastapi import APIRouter

from search.api.deps import SearcherDep
from search.results import Stats

router = APIRouter(tags=["index"])


@dataclass(slots=True)
class Health:
    status: str
    generation: int
    articles: int


@router.get("/api/stats", response_model=Stats)
def stats(searcher: SearcherDep) -> Stats:
    """Articles, passages, sources with counts, date range and encoder of the live index."""
    return searcher.stats()


@router.get("/api/health", response_model=Health)
def health(searcher: SearcherDep) -> Health:
    """200 when an index is loaded and readable; 503 otherwise."""
    searcher.store.probe()
    counts = searcher.counts()
    return Health(status="ok", generation=searcher.generation.number, articles=counts["articles"])
