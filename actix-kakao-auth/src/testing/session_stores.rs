//! The acceptance suite for server-side session stores: what a store must do so that
//! logout, disconnect and the unlink webhook end sessions for good.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::time::Duration as StdDuration;

use actix_session::storage::SessionKey;
use actix_web::cookie::time::Duration;
use futures_util::future::join_all;
use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt as _;
use rand::Rng as _;

use super::{note_outcome, CheckResult, Violation};
use crate::session::SESSION_USER_KEY;
use crate::session_store::RevocableSessionStore;

/// How many rounds [`check_logout_wins_the_revival_race`] runs.
pub const REVIVAL_ROUNDS: usize = 50;

/// How many requests that loaded the session before logout finish around it in each
/// round.
pub const IN_FLIGHT_UPDATES: usize = 6;

type State = HashMap<String, String>;

/// A user id the suite logs in: a random number or a random text, so runs against a
/// shared database or Redis never meet.
#[derive(Debug, Clone)]
enum TestUser {
    Number(i64),
    Text(String),
}

impl TestUser {
    fn random() -> Self {
        let mut rng = rand::thread_rng();
        if rng.gen_bool(0.5) {
            Self::Number(rng.gen_range(1_000_000_000..i64::MAX))
        } else {
            Self::Text(format!("user-{:x}", rng.gen::<u64>()))
        }
    }

    /// The session entry the library writes at login.
    fn entry(&self) -> String {
        let id = match self {
            Self::Number(n) => serde_json::json!(n),
            Self::Text(t) => serde_json::json!(t),
        };
        serde_json::json!({ "id": id, "hash": "h", "csrf": "c" }).to_string()
    }

    async fn end_sessions<St: RevocableSessionStore>(
        &self,
        store: &St,
    ) -> Result<u64, anyhow::Error> {
        match self {
            Self::Number(n) => store.end_user_sessions(n).await,
            Self::Text(t) => store.end_user_sessions(t.as_str()).await,
        }
    }
}

fn logged_in(user: &TestUser, extra: &str) -> State {
    HashMap::from([
        (SESSION_USER_KEY.to_owned(), user.entry()),
        ("extra".to_owned(), serde_json::json!(extra).to_string()),
    ])
}

fn anonymous(extra: &str) -> State {
    HashMap::from([("extra".to_owned(), serde_json::json!(extra).to_string())])
}

fn copy(key: &SessionKey) -> SessionKey {
    match SessionKey::try_from(key.as_ref().to_owned()) {
        Ok(copy) => copy,
        Err(_) => unreachable!("a key that parsed once parses again"),
    }
}

fn violation(rule: &'static str, detail: impl Into<String>) -> Violation {
    Violation {
        rule,
        detail: detail.into(),
    }
}

/// Turns a store error into a violation of `rule`.
fn ok<T, E: std::fmt::Display>(
    rule: &'static str,
    what: &str,
    result: Result<T, E>,
) -> Result<T, Violation> {
    result.map_err(|e| violation(rule, format!("{what} failed: {e}")))
}

async fn expect_loaded<St: RevocableSessionStore>(
    store: &St,
    rule: &'static str,
    key: &SessionKey,
    expected: Option<&State>,
    what: &str,
) -> CheckResult {
    let loaded = ok(rule, "load", store.load(key).await)?;
    if loaded.as_ref() == expected {
        return Ok(());
    }
    Err(violation(
        rule,
        format!("{what}: loaded {loaded:?}, expected {expected:?}"),
    ))
}

/// Save, load, update, extend and delete behave as actix-session expects: a saved
/// state loads back, an update keeps the key and replaces the state, every save draws
/// a new key, a deleted or unknown key loads nothing, and a second delete is no error.
pub async fn check_sessions_round_trip<St: RevocableSessionStore>(store: &St) -> CheckResult {
    const RULE: &str = "sessions_round_trip";
    let hour = Duration::hours(1);
    let user = TestUser::random();
    let first = logged_in(&user, "first");
    let key = ok(RULE, "save", store.save(first.clone(), &hour).await)?;
    expect_loaded(store, RULE, &key, Some(&first), "a saved session").await?;
    let other = ok(RULE, "save", store.save(first.clone(), &hour).await)?;
    if other == key {
        return Err(violation(RULE, "two saves answered the same key"));
    }
    let second = logged_in(&user, "second");
    let updated = ok(
        RULE,
        "update",
        store.update(copy(&key), second.clone(), &hour).await,
    )?;
    if updated != key {
        return Err(violation(
            RULE,
            "an update of a live session changed its key",
        ));
    }
    expect_loaded(store, RULE, &key, Some(&second), "an updated session").await?;
    ok(RULE, "update_ttl", store.update_ttl(&key, &hour).await)?;
    expect_loaded(store, RULE, &key, Some(&second), "an extended session").await?;
    ok(RULE, "delete", store.delete(&key).await)?;
    expect_loaded(store, RULE, &key, None, "a deleted session").await?;
    ok(RULE, "a second delete", store.delete(&key).await)?;
    expect_loaded(store, RULE, &other, Some(&first), "the other session").await?;
    ok(RULE, "delete", store.delete(&other).await)?;
    let unknown = ok(RULE, "key", SessionKey::try_from("x".repeat(64)))?;
    expect_loaded(store, RULE, &unknown, None, "an unknown key").await
}

