"""The SQLite schema of a generation's `news.sqlite` (created by `index.store.Store`)."""

from __future__ import annotations

from index.lexical import FTS_TOKENIZER

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    url TEXT,
    canonical_url TEXT,
    title TEXT NOT NULL,
    source TEXT,
    authors TEXT NOT NULL DEFAULT '[]',          -- JSON list of names
    published TEXT,                               -- ISO 8601
    language TEXT,
    text TEXT NOT NULL,
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

CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,                       -- also the vector's id in vectors.faiss
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    input_hash TEXT NOT NULL,                     -- hash of what the encoder saw: equal hash, reusable vector
    vector BLOB NOT NULL                          -- float32, L2-normalized
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id, ordinal);
CREATE INDEX IF NOT EXISTS passages_input ON passages(input_hash);

-- Contentless: the text already lives in `passages`; rows are removed with the 'delete' command.
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    title, text, content='', tokenize='{FTS_TOKENIZER}'
);

CREATE TABLE IF NOT EXISTS stories (
    id TEXT PRIMARY KEY,
    size INTEGER NOT NULL
);
"""
