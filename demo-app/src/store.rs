//! [`DieselUserStore`]: the demo's [`UserStore`], on SQLite or PostgreSQL.
//!
//! A Kakao login maps to a local user only through `social_auth_usersocialauth`
//! (`provider = 'kakao'`, `uid` = the Kakao id). A user is never found by username,
//! nickname or email (CVE-2025-61783). The first login creates the user and the link in
//! one transaction; when two first logins of one Kakao id race, the loser's transaction
//! hits a unique constraint, is rolled back whole, and the retry reads the winner's user.

use std::sync::Arc;

use actix_kakao_auth::store::{
    Link, LinkOutcome, LinkStore, Provider, SocialLogin, Tokens, UserStore,
};
use actix_kakao_auth::store::{TokenCipher, TokenCryptoError};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::RunQueryDsl;

use crate::db::{Db, DbError};
use crate::db_run;
use crate::link_data::LinkData;
use crate::models::{
    fresh_or, fresh_or_null, now_utc, LinkLoginUpdate, NewSocialAuth, NewUser, SocialAuth, User,
    KAKAO_PROVIDER,
};
use crate::schema::{social_auth_usersocialauth as links, users};
use crate::sessions::Sessions;

/// How many times a first login is tried when it keeps hitting unique constraints.
const MAX_ATTEMPTS: u32 = 5;

/// The nickname of a new user when Kakao sent none.
const DEFAULT_NICKNAME: &str = "Kakao user";

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No database connection could be had.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] DieselError),
    /// A token could not be sealed.
    #[error(transparent)]
    Crypto(#[from] TokenCryptoError),
    /// The session store failed.
    #[error("session store failed: {0}")]
    Sessions(String),
    /// Every attempt to create the user hit a uniqueness conflict.
    #[error(
        "Kakao id {uid}: gave up after {attempts} attempts that all hit a uniqueness conflict"
    )]
    Contended {
        /// The Kakao id.
        uid: String,
        /// Attempts made.
        attempts: u32,
    },
}

impl StoreError {
    fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// Users and their Kakao links in the app's database.
#[derive(Debug, Clone)]
pub struct DieselUserStore {
    db: Db,
    cipher: Arc<TokenCipher>,
    users: Arc<crate::user_cache::UserCache>,
    sessions: Option<Sessions>,
}

/// What one login writes, computed once before the transaction.
#[derive(Debug)]
struct LoginRecord {
    provider: &'static str,
    uid: String,
    nickname: Option<String>,
    email: Option<String>,
    profile_image_url: Option<String>,
    extra_data: String,
}

impl LoginRecord {
    /// The link row that ties this login's account to `user_id`, made at `now`.
    fn new_link(&self, user_id: i64, now: chrono::NaiveDateTime) -> NewSocialAuth<'_> {
        NewSocialAuth {
            user_id,
            provider: self.provider,
            uid: &self.uid,
            extra_data: &self.extra_data,
            created: now,
            modified: now,
        }
    }

    fn new(login: &SocialLogin, cipher: &TokenCipher) -> Result<Self, TokenCryptoError> {
        Ok(Self {
            provider: login.provider().as_str(),
            uid: login.uid(),
            nickname: login.user.nickname().map(str::to_owned),
            email: login.user.verified_email().map(str::to_owned),
            profile_image_url: login.user.profile_image_url().map(str::to_owned),
            extra_data: LinkData::try_from_login(login, cipher)?.to_text(),
        })
    }
}

/// The username for a new user: `<provider>_<uid>`, or `<provider>_<uid>_<n>` with the
/// smallest `n ≥ 2` that no one in `taken` has.
fn choose_username(provider: &str, uid: &str, taken: &[String]) -> String {
    let base = base_username(provider, uid);
    let is_free = |name: &str| !taken.iter().any(|t| t == name);
    if is_free(&base) {
        return base;
    }
    (2_u64..)
        .map(|n| format!("{base}_{n}"))
        .find(|name| is_free(name))
        .unwrap_or(base)
}

/// The username a first login tries first: `<provider>_<uid>`, the uid's characters
/// other than letters, digits, `-` and `_` (Naver's `+`, `/`, `=`) written as `-`.
fn base_username(provider: &str, uid: &str) -> String {
    let uid: String = uid
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{provider}_{uid}")
}

