"""The SQLite schema of an index's `news.sqlite` (created by `index.store.Store`).

Format 2 keeps one store per index, updated in place (WAL): rows only. Passage vectors live in the
segments (index/segments.py), passage texts are spans of their article's text (kept compressed), and the
BM25 postings are in the segments too, so there is no FTS5 table. `meta` holds the generation a commit
published.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,                         -- 'format', 'generation', 'manifest' (JSON)
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    url TEXT,
    canonical_url TEXT,
    title TEXT NOT NULL,
    source TEXT,
    authors TEXT NOT NULL DEFAULT '[]',          -- JSON list of names
    published TEXT,                               -- ISO 8601
    language TEXT,
    text BLOB NOT NULL,                           -- zlib-compressed UTF-8: read it through Store (unpack_text)
    content_hash TEXT NOT NULL,
    story_id TEXT,
    signature BLOB,                               -- MinHash of the body, for story grouping
    origin TEXT,
    first_seen TEXT NOT NULL,
    updated TEXT
);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
CREATE INDEX IF NOT EXISTS articles_source_date ON articles(source, published);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);

CREATE TABLE IF NOT EXISTS article_urls (
    url TEXT PRIMARY KEY,                         -- canonical form
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    original TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS article_urls_article ON article_urls(article_id);
-- A URL exactly as it was seen (Store.resolve_id), without scanning the table
CREATE INDEX IF NOT EXISTS article_urls_original ON article_urls(original);

CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,                       -- the vector's and the postings' id in the segments
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,                       -- the passage is the article's text[start:end]
    end INTEGER NOT NULL,
    input_hash TEXT NOT NULL                      -- hash of what the encoder saw: equal hash, reusable vector
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id, ordinal);
CREATE INDEX IF NOT EXISTS passages_input ON passages(input_hash);

CREATE TABLE IF NOT EXISTS stories (
    id TEXT PRIMARY KEY,
    size INTEGER NOT NULL
);

-- MinHash LSH band keys of every article long enough to group: a new article finds its near-copies by
-- an indexed lookup of its own keys, so an update never loads every signature.
CREATE TABLE IF NOT EXISTS story_bands (
    key INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (key, article_id)
) WITHOUT ROWID;
"""