/// An update of a session that was deleted writes nothing: it answers a key that
/// names no session, and the old key stays dead. An update that empties a session
/// ends it.
pub async fn check_ended_session_stays_ended<St: RevocableSessionStore>(store: &St) -> CheckResult {
    const RULE: &str = "ended_session_stays_ended";
    let hour = Duration::hours(1);
    let user = TestUser::random();
    let key = ok(RULE, "save", store.save(logged_in(&user, "a"), &hour).await)?;
    ok(RULE, "delete", store.delete(&key).await)?;
    let answered = ok(
        RULE,
        "update after delete",
        store.update(copy(&key), logged_in(&user, "b"), &hour).await,
    )?;
    if answered == key {
        return Err(violation(
            RULE,
            "an update of a deleted session answered its old key",
        ));
    }
    expect_loaded(store, RULE, &key, None, "the deleted key after an update").await?;
    expect_loaded(
        store,
        RULE,
        &answered,
        None,
        "the key an update of a deleted session answered",
    )
    .await?;

    let emptied = ok(RULE, "save", store.save(logged_in(&user, "c"), &hour).await)?;
    let answered = ok(
        RULE,
        "update to an empty state",
        store.update(copy(&emptied), State::new(), &hour).await,
    )?;
    expect_loaded(store, RULE, &emptied, None, "a session updated to nothing").await?;
    expect_loaded(
        store,
        RULE,
        &answered,
        None,
        "the key an emptying update answered",
    )
    .await
}

/// Sessions expire: a session past its TTL loads nothing and an update does not
/// revive it; `update_ttl` extends a live one; a session without a logged-in user
/// lives no longer than the store's anonymous TTL, whatever TTL it was saved with.
/// (Waits for about two seconds; needs `anonymous_ttl()` of at most one second.)
pub async fn check_sessions_expire<St: RevocableSessionStore>(store: &St) -> CheckResult {
    const RULE: &str = "sessions_expire";
    if store.anonymous_ttl() > StdDuration::from_secs(1) {
        return Err(violation(
            RULE,
            format!(
                "build the store under test with an anonymous TTL of at most 1 s (it has {:?})",
                store.anonymous_ttl()
            ),
        ));
    }
    let second = Duration::seconds(1);
    let day = Duration::days(1);
    let user = TestUser::random();
    let state = logged_in(&user, "x");
    let short = ok(RULE, "save", store.save(state.clone(), &second).await)?;
    let extended = ok(RULE, "save", store.save(state.clone(), &second).await)?;
    ok(RULE, "update_ttl", store.update_ttl(&extended, &day).await)?;
    let visitor = ok(RULE, "save", store.save(anonymous("v"), &day).await)?;
    let long = ok(RULE, "save", store.save(state.clone(), &day).await)?;
    expect_loaded(
        store,
        RULE,
        &visitor,
        Some(&anonymous("v")),
        "a fresh anonymous session",
    )
    .await?;
    tokio::time::sleep(StdDuration::from_millis(2_200)).await;
    expect_loaded(store, RULE, &short, None, "a session past its TTL").await?;
    expect_loaded(
        store,
        RULE,
        &extended,
        Some(&state),
        "a session whose TTL was extended",
    )
    .await?;
    expect_loaded(
        store,
        RULE,
        &visitor,
        None,
        "an anonymous session saved with a TTL of a day, past the anonymous TTL",
    )
    .await?;
    expect_loaded(
        store,
        RULE,
        &long,
        Some(&state),
        "a logged-in session within its TTL",
    )
    .await?;
    let answered = ok(
        RULE,
        "update of an expired session",
        store.update(copy(&short), state.clone(), &day).await,
    )?;
    expect_loaded(
        store,
        RULE,
        &short,
        None,
        "an expired session after an update",
    )
    .await?;
    expect_loaded(
        store,
        RULE,
        &answered,
        None,
        "the key an update of an expired session answered",
    )
    .await?;
    for key in [&extended, &long] {
        ok(RULE, "delete", store.delete(key).await)?;
    }
    Ok(())
}