/// A `LIKE` pattern matching `<provider>_<uid>` and its suffixed variants (`\` escapes).
fn username_pattern(provider: &str, uid: &str) -> String {
    let escaped: String = base_username(provider, uid)
        .chars()
        .flat_map(|c| match c {
            '_' | '%' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("{escaped}%")
}

impl DieselUserStore {
    /// A store on `db`. Tokens are sealed with a random key (unreadable after a
    /// restart) until [`with_cipher`](Self::with_cipher) sets the configured one.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            cipher: Arc::new(TokenCipher::random()),
            sessions: None,
            users: Arc::default(),
        }
    }

    /// Seals tokens at rest with `cipher`.
    pub fn with_cipher(mut self, cipher: Arc<TokenCipher>) -> Self {
        self.cipher = cipher;
        self
    }

    /// Lets the store end a user's sessions (disconnect, unlink webhook).
    pub fn with_sessions(mut self, sessions: Sessions) -> Self {
        self.sessions = Some(sessions);
        self
    }

    /// The stored Kakao tokens of user `user_id`, opened.
    pub async fn tokens_of(&self, user_id: i64) -> Result<Option<Tokens>, StoreError> {
        Ok(self.link_by_user(user_id).await?.and_then(|link| {
            LinkData::parse(&link.extra_data).tokens_for(&link.provider, &link.uid, &self.cipher)
        }))
    }

    /// The database this store uses.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// One attempt at find-or-create, in one transaction.
    async fn find_or_create_once(&self, record: Arc<LoginRecord>) -> Result<User, StoreError> {
        let now = now_utc();
        db_run!(
            &self.db,
            transaction | conn | {
                let link: Option<SocialAuth> = links::table
                    .filter(links::provider.eq(record.provider))
                    .filter(links::uid.eq(&record.uid))
                    .select(SocialAuth::as_select())
                    .get_result(conn)
                    .await
                    .optional()?;
                if let Some(link) = link {
                    let extra_data = LinkData::parse(&record.extra_data)
                        .merged_over(&LinkData::parse(&link.extra_data))
                        .to_text();
                    // Absent profile fields keep the stored value.
                    let user = diesel::update(users::table.find(link.user_id))
                        .set((
                            users::nickname
                                .eq(fresh_or(record.nickname.as_deref(), users::nickname)),
                            users::email.eq(fresh_or_null(record.email.as_deref(), users::email)),
                            users::profile_image_url.eq(fresh_or_null(
                                record.profile_image_url.as_deref(),
                                users::profile_image_url,
                            )),
                            users::last_login_at.eq(now),
                        ))
                        .returning(User::as_returning())
                        .get_result(conn)
                        .await?;
                    diesel::update(links::table.find(link.id))
                        .set(&LinkLoginUpdate {
                            extra_data: &extra_data,
                            modified: now,
                        })
                        .execute(conn)
                        .await?;
                    return Ok::<User, StoreError>(user);
                }
                let base = base_username(record.provider, &record.uid);
                let base_taken = users::table
                    .select(users::id)
                    .filter(users::username.eq(&base))
                    .get_result::<i64>(conn)
                    .await
                    .optional()?
                    .is_some();
                // Rare (the base name is only ever taken when this Kakao id was linked
                // before and its user kept): only then read the suffixed names, with a
                // `LIKE` that no index serves.
                let username = if base_taken {
                    let taken: Vec<String> = users::table
                        .select(users::username)
                        .filter(
                            users::username
                                .like(username_pattern(record.provider, &record.uid))
                                .escape('\\'),
                        )
                        .load(conn)
                        .await?;
                    choose_username(record.provider, &record.uid, &taken)
                } else {
                    base
                };
                let user = diesel::insert_into(users::table)
                    .values(&NewUser {
                        username: &username,
                        email: record.email.as_deref(),
                        nickname: record.nickname.as_deref().unwrap_or(DEFAULT_NICKNAME),
                        profile_image_url: record.profile_image_url.as_deref(),
                        created_at: now,
                        last_login_at: now,
                    })
                    .returning(User::as_returning())
                    .get_result(conn)
                    .await?;
                diesel::insert_into(links::table)
                    .values(&record.new_link(user.id, now))
                    .execute(conn)
                    .await?;
                Ok(user)
            }
        )
    }

    /// The user with primary key `id`.
    ///
    /// Unique-key lookups use `get_result`, not `first`: `first` adds a bound `LIMIT ?`,
    /// which makes SQLite re-prepare the cached statement on every run (measured at
    /// about 17% of a protected page's CPU).
    ///
    /// Rows read in the last [`USER_CACHE_TTL`](crate::user_cache::USER_CACHE_TTL) come
    /// from memory (see [`crate::user_cache`]).
    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        if let Some(user) = self.users.get(id) {
            return Ok(Some(user));
        }
        let ticket = self.users.ticket();
        let user = db_run!(&self.db, |conn| {
            users::table
                .find(id)
                .select(User::as_select())
                .get_result(conn)
                .await
                .optional()
        })?;
        if let Some(user) = &user {
            self.users.put_read(user, ticket);
        }
        Ok(user)
    }

    /// The id of the user linked to Kakao id `uid` (decimal text).
    pub async fn user_id_by_uid(&self, uid: &str) -> Result<Option<i64>, StoreError> {
        self.user_id_for(KAKAO_PROVIDER, uid).await
    }

    /// The id of the user linked to the `provider` account `uid`.
    pub async fn user_id_for(&self, provider: &str, uid: &str) -> Result<Option<i64>, StoreError> {
        let (provider, uid) = (provider.to_owned(), uid.to_owned());
        Ok(db_run!(&self.db, |conn| {
            links::table
                .filter(links::provider.eq(&provider))
                .filter(links::uid.eq(&uid))
                .select(links::user_id)
                .get_result(conn)
                .await
                .optional()
        })?)
    }

    /// The Kakao link of user `user_id`.
    pub async fn link_by_user(&self, user_id: i64) -> Result<Option<SocialAuth>, StoreError> {
        self.link_of(user_id, KAKAO_PROVIDER).await
    }

    /// Every link of user `user_id`, oldest first.
    pub async fn links_of(&self, user_id: i64) -> Result<Vec<SocialAuth>, StoreError> {
        Ok(db_run!(&self.db, |conn| {
            links::table
                .filter(links::user_id.eq(user_id))
                .order(links::id)
                .select(SocialAuth::as_select())
                .load(conn)
                .await
        })?)
    }

    /// The `provider` link of user `user_id`.
    pub async fn link_of(
        &self,
        user_id: i64,
        provider: &str,
    ) -> Result<Option<SocialAuth>, StoreError> {
        let provider = provider.to_owned();
        Ok(db_run!(&self.db, |conn| {
            links::table
                .filter(links::user_id.eq(user_id))
                .filter(links::provider.eq(&provider))
                .select(SocialAuth::as_select())
                .get_result(conn)
                .await
                .optional()
        })?)
    }

    /// Deletes user `id` and their link rows (by `ON DELETE CASCADE`), run to the end
    /// even if the caller goes away, then every server-side session of theirs (see
    /// [`with_sessions`](Self::with_sessions)). Returns whether the user existed.
    ///
    /// A session that outlives this call (a cookie-only one, or one whose deletion
    /// failed) is refused anyway: the identity check no longer finds its user.
    pub async fn delete_user(&self, id: i64) -> Result<bool, StoreError> {
        self.users.remove(id);
        let db = self.db.clone();
        let deleted = detached(async move {
            let rows: usize = db_run!(
                &db,
                write | conn | diesel::delete(users::table.find(id)).execute(conn).await
            )?;
            Ok(rows > 0)
        })
        .await;
        // Again after the delete: a read racing with it may have cached the row.
        self.users.remove(id);
        let deleted = deleted?;
        if let Some(sessions) = &self.sessions {
            sessions
                .end_user_sessions(id)
                .await
                .map_err(StoreError::Sessions)?;
        }
        Ok(deleted)
    }

    /// The number of users.
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(db_run!(&self.db, |conn| {
            users::table.count().get_result(conn).await
        })?)
    }

    /// The number of Kakao links.
    pub async fn count_links(&self) -> Result<i64, StoreError> {
        Ok(db_run!(&self.db, |conn| {
            links::table.count().get_result(conn).await
        })?)
    }
}

