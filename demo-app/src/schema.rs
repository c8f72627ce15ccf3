//! Diesel table definitions shared by SQLite and PostgreSQL.
//!
//! The `sessions` table is created by the migrations too, but queried only by the
//! library's `SqlSessionStore`, which defines it.
//!
//! Only portable SQL types are used (`BigInt`, `Text`, `Timestamp`), so one schema fits
//! both migration folders (`migrations/sqlite`, `migrations/postgres`). Ids are 64-bit
//! everywhere: SQLite's `INTEGER PRIMARY KEY` is a 64-bit rowid and PostgreSQL uses
//! `BIGINT GENERATED ALWAYS AS IDENTITY`. Timestamps are UTC without a zone.

diesel::table! {
    /// Local users of the demo app, created at their first Kakao login.
    users (id) {
        /// Primary key; the id kept in the session (as decimal text).
        id -> BigInt,
        /// Unique login name chosen by the app (`kakao_<uid>`, suffixed on collision).
        username -> Text,
        /// Valid and verified email from Kakao, if any. Not unique; never matched on.
        email -> Nullable<Text>,
        /// Display name (the Kakao nickname at the last login).
        nickname -> Text,
        /// Kakao profile image URL, if any.
        profile_image_url -> Nullable<Text>,
        /// Creation time (first login), UTC.
        created_at -> Timestamp,
        /// Last login time, UTC.
        last_login_at -> Timestamp,
    }
}

diesel::table! {
    /// Links between local users and Kakao accounts; `UNIQUE(provider, uid)`.
    social_auth_usersocialauth (id) {
        /// Primary key.
        id -> BigInt,
        /// The linked user (`users.id`, `ON DELETE CASCADE`).
        user_id -> BigInt,
        /// Always `"kakao"` here.
        provider -> Text,
        /// The Kakao member id as decimal text, never empty.
        uid -> Text,
        /// JSON object text: scopes, token expiry times, `connected_at`, nickname, tokens.
        extra_data -> Text,
        /// Creation time (first login), UTC.
        created -> Timestamp,
        /// Last update (last login), UTC.
        modified -> Timestamp,
    }
}

diesel::joinable!(social_auth_usersocialauth -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, social_auth_usersocialauth);

diesel::table! {
    /// Attempt counts, replay markers and refresh locks shared by every instance.
    auth_guards (key) {
        /// The library's key.
        key -> Text,
        /// A marker's or lock's value, empty for counters.
        value -> Text,
        /// A counter's value, 0 for markers.
        counter -> BigInt,
        /// Expiry time, UTC.
        expires_at -> Timestamp,
    }
}
