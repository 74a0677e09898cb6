-- Stream messages a projection could not apply (or read), set aside so it goes on with the
-- rest: its checkpoint moves past them, and every later message on the same subject (the same
-- aggregate) waits here behind them, so one aggregate's events are never applied out of order.
-- An admin's `retryDeadLetters` applies them again, in stream order, once the cause is fixed.
CREATE TABLE dead_letters (
    projection text        NOT NULL,
    position   bigint      NOT NULL,
    subject    text        NOT NULL,
    error      text        NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now(),
    attempts   integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (projection, position)
);
CREATE INDEX dead_letters_by_subject ON dead_letters (projection, subject);
