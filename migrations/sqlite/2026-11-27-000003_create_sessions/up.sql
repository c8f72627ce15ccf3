-- Server-side session state (the `db` session store). Expired rows are purged by the app.
CREATE TABLE sessions (
    -- The session key: 64 random alphanumeric characters, the value of the session cookie.
    "key" TEXT PRIMARY KEY NOT NULL,
    -- JSON object of the session map (string keys, JSON-encoded string values).
    state TEXT NOT NULL,
    -- The logged-in local user (users.id), NULL for anonymous sessions; lets every
    -- session of one user be ended. No foreign key: the app deletes a user's sessions
    -- together with the user.
    user_id INTEGER NULL,
    -- When the session stops being valid, UTC.
    expires_at TIMESTAMP NOT NULL
);
-- Purging expired sessions.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
-- Ending every session of one user.
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
