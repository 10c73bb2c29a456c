"""Alerts: standing searches checked after every update, each new article on their first page reported once.

    from search.alerts import Alerts, AlertSpec
    alerts = Alerts(index_dir)                       # state in index_dir/alerts.sqlite
    alerts.add(AlertSpec("tram", "harbor tram line", sources=("Harbor Times",)), searcher)
    report = alerts.check(searcher)                  # or check_index(index_dir, encoder) after a build

Modules: `model` (specs, alerts, hits, reports, errors), `store` (the SQLite file), `matching` (the backlog
and the "new since" rule), `delivery` (lines file and webhook), `service` (the `Alerts` facade and its lock).
"""

from search.alerts.delivery import RetryPolicy
from search.alerts.model import (
    Alert,
    AlertDetail,
    AlertExistsError,
    AlertNotFoundError,
    AlertsBusyError,
    AlertSpec,
    CheckReport,
    DeliveryProblem,
    Hit,
)
from search.alerts.service import Alerts, check_index

__all__ = [
    "Alert",
    "AlertDetail",
    "AlertExistsError",
    "AlertNotFoundError",
    "AlertSpec",
    "Alerts",
    "AlertsBusyError",
    "CheckReport",
    "DeliveryProblem",
    "Hit",
    "RetryPolicy",
    "check_index",
]