impl UserStore for DieselUserStore {
    type User = User;
    type Error = StoreError;

    /// Finds the user linked to the Kakao id, refreshing their profile and the link's
    /// `extra_data`; or creates user and link together. A uniqueness conflict (a
    /// concurrent first login of the same id won) rolls the attempt back and retries,
    /// which then finds the winner's link.
    ///
    /// The work runs in a task of its own, so a caller that goes away (a dropped HTTP
    /// request) never leaves a transaction half-done on a pooled connection.
    async fn find_or_create(&self, login: &SocialLogin) -> Result<User, StoreError> {
        let store = self.clone();
        let record = LoginRecord::new(login, &self.cipher)?;
        let ticket = self.users.ticket();
        let user = detached(async move { store.find_or_create_record(record).await }).await?;
        self.users.put_read(&user, ticket);
        Ok(user)
    }

    /// The user row (through the short-lived cache, see [`crate::user_cache`]).
    async fn get_user(&self, id: &i64) -> Result<Option<User>, StoreError> {
        self.user_by_id(*id).await
    }

    const SUPPORTS_LINKING: bool = true;

    /// One transaction: the account's link row decides (this user's: nothing to do;
    /// another's: refused); without one, a link row for this user is inserted. Two
    /// connects racing for one account meet at the `(provider, uid)` unique constraint:
    /// the loser reads the winner. The user row is not touched (a connect does not change
    /// the nickname shown).
    async fn link_login(
        &self,
        user: &i64,
        login: &SocialLogin,
    ) -> Result<LinkOutcome<i64>, StoreError> {
        let record = Arc::new(LoginRecord::new(login, &self.cipher)?);
        let user = *user;
        let store = self.clone();
        detached(async move {
            match store.link_once(user, Arc::clone(&record)).await {
                Err(error) if error.is_unique_violation() => {
                    match store.user_id_for(record.provider, &record.uid).await? {
                        Some(owner) if owner == user => Ok(LinkOutcome::AlreadyYours),
                        Some(owner) => Ok(LinkOutcome::OwnedBy(owner)),
                        None => Err(error),
                    }
                }
                other => other,
            }
        })
        .await
    }
}

