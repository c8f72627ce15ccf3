//! The published session stores: the acceptance suite on SQLite, PostgreSQL and Redis,
//! and what only one store does (its table, its purge, its connect errors).

use std::collections::HashMap;
use std::io::Write as _;
use std::time::Duration as StdDuration;

use actix_kakao_auth::actix_session::storage::{SessionKey, SessionStore};
use actix_kakao_auth::session::SESSION_USER_KEY;
use actix_kakao_auth::session_store::{
    RedisSessionError, RedisSessionStore, SqlSessionError, SqlSessionStore,
};
use actix_kakao_auth::testing::session_store_acceptance_suite;
use actix_web::cookie::time::Duration;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, SimpleAsyncConnection as _};
use rand::distributions::{Alphanumeric, DistString as _};

const ONE_SECOND: StdDuration = StdDuration::from_secs(1);

/// `name` from the environment, or `None` with a skip notice (a failure under
/// `REQUIRE_SERVICES=1`).
fn service_url(name: &str, test: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{test}: {name} not set but REQUIRE_SERVICES=1"
            );
            // Straight to stderr: libtest captures `eprintln!`, and a skip should show.
            let _ = writeln!(std::io::stderr(), "SKIP: {name} not set ({test})");
            None
        }
    }
}

fn suffix() -> String {
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), 12)
        .to_lowercase()
}

/// A PostgreSQL schema of its own, dropped at the end; `url` sees only it.
struct PgSchema {
    base_url: String,
    schema: String,
    url: String,
}

impl PgSchema {
    async fn create(base_url: &str) -> Self {
        let schema = format!("sessions_test_{}", suffix());
        let mut conn = AsyncPgConnection::establish(base_url).await.unwrap();
        conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .unwrap();
        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options=-csearch_path%3D{schema}");
        Self {
            base_url: base_url.to_owned(),
            schema,
            url,
        }
    }

    async fn drop_schema(self) {
        let mut conn = AsyncPgConnection::establish(&self.base_url).await.unwrap();
        conn.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await
            .unwrap();
    }
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("sessions.sqlite3").display())
}

fn logged_in(user: i64) -> HashMap<String, String> {
    HashMap::from([(
        SESSION_USER_KEY.to_owned(),
        format!(r#"{{"id":{user},"hash":"h","csrf":"c"}}"#),
    )])
}

#[actix_web::test]
async fn the_sql_store_passes_the_suite_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlSessionStore::connect(&sqlite_url(&dir))
        .await
        .unwrap()
        .with_anonymous_ttl(ONE_SECOND);
    session_store_acceptance_suite(&store).await;
}

#[actix_web::test]
async fn the_sql_store_passes_the_suite_on_postgres() {
    let Some(base) = service_url(
        "TEST_DATABASE_URL",
        "the_sql_store_passes_the_suite_on_postgres",
    ) else {
        return;
    };
    let schema = PgSchema::create(&base).await;
    let store = SqlSessionStore::connect(&schema.url)
        .await
        .unwrap()
        .with_anonymous_ttl(ONE_SECOND);
    session_store_acceptance_suite(&store).await;
    // Connecting again finds the table and keeps its rows.
    let again = SqlSessionStore::connect(&schema.url).await.unwrap();
    let key = again.save(logged_in(1), &Duration::hours(1)).await.unwrap();
    assert!(store.load(&key).await.unwrap().is_some());
    drop((store, again));
    schema.drop_schema().await;
}

#[actix_web::test]
async fn the_redis_store_passes_the_suite() {
    let Some(url) = service_url("TEST_REDIS_URL", "the_redis_store_passes_the_suite") else {
        return;
    };
    let prefix = format!("sessions-test-{}:", suffix());
    let store = RedisSessionStore::connect_with_prefix(&url, &prefix)
        .await
        .unwrap()
        .with_anonymous_ttl(ONE_SECOND);
    store.ping().await.unwrap();
    session_store_acceptance_suite(&store).await;
    // Every session the suite left ends with its TTL: nothing lives without one.
    let mut conn = store.connection();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    for key in keys {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0 || ttl == -2, "{key} has no expiry ({ttl})");
    }
}

#[actix_web::test]
async fn expired_sql_rows_are_purged_by_saves_and_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let store = SqlSessionStore::connect(&url)
        .await
        .unwrap()
        .with_purge_every(0);
    let live = store.save(logged_in(1), &Duration::hours(1)).await.unwrap();
    for _ in 0..3 {
        store
            .save(logged_in(2), &Duration::seconds(-5))
            .await
            .unwrap();
    }
    assert_eq!(store.live_sessions().await.unwrap(), 1);
    assert_eq!(store.purge_expired().await.unwrap(), 3);
    assert_eq!(store.purge_expired().await.unwrap(), 0);
    assert!(store.load(&live).await.unwrap().is_some());

    // Every save purges when asked to.
    let purging = SqlSessionStore::connect(&url)
        .await
        .unwrap()
        .with_purge_every(1);
    purging
        .save(logged_in(3), &Duration::seconds(-5))
        .await
        .unwrap();
    purging
        .save(logged_in(3), &Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store.purge_expired().await.unwrap(),
        0,
        "the save purged it"
    );

    // And so does the background task.
    store
        .save(logged_in(4), &Duration::seconds(-5))
        .await
        .unwrap();
    let task = store.spawn_purge_task(StdDuration::from_secs(1));
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    task.abort();
    assert_eq!(
        store.purge_expired().await.unwrap(),
        0,
        "the task purged it"
    );
}

