-- Local users of the demo app. One row per person, created at their first Kakao login.
CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT NULL,
    nickname TEXT NOT NULL,
    profile_image_url TEXT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    last_login_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);

COMMENT ON TABLE users IS 'Local users of the demo app. One row per person, created at their first Kakao login.';
COMMENT ON COLUMN users.id IS 'Primary key; the id kept in the session (as decimal text).';
COMMENT ON COLUMN users.username IS 'Unique login name chosen by the app (kakao_<uid>, with a suffix on collision). Never used to match a Kakao login to an existing user.';
COMMENT ON COLUMN users.email IS 'Email from Kakao, only when Kakao marked it valid and verified; NULL otherwise. Not unique and never used to match a login to an existing user.';
COMMENT ON COLUMN users.nickname IS 'Display name (the Kakao nickname at the last login).';
COMMENT ON COLUMN users.profile_image_url IS 'Kakao profile image URL (NULL for Kakao''s default picture or without consent).';
COMMENT ON COLUMN users.created_at IS 'When the user row was created (first login), UTC.';
COMMENT ON COLUMN users.last_login_at IS 'When the user last logged in, UTC.';