impl LinkStore<i64> for DieselUserStore {
    type Error = StoreError;

    async fn link(&self, user_id: &i64, provider: Provider) -> Result<Option<Link>, StoreError> {
        let Some(link) = self.link_of(*user_id, provider.as_str()).await? else {
            return Ok(None);
        };
        let tokens = LinkData::parse(&link.extra_data).tokens_for(
            provider.as_str(),
            &link.uid,
            &self.cipher,
        );
        Ok(Some(Link {
            provider,
            uid: link.uid,
            tokens,
        }))
    }

    async fn update_tokens(
        &self,
        user_id: &i64,
        provider: Provider,
        tokens: &Tokens,
    ) -> Result<(), StoreError> {
        let Some(link) = self.link_of(*user_id, provider.as_str()).await? else {
            return Ok(());
        };
        let mut data = LinkData::parse(&link.extra_data);
        data.set_tokens_for(provider.as_str(), &link.uid, tokens, &self.cipher)?;
        let text = data.to_text();
        let now = now_utc();
        db_run!(
            &self.db,
            write | conn | {
                diesel::update(links::table.find(link.id))
                    .set(&LinkLoginUpdate {
                        extra_data: &text,
                        modified: now,
                    })
                    .execute(conn)
                    .await
            }
        )?;
        Ok(())
    }

    async fn user_for(&self, provider: Provider, uid: &str) -> Result<Option<i64>, StoreError> {
        self.user_id_for(provider.as_str(), uid).await
    }

    /// A user with another link keeps it, and their account: only this link goes. A user
    /// left without any way in is deleted, with every server-side session of theirs; any
    /// session left anywhere (a cookie-only one, another instance's
    /// cache) is refused from then on, because the identity check no longer finds them.
    async fn remove_link(&self, user_id: &i64, provider: Provider) -> Result<bool, StoreError> {
        if self.other_links(*user_id, provider.as_str()).await? > 0 {
            let (user, provider) = (*user_id, provider.as_str().to_owned());
            let removed: usize = db_run!(
                &self.db,
                write | conn | {
                    diesel::delete(
                        links::table
                            .filter(links::user_id.eq(user))
                            .filter(links::provider.eq(&provider)),
                    )
                    .execute(conn)
                    .await
                }
            )?;
            return Ok(removed == 1);
        }
        self.delete_user(*user_id).await
    }
}