#[actix_web::test]
async fn a_session_keys_only_the_user_index_of_its_entry() {
    // A session whose entry is malformed is kept as anonymous: short-lived, and not
    // ended with any user's sessions.
    let dir = tempfile::tempdir().unwrap();
    let store = SqlSessionStore::connect(&sqlite_url(&dir)).await.unwrap();
    let odd = HashMap::from([(SESSION_USER_KEY.to_owned(), "not json".to_owned())]);
    let key = store.save(odd.clone(), &Duration::hours(1)).await.unwrap();
    assert_eq!(store.end_user_sessions(&1_i64).await.unwrap(), 0);
    assert_eq!(store.load(&key).await.unwrap(), Some(odd));
    let missing = SessionKey::try_from("y".repeat(64)).unwrap();
    store.delete(&missing).await.unwrap();
}

#[actix_web::test]
async fn bad_session_store_settings_are_refused_with_a_reason() {
    for bad in ["mysql://h/db", ":memory:", "sqlite://"] {
        let err = SqlSessionStore::connect(bad).await.unwrap_err();
        assert!(
            matches!(err, SqlSessionError::InvalidUrl(_)),
            "{bad}: {err}"
        );
    }
    let err = SqlSessionStore::connect("/nonexistent-dir/x/sessions.sqlite3")
        .await
        .unwrap_err();
    assert!(matches!(err, SqlSessionError::Connect(_)), "{err}");

    let started = std::time::Instant::now();
    let err = RedisSessionStore::connect("redis://127.0.0.1:1")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RedisSessionError::Redis(_) | RedisSessionError::Timeout
        ),
        "{err}"
    );
    assert!(started.elapsed() < StdDuration::from_secs(5));
    let err = RedisSessionStore::connect("not a url").await.unwrap_err();
    assert!(matches!(err, RedisSessionError::Url(_)), "{err}");
}

/// A store that behaves like actix-session's `RedisSessionStore`: an update of a key
/// that is gone saves the state again under a new key.
#[derive(Default)]
struct RevivingStore {
    sessions: std::sync::Mutex<HashMap<String, HashMap<String, String>>>,
}

impl RevivingStore {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, String>>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SessionStore for RevivingStore {
    async fn load(
        &self,
        key: &SessionKey,
    ) -> Result<Option<HashMap<String, String>>, actix_kakao_auth::actix_session::storage::LoadError>
    {
        Ok(self.map().get(key.as_ref()).cloned())
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        _: &Duration,
    ) -> Result<SessionKey, actix_kakao_auth::actix_session::storage::SaveError> {
        let key = Alphanumeric.sample_string(&mut rand::thread_rng(), 64);
        self.map().insert(key.clone(), state);
        Ok(SessionKey::try_from(key).unwrap())
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, actix_kakao_auth::actix_session::storage::UpdateError> {
        if self.map().contains_key(key.as_ref()) {
            self.map().insert(key.as_ref().to_owned(), state);
            return Ok(key);
        }
        Ok(self.save(state, ttl).await.unwrap())
    }

    async fn update_ttl(&self, _: &SessionKey, _: &Duration) -> Result<(), anyhow::Error> {
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        self.map().remove(key.as_ref());
        Ok(())
    }
}

impl actix_kakao_auth::session_store::RevocableSessionStore for RevivingStore {
    async fn end_user_sessions<Id: serde::Serialize + Sync + ?Sized>(
        &self,
        user_id: &Id,
    ) -> Result<u64, anyhow::Error> {
        let id = serde_json::to_value(user_id)?;
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, state| {
            let entry = state
                .get(SESSION_USER_KEY)
                .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw).ok());
            entry.is_none_or(|entry| entry["id"] != id)
        });
        Ok((before - map.len()) as u64)
    }

    fn anonymous_ttl(&self) -> StdDuration {
        ONE_SECOND
    }
}

#[actix_web::test]
async fn a_store_that_revives_ended_sessions_fails_the_suite() {
    use futures_util::FutureExt as _;
    let store = RevivingStore::default();
    let outcome = std::panic::AssertUnwindSafe(session_store_acceptance_suite(&store))
        .catch_unwind()
        .await;
    let panic = outcome.expect_err("a reviving store passed the suite");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    for rule in [
        "ended_session_stays_ended",
        "logout_wins_the_revival_race",
        "sessions_expire",
    ] {
        assert!(message.contains(rule), "{rule} not reported: {message}");
    }
    for rule in ["sessions_round_trip", "end_user_sessions_ends_only_theirs"] {
        assert!(!message.contains(rule), "{rule} reported: {message}");
    }
}
