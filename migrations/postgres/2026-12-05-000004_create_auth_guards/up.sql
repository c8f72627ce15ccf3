-- What every instance must see: SDK sign-in attempt counts, id_token replay markers and
-- token refresh locks (the library's GuardStore). Expired rows are purged by the app.
CREATE TABLE auth_guards (
    "key" TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    counter BIGINT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_guards_expires_at_idx ON auth_guards (expires_at);

COMMENT ON TABLE auth_guards IS 'SDK sign-in attempt counts, id_token replay markers and token refresh locks, shared by every instance. Expired rows are purged by the app.';
COMMENT ON COLUMN auth_guards."key" IS 'The library''s key (sdk-attempts:…, sdk-replay:…, refresh:…).';
COMMENT ON COLUMN auth_guards.value IS 'A marker''s or lock''s value (a lock''s owner), empty for counters.';
COMMENT ON COLUMN auth_guards.counter IS 'A counter''s value, 0 for markers.';
COMMENT ON COLUMN auth_guards.expires_at IS 'When the row stops counting, UTC.';
