-- Links between local users and Kakao accounts (named like social-auth-app-django's table).
CREATE TABLE social_auth_usersocialauth (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL CHECK (provider <> ''),
    uid TEXT NOT NULL CHECK (uid <> ''),
    extra_data TEXT NOT NULL DEFAULT '{}',
    created TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    modified TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    CONSTRAINT social_auth_usersocialauth_provider_uid_key UNIQUE (provider, uid)
);
CREATE INDEX social_auth_usersocialauth_user_id_idx ON social_auth_usersocialauth (user_id);

COMMENT ON TABLE social_auth_usersocialauth IS 'Links between local users and Kakao accounts. UNIQUE(provider, uid) makes concurrent first logins of one Kakao id end with one link.';
COMMENT ON COLUMN social_auth_usersocialauth.id IS 'Primary key.';
COMMENT ON COLUMN social_auth_usersocialauth.user_id IS 'The linked local user; the link goes away with the user.';
COMMENT ON COLUMN social_auth_usersocialauth.provider IS 'The identity provider; always kakao here.';
COMMENT ON COLUMN social_auth_usersocialauth.uid IS 'The Kakao member id as decimal text (64-bit; never read through a float). Never empty.';
COMMENT ON COLUMN social_auth_usersocialauth.extra_data IS 'JSON object: granted scopes, token expiry times, connected_at, Kakao nickname, tokens.';
COMMENT ON COLUMN social_auth_usersocialauth.created IS 'When the link was created (first login), UTC.';
COMMENT ON COLUMN social_auth_usersocialauth.modified IS 'When the link was last updated (last login), UTC.';
