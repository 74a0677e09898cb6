-- Signed-in sessions, the social service's own table, never in the log. A session holds the
-- hash (SHA-256) of its one current refresh token and of the one it replaced: the current one
-- is traded once for the next; the replaced one, seen again, means the token was copied, and
-- ends the session (refresh-token rotation with reuse detection).
CREATE TABLE social_sessions (
    session_id    uuid PRIMARY KEY,
    reader_id     uuid NOT NULL REFERENCES social_credentials (reader_id),
    refresh_hash  bytea NOT NULL UNIQUE,
    replaced_hash bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    refreshed_at  timestamptz NOT NULL DEFAULT now(),
    -- Idle expiry: each refresh moves it on.
    expires_at    timestamptz NOT NULL,
    ended_at      timestamptz
);
CREATE INDEX social_sessions_by_reader ON social_sessions (reader_id) WHERE ended_at IS NULL;
CREATE INDEX social_sessions_by_replaced_hash ON social_sessions (replaced_hash);
