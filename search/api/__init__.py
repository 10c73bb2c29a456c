"""The HTTP API (FastAPI). Build it with `create_app(settings)`; the index is opened at startup.

Every error leaves as one JSON shape: {"error": {"status": 422, "type": "invalid_query", "message": "..."}}.
"""

from search.api.app import create_app

__all__ = ["create_app"]
