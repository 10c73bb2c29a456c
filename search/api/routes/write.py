"""The write routes: `POST /api/articles` (ingest) and `DELETE /api/articles/{id}`.

They exist only when a write token is configured (NEWSDESK_WRITE_TOKEN); without one the API is
read-only and these paths answer 404 (POST /api/articles) and 405 (DELETE /api/articles/{id}, whose
GET exists). Each call needs `Authorization: Bearer <token>`: 401 without it, 403 with another
token. Each write builds a new generation under the build lock (409 while another build runs); the
server's searcher switches to it on the next request. After a POST the alerts are checked in the
background, once the answer is sent (unless `alerts_after_write` is off).
"""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Depends

from index.build import writing
from index.errors import ArticleNotFoundError, InvalidQueryError, LimitExceededError
from index.maintenance import RemoveReport, remove
from index.model import Article, Skip
from index.readers.records import article_from_record
from index.report import BuildReport
from search.api.deps import HolderDep, require_write_token
from search.api.errors import WRITE_RESPONSES
from search.api.routes.alerts import check_alerts
from search.settings import Settings

EXAMPLE = [
    {
        "title": "Harbor council approves tram line",
        "text": "The council voted 7-2 to build a 12-kilometre tram line to the port.",
        "url": "https://harbor.example/tram",
        "date": "2026-01-05",
        "source": "Harbor Times",
        "authors": "Ana Ruiz",
    }
]


def router(settings: Settings) -> APIRouter:
    """The write routes, bearer-guarded; `settings.max_articles_per_request` is the body's maxItems."""
    routes = APIRouter(tags=["write"], dependencies=[Depends(require_write_token)], responses=WRITE_RESPONSES)
    records_body = Body(
        description="Articles with the JSONL reader's field names "
        "(title|headline, text|content|body, url|link, date|published, authors|author, source|site).",
        examples=[EXAMPLE],
        json_schema_extra={"maxItems": settings.max_articles_per_request},
    )

    @routes.post("/api/articles", response_model=BuildReport)
    def ingest(
        holder: HolderDep, records: Annotated[list[dict[str, Any]], records_body], background: BackgroundTasks
    ) -> BuildReport:
        """Add or update articles, as `newsdesk index` does: unchanged ones cost nothing, and a record
        that cannot be used is skipped and named in the report (`skipped`, path `request[N]`).
        Over a limit the whole request is refused and nothing is written: 422 over
        max_articles_per_request, 413 over max_article_chars or max_body_bytes.
        Once answered, the alerts are checked on the new generation (their hits go to their lines file
        and webhooks, and to `GET /api/alerts/{name}`)."""
        items = _articles(records, settings)
        searcher = holder.get()  # the index must exist; its encoder is reused
        with writing(holder.index_dir, searcher.encoder) as writer:
            writer.add(items)
        if settings.alerts_after_write and writer.report.added + writer.report.updated:
            background.add_task(check_alerts, holder, settings)
        return writer.report

    @routes.delete("/api/articles/{article_id}", response_model=RemoveReport)
    def delete(holder: HolderDep, article_id: str) -> RemoveReport:
        """Remove one article (by id) from the index: its passages, vectors and URLs go with it."""
        holder.get()
        report = remove(holder.index_dir, [article_id])
        if report.not_found:
            raise ArticleNotFoundError(article_id)
        return report

    return routes


def _articles(records: list[dict[str, Any]], settings: Settings) -> list[Article | Skip]:
    """Map the records as the JSONL reader does; a record it cannot use becomes a named skip."""
    if len(records) > settings.max_articles_per_request:
        # 422, not 413: the schema declares this limit (maxItems), so breaking it is invalid input.
        raise InvalidQueryError(
            f"{len(records)} articles in one request; the limit is {settings.max_articles_per_request} "
            "(max_articles_per_request, NEWSDESK_MAX_ARTICLES_PER_REQUEST) — send them in several requests"
        )
    items: list[Article | Skip] = []
    for number, record in enumerate(records):
        item = article_from_record(record, f"request[{number}]")
        if isinstance(item, Article) and len(item.title) + len(item.text) > settings.max_article_chars:
            raise LimitExceededError(
                f"article {number} has {len(item.title) + len(item.text):,} characters of title and text; "
                f"the limit is {settings.max_article_chars:,} (max_article_chars, NEWSDESK_MAX_ARTICLE_CHARS)"
            )
        items.append(item)
    return items
