CREATE TABLE sessions_old (
    "key" TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    user_id INTEGER NULL,
    expires_at TIMESTAMP NOT NULL
);
-- Sessions of users whose id is not a number cannot be kept.
INSERT INTO sessions_old ("key", state, user_id, expires_at)
    SELECT "key", state, CAST(user_id AS INTEGER), expires_at FROM sessions
    WHERE user_id IS NULL OR user_id GLOB '[0-9]*';
DROP TABLE sessions;
ALTER TABLE sessions_old RENAME TO sessions;
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