impl DieselUserStore {
    /// One attempt at [`link_login`](UserStore::link_login), in one transaction.
    async fn link_once(
        &self,
        user: i64,
        record: Arc<LoginRecord>,
    ) -> Result<LinkOutcome<i64>, StoreError> {
        let now = now_utc();
        db_run!(
            &self.db,
            transaction | conn | {
                let owner: Option<i64> = links::table
                    .filter(links::provider.eq(record.provider))
                    .filter(links::uid.eq(&record.uid))
                    .select(links::user_id)
                    .get_result(conn)
                    .await
                    .optional()?;
                match owner {
                    Some(owner) if owner == user => {
                        return Ok::<_, StoreError>(LinkOutcome::AlreadyYours)
                    }
                    Some(owner) => return Ok(LinkOutcome::OwnedBy(owner)),
                    None => {}
                }
                // Read again: under PostgreSQL's READ COMMITTED a connect of this very
                // account by the same user may have committed since the first read.
                let linked_uid: Option<String> = links::table
                    .filter(links::user_id.eq(user))
                    .filter(links::provider.eq(record.provider))
                    .select(links::uid)
                    .get_result(conn)
                    .await
                    .optional()?;
                match linked_uid {
                    Some(uid) if uid == record.uid => return Ok(LinkOutcome::AlreadyYours),
                    Some(_) => return Ok(LinkOutcome::ProviderAlreadyLinked),
                    None => {}
                }
                diesel::insert_into(links::table)
                    .values(&record.new_link(user, now))
                    .execute(conn)
                    .await?;
                Ok(LinkOutcome::Linked)
            }
        )
    }

    /// How many links user `user_id` has to providers other than `provider`.
    async fn other_links(&self, user_id: i64, provider: &str) -> Result<i64, StoreError> {
        let provider = provider.to_owned();
        Ok(db_run!(&self.db, |conn| {
            links::table
                .filter(links::user_id.eq(user_id))
                .filter(links::provider.ne(&provider))
                .count()
                .get_result(conn)
                .await
        })?)
    }
}

impl DieselUserStore {
    async fn find_or_create_record(&self, record: LoginRecord) -> Result<User, StoreError> {
        let record = Arc::new(record);
        for attempt in 1..=MAX_ATTEMPTS {
            match self.find_or_create_once(Arc::clone(&record)).await {
                Err(e) if e.is_unique_violation() => {
                    tracing::debug!(uid = %record.uid, attempt, "first login lost a race; retrying");
                    tokio::task::yield_now().await;
                }
                other => return other,
            }
        }
        Err(StoreError::Contended {
            uid: record.uid.clone(),
            attempts: MAX_ATTEMPTS,
        })
    }
}

/// Runs `work` as a tokio task and waits for it: dropping the caller does not cancel it.
async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::spawn(work).await.map_err(DbError::from)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_never_reuse_a_taken_one() {
        assert_eq!(choose_username("kakao", "42", &[]), "kakao_42");
        let taken = vec!["kakao_42".to_owned(), "kakao_42_2".to_owned()];
        assert_eq!(choose_username("kakao", "42", &taken), "kakao_42_3");
        assert_eq!(
            choose_username("kakao", "4", &["kakao_42".to_owned()]),
            "kakao_4"
        );
    }

    #[test]
    fn naver_ids_make_usernames_of_letters_digits_and_dashes() {
        assert_eq!(
            choose_username("naver", "Ab+/c=", &[]),
            "naver_Ab--c-",
            "never a character a URL or a LIKE pattern would mind"
        );
        assert_eq!(
            choose_username("naver", "Ab//c=", &["naver_Ab--c-".to_owned()]),
            "naver_Ab--c-_2",
            "two ids that read alike get different names"
        );
    }

    #[test]
    fn the_username_pattern_escapes_like_wildcards() {
        assert_eq!(username_pattern("kakao", "42"), "kakao\\_42%");
    }
}
