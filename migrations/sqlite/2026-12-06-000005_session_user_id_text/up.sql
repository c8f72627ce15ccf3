-- The session store indexes sessions by the user's id as text, whatever the app's id
-- type (the library's SqlSessionStore). SQLite cannot change a column's type: the table
-- is rebuilt with its rows, as a WITHOUT ROWID table (keyed by the session key alone: one
-- B-tree fewer to write at every login).
CREATE TABLE sessions_new (
    -- The session key: 64 random alphanumeric characters, the value of the session cookie.
    "key" TEXT PRIMARY KEY NOT NULL,
    -- JSON object of the session map (string keys, JSON-encoded string values).
    state TEXT NOT NULL,
    -- The logged-in local user's id as text (users.id in decimal), NULL for anonymous
    -- sessions; lets every session of one user be ended. No foreign key: the app ends a
    -- user's sessions when it deletes the user.
    user_id TEXT NULL,
    -- When the session stops being valid, UTC.
    expires_at TIMESTAMP NOT NULL
) WITHOUT ROWID;
INSERT INTO sessions_new ("key", state, user_id, expires_at)
    SELECT "key", state, CAST(user_id AS TEXT), expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