/// `end_user_sessions` ends every session of that user, and only theirs; for numeric
/// and text ids alike.
pub async fn check_end_user_sessions_ends_only_theirs<St: RevocableSessionStore>(
    store: &St,
) -> CheckResult {
    const RULE: &str = "end_user_sessions_ends_only_theirs";
    let hour = Duration::hours(1);
    for user in [
        TestUser::Number(rand::thread_rng().gen_range(1_000_000_000..i64::MAX)),
        TestUser::Text(format!("user-{:x}", rand::thread_rng().gen::<u64>())),
    ] {
        let bystander = TestUser::random();
        let mut theirs = Vec::new();
        for n in 0..3 {
            let state = logged_in(&user, &n.to_string());
            theirs.push(ok(RULE, "save", store.save(state, &hour).await)?);
        }
        let other_state = logged_in(&bystander, "o");
        let other = ok(RULE, "save", store.save(other_state.clone(), &hour).await)?;
        let visitor = ok(RULE, "save", store.save(anonymous("v"), &hour).await)?;
        let ended = ok(RULE, "end_user_sessions", user.end_sessions(store).await)?;
        if ended != 3 {
            return Err(violation(
                RULE,
                format!("{user:?} had 3 sessions; end_user_sessions reported {ended}"),
            ));
        }
        for key in &theirs {
            expect_loaded(
                store,
                RULE,
                key,
                None,
                "a session of the user whose sessions ended",
            )
            .await?;
        }
        expect_loaded(
            store,
            RULE,
            &other,
            Some(&other_state),
            "another user's session",
        )
        .await?;
        expect_loaded(
            store,
            RULE,
            &visitor,
            Some(&anonymous("v")),
            "an anonymous session",
        )
        .await?;
        let again = ok(RULE, "end_user_sessions", user.end_sessions(store).await)?;
        if again != 0 {
            return Err(violation(
                RULE,
                format!("a second end_user_sessions reported {again} sessions"),
            ));
        }
        for key in [&other, &visitor] {
            ok(RULE, "delete", store.delete(key).await)?;
        }
    }
    Ok(())
}

/// The revival race, [`REVIVAL_ROUNDS`] times: requests that loaded a session before
/// logout finish around it (their updates run concurrently with the delete, or with
/// `end_user_sessions`), and afterwards neither the session's key nor any key those
/// updates answered loads anything.
pub async fn check_logout_wins_the_revival_race<St: RevocableSessionStore>(
    store: &St,
) -> CheckResult {
    const RULE: &str = "logout_wins_the_revival_race";
    let hour = Duration::hours(1);
    for round in 0..REVIVAL_ROUNDS {
        let user = TestUser::random();
        let key = ok(
            RULE,
            "save",
            store.save(logged_in(&user, "start"), &hour).await,
        )?;
        let mut racers: Vec<LocalBoxFuture<'_, Result<Option<SessionKey>, String>>> = (0
            ..IN_FLIGHT_UPDATES)
            .map(|n| {
                let state = logged_in(&user, &format!("in flight {n}"));
                let key = copy(&key);
                async move {
                    let answered = store.update(key, state, &hour).await;
                    answered.map(Some).map_err(|e| e.to_string())
                }
                .boxed_local()
            })
            .collect();
        // The logout runs amid the requests in flight.
        let logout = async {
            let ended = if round % 2 == 0 {
                store.delete(&key).await
            } else {
                user.end_sessions(store).await.map(drop)
            };
            ended.map(|()| None).map_err(|e| e.to_string())
        };
        racers.insert(IN_FLIGHT_UPDATES / 2, logout.boxed_local());
        let mut answered = Vec::new();
        for outcome in join_all(racers).await {
            answered.push(ok(RULE, "a racing update or logout", outcome)?);
        }
        expect_loaded(
            store,
            RULE,
            &key,
            None,
            &format!("round {round}: the logged-out session"),
        )
        .await?;
        for key in answered.into_iter().flatten() {
            expect_loaded(
                store,
                RULE,
                &key,
                None,
                &format!("round {round}: a key answered to a request in flight at logout"),
            )
            .await?;
        }
    }
    Ok(())
}

/// Runs every session-store check against `store` and panics listing every violated
/// rule.
///
/// Build the store with an anonymous TTL of at most one second (for instance
/// `SqlSessionStore::with_anonymous_ttl`), so that [`check_sessions_expire`] can see it
/// expire. The checks draw random user ids, so the suite can run again and again
/// against a shared database or Redis. It takes a few seconds: one check waits for
/// sessions to expire.
pub async fn session_store_acceptance_suite<St: RevocableSessionStore>(store: &St) {
    let mut violations = Vec::new();
    macro_rules! run {
        ($($check:ident),* $(,)?) => {$(
            let outcome = AssertUnwindSafe($check(store)).catch_unwind().await;
            note_outcome(&mut violations, stringify!($check), outcome);
        )*};
    }
    run!(
        check_sessions_round_trip,
        check_ended_session_stays_ended,
        check_sessions_expire,
        check_end_user_sessions_ends_only_theirs,
        check_logout_wins_the_revival_race,
    );
    assert!(
        violations.is_empty(),
        "SessionStore acceptance suite: {} rule(s) violated:\n  {}",
        violations.len(),
        violations.join("\n  ")
    );
}
