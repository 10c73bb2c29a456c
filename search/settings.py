"""Every tunable of the online side in one place (environment variables prefixed NEWSDESK_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.layout import default_index_dir
from search.related_ranking import RelatedSettings


class Settings(BaseSettings):
    """Search and service settings. Fusion values were chosen on questions_dev (see docs/evaluation.md)."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore")

    index: Path = Field(default_factory=default_index_dir)

    # Retrieval and fusion.
    # Chosen on questions_dev over rtqa-5k by 5-fold cross-validation (scripts/tune_fusion.py,
    # docs/evaluation.md): every fold on three builds picked k=5; dense weight 0.6 or 0.75, within one
    # question of each other. BM25 is the stronger single retriever on entity-heavy news questions, so
    # dense counts less; a small k rewards agreement at the top. Held-out MRR@10 0.727 on the current
    # build; the previous 0.75 / k=10 scored 0.721 on all questions.
    rrf_k: float = 5.0
    dense_weight: float = 0.6
    lexical_weight: float = 1.0
    depth: int = 200  # passages taken from each retriever before fusion
    bm25_title_weight: float = 1.0
    bm25_text_weight: float = 1.0
    query_cache_size: int = 1024
    # What matches a question, for sort=newest and facets (search.matches, measured there): a passage at
    # this cosine or closer, or this share of the question's content words in the article.
    match_cosine: float = 0.5
    match_terms: float = 0.6
    # Related articles: dense + more-like-this + time proximity, chosen on stories_dev by
    # scripts/tune_related.py (search.related_ranking.RelatedSettings holds the figures).
    related: RelatedSettings = Field(default_factory=RelatedSettings)

    # Request limits.
    max_query_chars: int = 500
    max_k: int = 100
    max_offset: int = 1000
    max_passages: int = 10
    max_body_bytes: int = 4 * 1024 * 1024  # any request body
    max_articles_per_request: int = 100  # POST /api/articles
    max_article_chars: int = 200_000  # title + text of one posted article

    # Service.
    cors_origins: list[str] = Field(default_factory=list)
    # POST/DELETE /api/articles exist only when this is set; callers send `Authorization: Bearer <token>`.
    write_token: SecretStr | None = None

    # Alerts: the JSON-lines file every hit is appended to (default: alerts.jsonl in the index directory).
    alerts_file: Path | None = None
    # Check the alerts after each POST /api/articles (in the background, once the answer is sent). Off for
    # an app whose writes must not reach webhooks (the fuzz test's), or when cron's `update` checks them.
    alerts_after_write: bool = True
