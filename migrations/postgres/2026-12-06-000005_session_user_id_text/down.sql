DELETE FROM sessions WHERE user_id IS NOT NULL AND user_id !~ '^[0-9]+$';
ALTER TABLE sessions ALTER COLUMN user_id TYPE BIGINT USING user_id::bigint;
COMMENT ON COLUMN sessions.user_id IS 'The logged-in local user (users.id), NULL for anonymous sessions; lets every session of one user be ended. No foreign key: the app deletes a user''s sessions together with the user.';
