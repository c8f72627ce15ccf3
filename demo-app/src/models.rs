//! Row types: a read struct and a write struct per table.
//!
//! Times are [`NaiveDateTime`] in UTC (see [`now_utc`]).

use chrono::{NaiveDateTime, SubsecRound as _, Utc};
use diesel::prelude::*;

use crate::schema::{social_auth_usersocialauth, users};

/// The provider name stored in `social_auth_usersocialauth.provider`.
pub const KAKAO_PROVIDER: &str = "kakao";

/// The current time in UTC, at microsecond precision (what both databases keep).
pub fn now_utc() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A row of `users`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// Unique login name (`kakao_<uid>` or a suffixed variant).
    pub username: String,
    /// Valid and verified email from Kakao, if any.
    pub email: Option<String>,
    /// Display name (the Kakao nickname at the last login).
    pub nickname: String,
    /// Kakao profile image URL, if any.
    pub profile_image_url: Option<String>,
    /// Creation time (first login), UTC.
    pub created_at: NaiveDateTime,
    /// Last login time, UTC.
    pub last_login_at: NaiveDateTime,
}

impl actix_kakao_auth::store::AuthUser for User {
    type Id = i64;

    /// The primary key.
    fn id(&self) -> i64 {
        self.id
    }
}

/// A new row of `users` (the id is assigned by the database).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Unique login name.
    pub username: &'a str,
    /// Valid and verified email, if any.
    pub email: Option<&'a str>,
    /// Display name.
    pub nickname: &'a str,
    /// Profile image URL, if any.
    pub profile_image_url: Option<&'a str>,
    /// Creation time, UTC.
    pub created_at: NaiveDateTime,
    /// Last login time, UTC.
    pub last_login_at: NaiveDateTime,
}

diesel::define_sql_function! {
    /// `COALESCE(fresh, kept)`: the value a login brought, else the stored one. Written
    /// into one fixed `UPDATE`, so SQLite prepares it once per connection (a changeset
    /// that skips absent fields is a different statement each time, never cached).
    #[sql_name = "COALESCE"]
    fn fresh_or(fresh: diesel::sql_types::Nullable<diesel::sql_types::Text>, kept: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// [`fresh_or`] for a nullable column.
    #[sql_name = "COALESCE"]
    fn fresh_or_null(fresh: diesel::sql_types::Nullable<diesel::sql_types::Text>, kept: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// A row of `social_auth_usersocialauth`: one Kakao account linked to one user.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = social_auth_usersocialauth)]
#[diesel(belongs_to(User))]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct SocialAuth {
    /// Primary key.
    pub id: i64,
    /// The linked user.
    pub user_id: i64,
    /// `kakao` or `naver`.
    pub provider: String,
    /// The account's id there as text.
    pub uid: String,
    /// JSON object text (see `store::extra_data`).
    pub extra_data: String,
    /// Creation time, UTC.
    pub created: NaiveDateTime,
    /// Last update, UTC.
    pub modified: NaiveDateTime,
}

/// A new row of `social_auth_usersocialauth`.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = social_auth_usersocialauth)]
pub struct NewSocialAuth<'a> {
    /// The linked user.
    pub user_id: i64,
    /// `kakao` or `naver`.
    pub provider: &'a str,
    /// The account's id there as text (never empty): Kakao's member number in decimal,
    /// Naver's pairwise id as sent.
    pub uid: &'a str,
    /// JSON object text.
    pub extra_data: &'a str,
    /// Creation time, UTC.
    pub created: NaiveDateTime,
    /// Last update, UTC.
    pub modified: NaiveDateTime,
}

/// The link fields refreshed at each login.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = social_auth_usersocialauth)]
pub struct LinkLoginUpdate<'a> {
    /// The fresh JSON object text.
    pub extra_data: &'a str,
    /// The login time, UTC.
    pub modified: NaiveDateTime,
}
