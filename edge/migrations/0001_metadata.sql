-- Doctown's metadata index (D1). Jobs run in their Durable Objects and docpacks live in R2;
-- these tables say who owns what, and which docpacks are shared.

-- Whoever holds a token. Anonymous until the auth issue adds accounts (email, plan): a token is
-- issued with the first job and stored only as its SHA-256.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE repos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    repo_id INTEGER NOT NULL REFERENCES repos (id),
    git_ref TEXT,
    phase TEXT NOT NULL,
    status TEXT,
    docpack_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_by_user ON jobs (user_id, created_at);

-- A docpack is content-addressed (R2 key docpacks/<id>.docpack) and may be made by several
-- users: access is per owner. Private unless shared: `share_token` is the public link's secret.
CREATE TABLE docpacks (
    id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    job_id TEXT NOT NULL REFERENCES jobs (id),
    repo_id INTEGER NOT NULL REFERENCES repos (id),
    commit_sha TEXT,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    share_token TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (id, user_id)
);
