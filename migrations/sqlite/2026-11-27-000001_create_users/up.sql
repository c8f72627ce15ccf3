-- Local users of the demo app. One row per person, created at their first Kakao login.
-- Times are UTC, written by the app as 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
CREATE TABLE users (
    -- Primary key; the id kept in the session (as decimal text).
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Unique login name chosen by the app ('kakao_<uid>', with a suffix on collision).
    -- Never used to match a Kakao login to an existing user.
    username TEXT NOT NULL UNIQUE,
    -- Email from Kakao, only when Kakao marked it valid and verified; NULL otherwise.
    -- Not unique and never used to match a login to an existing user.
    email TEXT NULL,
    -- Display name (the Kakao nickname at the last login).
    nickname TEXT NOT NULL,
    -- Kakao profile image URL (NULL for Kakao's default picture or without consent).
    profile_image_url TEXT NULL,
    -- When the user row was created (first login), UTC.
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- When the user last logged in, UTC.
    last_login_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
