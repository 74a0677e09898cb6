-- Failed sign-ins per handle (known or not), shared by every social instance: past a few,
-- attempts wait, and the wait grows (services/social/src/throttle.rs).
CREATE TABLE social_sign_in_failures (
    handle_key     text PRIMARY KEY,
    failures       integer NOT NULL,
    last_failed_at timestamptz NOT NULL DEFAULT now(),
    delayed_until  timestamptz NOT NULL DEFAULT now()
);

-- Devices an account signed in on (their tokens' SHA-256): their attempts are never delayed
-- by someone else's failures.
CREATE TABLE social_devices (
    device_hash bytea PRIMARY KEY,
    reader_id   uuid NOT NULL,
    -- Wrong passwords sent from this device since its last success.
    failures    integer NOT NULL DEFAULT 0,
    last_used   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX social_devices_by_reader ON social_devices (reader_id);

-- Every refresh token a session spent: any of them presented again means a copy is in
-- someone else's hands, and ends the session (revocation by family). Kept with the session.
CREATE TABLE social_spent_refresh_tokens (
    refresh_hash bytea PRIMARY KEY,
    session_id   uuid NOT NULL REFERENCES social_sessions ON DELETE CASCADE,
    spent_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX social_spent_refresh_tokens_by_session ON social_spent_refresh_tokens (session_id, spent_at);
INSERT INTO social_spent_refresh_tokens (refresh_hash, session_id)
    SELECT replaced_hash, session_id FROM social_sessions WHERE replaced_hash IS NOT NULL;
ALTER TABLE social_sessions DROP COLUMN replaced_hash;
