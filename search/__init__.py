"""The online side of newsdesk: searcher, HTTP API and CLI."""

from search.searcher import Filters, Searcher

__all__ = ["Filters", "Searcher"]
