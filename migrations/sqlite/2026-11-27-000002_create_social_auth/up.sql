-- Links between local users and Kakao accounts (named like social-auth-app-django's table).
-- UNIQUE(provider, uid) makes concurrent first logins of one Kakao id end with one link.
CREATE TABLE social_auth_usersocialauth (
    -- Primary key.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The linked local user; the link goes away with the user.
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The identity provider; always 'kakao' here.
    provider TEXT NOT NULL CHECK (provider <> ''),
    -- The Kakao member id as decimal text (64-bit; never read through a float). Never empty.
    uid TEXT NOT NULL CHECK (uid <> ''),
    -- JSON object: granted scopes, token expiry times, connected_at, Kakao nickname, tokens.
    extra_data TEXT NOT NULL DEFAULT '{}',
    -- When the link was created (first login), UTC.
    created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- When the link was last updated (last login), UTC.
    modified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (provider, uid)
);
-- Lookup of a user's links (and the cascade on user deletion).
CREATE INDEX social_auth_usersocialauth_user_id_idx ON social_auth_usersocialauth (user_id);
