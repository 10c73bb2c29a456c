"""The alerts over HTTP: `GET /api/alerts` and `GET /api/alerts/{name}` (read-only, always there), and
`POST /api/alerts` / `DELETE /api/alerts/{name}`, which exist only with a write token and need it, as the
write routes do (401 without `Authorization: Bearer <token>`, 403 with another token).

Webhook URLs are shown cut to scheme and host: their paths often carry a secret.
`check_alerts` is what `POST /api/articles` runs after writing, as a background task.
"""

import logging
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from index.errors import NewsdeskError
from search.alerts import Alert, AlertDetail, Alerts, AlertSpec, CheckReport
from search.alerts.model import NAME
from search.api.deps import SearcherDep, SettingsDep, require_write_token
from search.api.errors import WRITE_RESPONSES, ErrorBody
from search.api.holder import SearcherHolder
from search.api.params import iso_day
from search.query import Mode
from search.settings import Settings

log = logging.getLogger("newsdesk.alerts")

_UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "No alert by that name"}}
_WRITE: dict[int | str, dict[str, Any]] = {
    **WRITE_RESPONSES,
    **_UNKNOWN,
    409: {"model": ErrorBody, "description": "An alert by that name exists already"},
}


# What the schema promises is what is accepted: a query with a visible character (Python's split also
# takes \x1c-\x1f for spaces), an http(s) URL with a host, days as YYYY-MM-DD.
_VISIBLE = r"[^\s\x1c-\x1f]"
_WEBHOOK = r"^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%-]+)(:[0-9]{1,5})?([/?#]\S*)?$"
IsoDay = Annotated[date | None, BeforeValidator(iso_day)]


class AlertIn(BaseModel):
    """A new alert: what `newsdesk alerts add` takes (the query's length limit is set per app)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=f"^{NAME.pattern}$", max_length=64, examples=["tram-line"])
    query: str = Field(pattern=_VISIBLE, examples=["harbor tram line"])
    sources: list[str] = Field(default_factory=list, description="Only these outlets.")
    date_from: IsoDay = Field(None, alias="from", description="Published on or after (YYYY-MM-DD).")
    date_to: IsoDay = Field(None, alias="to", description="Published on or before (YYYY-MM-DD).")
    mode: Mode = "hybrid"
    webhook: str | None = Field(
        None, pattern=_WEBHOOK, examples=["https://hooks.example.com/news"], description="Each new hit is POSTed here."
    )

    def spec(self) -> AlertSpec:
        return AlertSpec(
            self.name, self.query, tuple(self.sources), self.date_from, self.date_to, self.mode, self.webhook
        )


router = APIRouter(tags=["alerts"])


@router.get("/api/alerts", response_model=list[Alert])
def list_alerts(settings: SettingsDep) -> list[Alert]:
    """Every alert, by name, with how many hits it has reported and how many are not yet delivered."""
    return [alert.redacted() for alert in Alerts.of(settings).list()]


@router.get("/api/alerts/{name}", response_model=AlertDetail, responses=_UNKNOWN)
def show_alert(
    settings: SettingsDep, name: str, hits: Annotated[int, Query(ge=1, le=100, description="Hits shown.")] = 20
) -> AlertDetail:
    """One alert and its latest hits, most recent first, each with the state of its webhook delivery."""
    detail = Alerts.of(settings).detail(name, hits)
    return AlertDetail(detail.alert.redacted(), detail.hits)


def write_router(settings: Settings) -> APIRouter:
    """POST and DELETE, bearer-guarded; the query's length limit (`max_query_chars`) is part of the schema."""
    routes = APIRouter(tags=["alerts"], dependencies=[Depends(require_write_token)], responses=_WRITE)

    class NewAlert(AlertIn):
        query: str = Field(pattern=_VISIBLE, max_length=settings.max_query_chars, examples=["harbor tram line"])

    @routes.post("/api/alerts", response_model=Alert, status_code=201)
    def add_alert(searcher: SearcherDep, alert: NewAlert) -> Alert:
        """Create an alert. Nothing is reported now: the articles its search finds today are its backlog;
        each article that later reaches its first page and is new to the index is reported once."""
        return Alerts.of(settings).add(alert.spec(), searcher).redacted()

    @routes.delete("/api/alerts/{name}", response_model=Alert)
    def remove_alert(name: str) -> Alert:
        """Remove an alert and its state (lines already written stay in the lines file)."""
        return Alerts.of(settings).remove(name).redacted()

    return routes


def check_alerts(holder: SearcherHolder, settings: Settings) -> CheckReport:
    """Check the alerts on the holder's live generation (the one a write just published), logging what
    could not be delivered: run after `POST /api/articles`, where no caller is left to answer to."""
    searcher = holder.acquire()
    try:
        report = Alerts.of(settings).check(searcher)
    except NewsdeskError as exc:
        log.warning("alerts check failed: %s", exc)
        return CheckReport(errors=[{"alert": "*", "error": str(exc)}])
    finally:
        holder.release(searcher)
    for problem in report.problems:
        log.warning("alert %s, article %s: %s", problem.alert, problem.article_id, problem.error)
    for error in report.errors:
        log.warning("alert %s: %s", error["alert"], error["error"])
    return report
