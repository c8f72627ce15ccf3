-- Server-side session state (the db session store). Expired rows are purged by the app.
CREATE TABLE sessions (
    "key" TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    user_id BIGINT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

COMMENT ON TABLE sessions IS 'Server-side session state (the db session store). Expired rows are purged by the app.';
COMMENT ON COLUMN sessions."key" IS 'The session key: 64 random alphanumeric characters, the value of the session cookie.';
COMMENT ON COLUMN sessions.state IS 'JSON object of the session map (string keys, JSON-encoded string values).';
COMMENT ON COLUMN sessions.user_id IS 'The logged-in local user (users.id), NULL for anonymous sessions; lets every session of one user be ended. No foreign key: the app deletes a user''s sessions together with the user.';
COMMENT ON COLUMN sessions.expires_at IS 'When the session stops being valid, UTC.';
