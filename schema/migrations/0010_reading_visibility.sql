-- Who sees each reader's shelves, progress and reading history: EVERYONE, FOLLOWERS or
-- ONLY_ME (ReadingVisibilityChanged). The gateway reads it on every read of another reader's
-- reading, so tightening it also hides what was already fanned out to feeds.
ALTER TABLE readers ADD COLUMN reading_visibility text NOT NULL DEFAULT 'EVERYONE';
