-- The session store indexes sessions by the user's id as text, whatever the app's id
-- type (the library's SqlSessionStore).
ALTER TABLE sessions ALTER COLUMN user_id TYPE TEXT USING user_id::text;
COMMENT ON COLUMN sessions.user_id IS 'The logged-in local user''s id as text (users.id in decimal), NULL for anonymous sessions; lets every session of one user be ended. No foreign key: the app ends a user''s sessions when it deletes the user.';
