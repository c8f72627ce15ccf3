-- What every instance must see: SDK sign-in attempt counts, id_token replay markers and
-- token refresh locks (the library's GuardStore). Expired rows are purged by the app.
CREATE TABLE auth_guards (
    -- The library's key (`sdk-attempts:…`, `sdk-replay:…`, `refresh:…`).
    "key" TEXT PRIMARY KEY NOT NULL,
    -- A marker's or lock's value (a lock's owner), empty for counters.
    value TEXT NOT NULL,
    -- A counter's value, 0 for markers.
    counter BIGINT NOT NULL,
    -- When the row stops counting, UTC.
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_guards_expires_at_idx ON auth_guards (expires_at);
