//! The acceptance suites every [`UserStore`], guard store and session store must pass
//! (feature `testing`). The session-store suite is
//! [`session_store_acceptance_suite`]; the rest of this page is about the user store's.
//!
//! Run it from your store's tests, once per backend:
//!
//! ```no_run
//! # struct MyStore;
//! # impl actix_kakao_auth::store::UserStore for MyStore {
//! #     type User = MyUser;
//! #     type Error = std::io::Error;
//! #     async fn find_or_create(
//! #         &self,
//! #         _: &actix_kakao_auth::store::SocialLogin,
//! #     ) -> Result<MyUser, std::io::Error> { Ok(MyUser) }
//! #     async fn get_user(&self, _: &i64) -> Result<Option<MyUser>, std::io::Error> { Ok(Some(MyUser)) }
//! # }
//! # #[derive(Clone)] struct MyUser;
//! # impl actix_kakao_auth::store::AuthUser for MyUser { type Id = i64; fn id(&self) -> i64 { 1 } }
//! # impl MyStore { async fn open(_: &str) -> Self { MyStore } }
//! // tests/my_store.rs (with `actix-kakao-auth = { features = ["testing"] }` in dev-dependencies)
//! #[tokio::test(flavor = "multi_thread")]
//! async fn my_store_passes_the_acceptance_suite() {
//!     actix_kakao_auth::testing::store_acceptance_suite(|| MyStore::open("test.sqlite3")).await;
//! }
//! # fn main() {}
//! ```
//!
//! The suite calls `make_store` once per check, so every check gets a fresh store
//! value. The stores may share one database: every check draws its own random Kakao
//! ids, so the suite can run again and again against the same (for instance a shared
//! PostgreSQL) database, and two runs never see each other's users. The one fixed pair
//! of ids (2^53 and 2^53 + 1, see [`check_ids_above_2_pow_53_round_trip`]) only ever
//! sees returning logins on a later run, which the check allows.
//!
//! Every rule is also a `pub async fn check_*` that returns a [`Violation`] naming the
//! rule, for running one rule alone. [`store_acceptance_suite`] runs all of them and
//! panics with every violated rule listed.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use chrono::{Duration, Utc};
use futures_util::future::join_all;
use futures_util::FutureExt as _;
use rand::Rng as _;

use crate::kakao::profile::{KakaoAccount, KakaoProfile, KakaoUserInfo};
use crate::kakao::secret::{AccessToken, RefreshToken};
use crate::naver::NaverUserInfo;
use crate::store::{AuthUser, IdOf, LinkOutcome, ProviderUser, SocialLogin, Tokens, UserStore};

mod session_stores;
pub use session_stores::{
    check_end_user_sessions_ends_only_theirs, check_ended_session_stays_ended,
    check_logout_wins_the_revival_race, check_sessions_expire, check_sessions_round_trip,
    session_store_acceptance_suite, IN_FLIGHT_UPDATES, REVIVAL_ROUNDS,
};

/// A broken rule: which one, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule, as in the `check_*` function name.
    pub rule: &'static str,
    /// What went wrong.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rule `{}` violated: {}", self.rule, self.detail)
    }
}

impl std::error::Error for Violation {}

/// The result of one check.
pub type CheckResult = Result<(), Violation>;

/// How many first logins of one Kakao id race in [`check_concurrent_first_logins_agree`].
pub const CONCURRENT_LOGINS: usize = 20;

/// A login as Kakao would report it: a profile with `nickname`, a valid and verified
/// `email` when given, a profile image, `connected_at`, and tokens that expire in
/// six hours (access) and two months (refresh).
pub fn sample_login(kakao_id: i64, nickname: &str, email: Option<&str>) -> SocialLogin {
    let now = Utc::now();
    let user = KakaoUserInfo {
        id: kakao_id,
        connected_at: Some(now.to_rfc3339()),
        kakao_account: Some(KakaoAccount {
            profile: Some(KakaoProfile {
                nickname: Some(nickname.to_owned()),
                thumbnail_image_url: None,
                profile_image_url: Some(format!("https://k.kakaocdn.net/dn/{kakao_id}.jpg")),
                is_default_image: Some(false),
            }),
            email_needs_agreement: email.map(|_| false),
            is_email_valid: email.map(|_| true),
            is_email_verified: email.map(|_| true),
            email: email.map(str::to_owned),
        }),
        properties: None,
    };
    SocialLogin {
        user: ProviderUser::Kakao(user),
        tokens: Some(Tokens {
            access_token: AccessToken::new(format!("test-access-{kakao_id}")),
            expires_at: now + Duration::hours(6),
            refresh_token: Some(RefreshToken::new(format!("test-refresh-{kakao_id}"))),
            refresh_token_expires_at: Some(now + Duration::days(60)),
            scopes: vec!["profile_nickname".into(), "account_email".into()],
            id_token: None,
        }),
        service_terms: None,
    }
}

/// A Naver login of account `uid` (opaque text) with `nickname` and an (unverified)
/// email.
pub fn sample_naver_login(uid: &str, nickname: &str) -> SocialLogin {
    let now = Utc::now();
    SocialLogin {
        user: ProviderUser::Naver(NaverUserInfo {
            id: uid.to_owned(),
            nickname: Some(nickname.to_owned()),
            name: None,
            email: Some(format!("{nickname}@naver.example")),
            profile_image: None,
        }),
        tokens: Some(Tokens {
            access_token: AccessToken::new(format!("test-naver-access-{uid}")),
            expires_at: now + Duration::hours(1),
            refresh_token: Some(RefreshToken::new(format!("test-naver-refresh-{uid}"))),
            refresh_token_expires_at: None,
            scopes: Vec::new(),
            id_token: None,
        }),
        service_terms: None,
    }
}

/// A random Naver-style id (base64-like, with `+`, `/` and `=`), unlikely to repeat.
pub fn random_naver_id() -> String {
    let n: u64 = rand::thread_rng().gen();
    format!("Nv+{n:016x}/x=")
}

/// A random Kakao id in `[10^12, 2^53)`, unlikely to repeat across runs.
pub fn random_kakao_id() -> i64 {
    rand::thread_rng().gen_range(1_000_000_000_000..(1_i64 << 53))
}

/// Runs every check, each with a fresh store from `make_store`, and panics listing
/// every violated rule.
pub async fn store_acceptance_suite<S, F, Fut>(make_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: UserStore,
{
    let mut violations = Vec::new();
    macro_rules! run {
        ($($check:ident),* $(,)?) => {$(
            let store = make_store().await;
            let outcome = AssertUnwindSafe($check(&store)).catch_unwind().await;
            note_outcome(&mut violations, stringify!($check), outcome);
        )*};
    }
    run!(
        check_first_login_creates_a_user,
        check_get_user_finds_every_created_user,
        check_returning_login_maps_to_the_same_user,
        check_two_kakao_ids_are_two_users,
        check_concurrent_first_logins_agree,
        check_no_matching_by_email_nickname_or_username,
        check_ids_above_2_pow_53_round_trip,
        check_store_errors_never_panic,
    );
    if S::SUPPORTS_LINKING {
        run!(
            check_connect_links_a_free_account_once,
            check_connect_never_takes_another_users_account,
            check_concurrent_connects_of_one_account_agree,
            check_one_account_per_provider_and_user,
        );
    }
    assert!(
        violations.is_empty(),
        "UserStore acceptance suite: {} rule(s) violated:\n  {}",
        violations.len(),
        violations.join("\n  ")
    );
}

/// Adds a check's violation, or its panic, to `violations`.
fn note_outcome(
    violations: &mut Vec<String>,
    check: &str,
    outcome: Result<CheckResult, Box<dyn std::any::Any + Send>>,
) {
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(violation)) => violations.push(violation.to_string()),
        Err(panic) => violations.push(format!(
            "rule `{}` violated: the check panicked: {}",
            check.trim_start_matches("check_"),
            panic_message(&*panic)
        )),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

/// Logs `login` in, turning a store error into a violation of `rule`.
async fn login<S: UserStore>(
    store: &S,
    login: &SocialLogin,
    rule: &'static str,
) -> Result<IdOf<S>, Violation> {
    store
        .find_or_create(login)
        .await
        .map(|user| user.id())
        .map_err(|e| Violation {
            rule,
            detail: format!("find_or_create failed for Kakao id {}: {e}", login.uid()),
        })
}

/// Fails `rule` with `detail` unless `ok`.
fn ensure(ok: bool, rule: &'static str, detail: impl FnOnce() -> String) -> CheckResult {
    if ok {
        Ok(())
    } else {
        Err(Violation {
            rule,
            detail: detail(),
        })
    }
}

/// A first login succeeds, and `get_user` finds the new user.
pub async fn check_first_login_creates_a_user<S: UserStore>(store: &S) -> CheckResult {
    const RULE: &str = "first_login_creates_a_user";
    let id = random_kakao_id();
    let user = login(store, &sample_login(id, "어피치", None), RULE).await?;
    let found = store.get_user(&user).await.map_err(|e| Violation {
        rule: RULE,
        detail: format!("get_user({user}) failed: {e}"),
    })?;
    ensure(found.is_some(), RULE, || {
        format!("Kakao id {id}: the new user {user} is not found by get_user")
    })
}

/// `get_user` returns the very user `find_or_create` returned (same id), for a new and
/// a returning login.
pub async fn check_get_user_finds_every_created_user<S: UserStore>(store: &S) -> CheckResult {
    const RULE: &str = "get_user_finds_every_created_user";
    for kakao_id in [random_kakao_id(), random_kakao_id()] {
        let created = login(store, &sample_login(kakao_id, "프로도", None), RULE).await?;
        let again = login(store, &sample_login(kakao_id, "프로도", None), RULE).await?;
        for id in [&created, &again] {
            let found = store.get_user(id).await.map_err(|e| Violation {
                rule: RULE,
                detail: format!("get_user({id}) failed: {e}"),
            })?;
            let found_id = found.map(|user| user.id());
            ensure(found_id.as_ref() == Some(id), RULE, || {
                format!("get_user({id}) for Kakao id {kakao_id} gave {found_id:?}")
            })?;
        }
    }
    Ok(())
}

/// A second login of the same Kakao id (with changed profile and tokens) maps to the
/// same user.
pub async fn check_returning_login_maps_to_the_same_user<S: UserStore>(store: &S) -> CheckResult {
    const RULE: &str = "returning_login_maps_to_the_same_user";
    let id = random_kakao_id();
    let first = login(
        store,
        &sample_login(id, "라이언", Some("ryan@example.com")),
        RULE,
    )
    .await?;
    let again = login(store, &sample_login(id, "라이언 (new)", None), RULE).await?;
    ensure(first == again, RULE, || {
        format!("Kakao id {id}: first login gave user {first}, the next one user {again}")
    })
}

/// Two Kakao ids give two different users.
pub async fn check_two_kakao_ids_are_two_users<S: UserStore>(store: &S) -> CheckResult {
    const RULE: &str = "two_kakao_ids_are_two_users";
    let (a, b) = (random_kakao_id(), random_kakao_id());
    let user_a = login(store, &sample_login(a, "muzi", None), RULE).await?;
    let user_b = login(store, &sample_login(b, "con", None), RULE).await?;
    ensure(user_a != user_b, RULE, || {
        format!("Kakao ids {a} and {b} both map to user {user_a}")
    })
}

/// [`CONCURRENT_LOGINS`] first logins of one Kakao id, run concurrently, all succeed
/// and all return the same user.
pub async fn check_concurrent_first_logins_agree<S: UserStore>(store: &S) -> CheckResult {
    const RULE: &str = "concurrent_first_logins_agree";
    let id = random_kakao_id();
    let logins: Vec<SocialLogin> = (0..CONCURRENT_LOGINS)
        .map(|i| sample_login(id, &format!("racer {i}"), None))
        .collect();
    let results = join_all(logins.iter().map(|l| login(store, l, RULE))).await;
    let mut ids: Vec<IdOf<S>> = Vec::with_capacity(results.len());
    for result in results {
        let id = result?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ensure(ids.len() == 1, RULE, || {
        format!("{CONCURRENT_LOGINS} concurrent first logins of Kakao id {id} gave users {ids:?}")
    })
}

/// `link_login`, turning a store error into a violation of `rule`.
async fn connect<S: UserStore>(
    store: &S,
    user: &IdOf<S>,
    login: &SocialLogin,
    rule: &'static str,
) -> Result<LinkOutcome<IdOf<S>>, Violation> {
    store.link_login(user, login).await.map_err(|e| Violation {
        rule,
        detail: format!(
            "link_login({user}, {} {}) failed: {e}",
            login.provider(),
            login.uid()
        ),
    })
}

/// A free account connected to a user is linked, connecting it again changes nothing,
/// and logging in with it reaches that user.
pub async fn check_connect_links_a_free_account_once<S: UserStore>(store: &S) -> CheckResult {
    const RULE: &str = "connect_links_a_free_account_once";
    let owner = login(store, &sample_login(random_kakao_id(), "owner", None), RULE).await?;
    let naver = sample_naver_login(&random_naver_id(), "owner-naver");
    let first = connect(store, &owner, &naver, RULE).await?;
    ensure(first == LinkOutcome::Linked, RULE, || {
        format!("the first connect answered {first:?}, not Linked")
    })?;
    let again = connect(store, &owner, &naver, RULE).await?;
    ensure(again == LinkOutcome::AlreadyYours, RULE, || {
        format!("connecting the same account again answered {again:?}, not AlreadyYours")
    })?;
    let through_naver = login(store, &naver, RULE).await?;
    ensure(through_naver == owner, RULE, || {
        format!("a login with the connected account reached {through_naver}, not {owner}")
    })
}

/// A user with one Naver account linked cannot link a second one: connect answers
/// `ProviderAlreadyLinked` and changes nothing.
pub async fn check_one_account_per_provider_and_user<S: UserStore>(store: &S) -> CheckResult {
    const RULE: &str = "one_account_per_provider_and_user";
    let user = login(store, &sample_login(random_kakao_id(), "twice", None), RULE).await?;
    let first = sample_naver_login(&random_naver_id(), "first-naver");
    connect(store, &user, &first, RULE).await?;
    let second = sample_naver_login(&random_naver_id(), "second-naver");
    let refused = connect(store, &user, &second, RULE).await?;
    ensure(refused == LinkOutcome::ProviderAlreadyLinked, RULE, || {
        format!("connecting a second Naver account answered {refused:?}")
    })?;
    let stranger = login(store, &second, RULE).await?;
    ensure(stranger != user, RULE, || {
        "the refused second account reached the user all the same".to_owned()
    })
}

/// An account that belongs to one user is never linked to another: connect answers
/// `OwnedBy` and changes nothing.
pub async fn check_connect_never_takes_another_users_account<S: UserStore>(
    store: &S,
) -> CheckResult {
    const RULE: &str = "connect_never_takes_another_users_account";
    let naver = sample_naver_login(&random_naver_id(), "first");
    let first = login(store, &naver, RULE).await?;
    let second = login(
        store,
        &sample_login(random_kakao_id(), "second", None),
        RULE,
    )
    .await?;
    let taken = connect(store, &second, &naver, RULE).await?;
    ensure(taken == LinkOutcome::OwnedBy(first.clone()), RULE, || {
        format!("connecting another user's account answered {taken:?}")
    })?;
    let still = login(store, &naver, RULE).await?;
    ensure(still == first, RULE, || {
        format!("after a refused connect the account reached {still}, not {first}")
    })
}

/// [`CONCURRENT_LOGINS`] connects of one free account, half by each of two users, run
/// concurrently: exactly one user ends up owning it, every other attempt says so.
pub async fn check_concurrent_connects_of_one_account_agree<S: UserStore>(
    store: &S,
) -> CheckResult {
    const RULE: &str = "concurrent_connects_of_one_account_agree";
    let a = login(store, &sample_login(random_kakao_id(), "a", None), RULE).await?;
    let b = login(store, &sample_login(random_kakao_id(), "b", None), RULE).await?;
    let naver = sample_naver_login(&random_naver_id(), "contested");
    let users: Vec<IdOf<S>> = (0..CONCURRENT_LOGINS)
        .map(|i| if i % 2 == 0 { a.clone() } else { b.clone() })
        .collect();
    let results = join_all(users.iter().map(|u| connect(store, u, &naver, RULE))).await;
    let owner = login(store, &naver, RULE).await?;
    ensure(owner == a || owner == b, RULE, || {
        format!("the contested account reached {owner}, neither {a} nor {b}")
    })?;
    let mut linked = 0;
    for (user, result) in users.iter().zip(results) {
        let outcome = result?;
        let consistent = match &outcome {
            LinkOutcome::Linked => {
                linked += 1;
                *user == owner
            }
            LinkOutcome::AlreadyYours => *user == owner,
            LinkOutcome::OwnedBy(other) => *user != owner && *other == owner,
            _ => false,
        };
        ensure(consistent, RULE, || {
            format!("user {user} got {outcome:?}, but the account is {owner}'s")
        })?;
    }
    ensure(linked == 1, RULE, || {
        format!("{linked} concurrent connects answered Linked; exactly one must")
    })
}

/// A new Kakao id never gets an existing user whose email, nickname or username-like
/// name it shares (CVE-2025-61783), and the existing mapping does not change.
pub async fn check_no_matching_by_email_nickname_or_username<S: UserStore>(
    store: &S,
) -> CheckResult {
    const RULE: &str = "no_matching_by_email_nickname_or_username";
    let (a, b, c) = (random_kakao_id(), random_kakao_id(), random_kakao_id());
    let nickname = format!("victim-{a}");
    let email = format!("victim-{a}@example.com");
    let victim = login(store, &sample_login(a, &nickname, Some(&email)), RULE).await?;
    let same_email_and_nickname =
        login(store, &sample_login(b, &nickname, Some(&email)), RULE).await?;
    ensure(same_email_and_nickname != victim, RULE, || {
        format!("Kakao id {b} got the user of Kakao id {a} by sharing email and nickname")
    })?;
    let username_like = login(
        store,
        &sample_login(c, &format!("kakao_{a}"), Some(&email)),
        RULE,
    )
    .await?;
    ensure(username_like != victim, RULE, || {
        format!("Kakao id {c} with nickname kakao_{a} got the user of Kakao id {a}")
    })?;
    ensure(username_like != same_email_and_nickname, RULE, || {
        format!("Kakao ids {b} and {c} (shared email) map to one user")
    })?;
    let victim_again = login(store, &sample_login(a, &nickname, Some(&email)), RULE).await?;
    ensure(victim_again == victim, RULE, || {
        format!("Kakao id {a} moved from user {victim} to user {victim_again}")
    })
}

/// Ids above 2^53 are kept exactly: 2^53 and 2^53 + 1 (equal as `f64`) are two users,
/// and so are a random large id and its successor; each maps back to its own user.
pub async fn check_ids_above_2_pow_53_round_trip<S: UserStore>(store: &S) -> CheckResult {
    const RULE: &str = "ids_above_2_pow_53_round_trip";
    // A multiple of 1024 below 2^62: as f64, `n + 1` rounds to `n`.
    let n = rand::thread_rng().gen_range((1_i64 << 43)..(1_i64 << 52)) << 10;
    for (low, high) in [(9_007_199_254_740_992, 9_007_199_254_740_993), (n, n + 1)] {
        let user_low = login(store, &sample_login(low, "low", None), RULE).await?;
        let user_high = login(store, &sample_login(high, "high", None), RULE).await?;
        ensure(user_low != user_high, RULE, || {
            format!("Kakao ids {low} and {high} map to the same user {user_low}")
        })?;
        let high_again = login(store, &sample_login(high, "high", None), RULE).await?;
        ensure(high_again == user_high, RULE, || {
            format!("Kakao id {high} gave user {user_high}, then user {high_again}")
        })?;
    }
    Ok(())
}

/// Odd input (a NUL byte, 10 000 characters, SQL, extreme ids, no profile at all) may
/// make the store return an error, but never panic; the store keeps working after.
pub async fn check_store_errors_never_panic<S: UserStore>(store: &S) -> CheckResult {
    const RULE: &str = "store_errors_never_panic";
    let base = random_kakao_id();
    let long = "가".repeat(10_000);
    let mut bare = sample_login(base + 4, "bare", None);
    if let ProviderUser::Kakao(user) = &mut bare.user {
        user.kakao_account = None;
    }
    let odd = [
        sample_login(base, "nul\0byte", Some("nul\0@example.com")),
        sample_login(base + 1, &long, None),
        sample_login(base + 2, "'); DROP TABLE users; --", Some("x'@example.com")),
        sample_login(base + 3, "", None),
        bare,
        sample_login(0, "zero", None),
        sample_login(-base, "negative", None),
        sample_login(i64::MAX, "max", None),
        sample_login(i64::MIN, "min", None),
    ];
    for input in &odd {
        let outcome = AssertUnwindSafe(store.find_or_create(input))
            .catch_unwind()
            .await;
        if let Err(panic) = outcome {
            return Err(Violation {
                rule: RULE,
                detail: format!(
                    "find_or_create panicked for Kakao id {}: {}",
                    input.uid(),
                    panic_message(&*panic)
                ),
            });
        }
    }
    login(store, &sample_login(base + 5, "after", None), RULE)
        .await
        .map(drop)
}

/// The acceptance suite every [`GuardStore`](crate::guard_store::GuardStore) must pass:
/// counters count within a window and start again after it, a marker is inserted once
/// (also by 20 concurrent callers: exactly one wins), markers and counters expire, and
/// only a lock's owner removes it. Keys are random per run, so the suite can run against
/// a shared Redis or database again and again. Panics listing every violated rule.
///
/// ```no_run
/// # async fn run() {
/// let store = actix_kakao_auth::guard_store::MemoryGuardStore::default();
/// actix_kakao_auth::testing::guard_store_acceptance_suite(&store).await;
/// # }
/// ```
pub async fn guard_store_acceptance_suite(store: &dyn crate::guard_store::GuardStore) {
    let violations = guard_store_violations(store).await;
    assert!(
        violations.is_empty(),
        "the guard store breaks {} rule(s):\n{}",
        violations.len(),
        violations
            .iter()
            .map(|v| format!("  - {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The rules [`guard_store_acceptance_suite`] checks, as a list of violations.
pub async fn guard_store_violations(store: &dyn crate::guard_store::GuardStore) -> Vec<Violation> {
    use std::time::Duration as StdDuration;
    let run: u64 = rand::thread_rng().gen();
    let key = |name: &str| format!("acceptance:{run:x}:{name}");
    let mut violations = Vec::new();
    let mut fail = |rule: &'static str, detail: String| violations.push(Violation { rule, detail });

    // Counters.
    let counter = key("counter");
    match store.count(&counter).await {
        Ok(0) => {}
        other => fail("count_of_absent_key_is_zero", format!("{other:?}")),
    }
    let mut counts = Vec::new();
    for _ in 0..3 {
        counts.push(
            store
                .increment(&counter, StdDuration::from_secs(30))
                .await
                .ok(),
        );
    }
    if counts != [Some(1), Some(2), Some(3)] {
        fail("increment_counts_up_from_one", format!("{counts:?}"));
    }
    match store.count(&counter).await {
        Ok(3) => {}
        other => fail("count_reads_without_counting", format!("{other:?}")),
    }
    let parallel = key("parallel-counter");
    let results =
        join_all((0..20).map(|_| store.increment(&parallel, StdDuration::from_secs(30)))).await;
    let mut seen: Vec<u64> = results.into_iter().filter_map(Result::ok).collect();
    seen.sort_unstable();
    if seen != (1..=20).collect::<Vec<u64>>() {
        fail("concurrent_increments_are_atomic", format!("{seen:?}"));
    }

    // Markers.
    let marker = key("marker");
    let winners = join_all((0..20).map(|i| {
        let value = format!("owner-{i}");
        let marker = marker.clone();
        async move {
            store
                .insert_once(&marker, &value, StdDuration::from_secs(30))
                .await
        }
    }))
    .await;
    let won = winners.iter().filter(|r| matches!(r, Ok(true))).count();
    let errors = winners.iter().filter(|r| r.is_err()).count();
    if won != 1 || errors != 0 {
        fail(
            "insert_once_has_exactly_one_winner",
            format!("{won} winners, {errors} errors of 20"),
        );
    }
    let owner = (0..20)
        .map(|i| format!("owner-{i}"))
        .zip(&winners)
        .find(|(_, r)| matches!(r, Ok(true)))
        .map(|(v, _)| v);
    if let Some(owner) = owner {
        match store.remove_if(&marker, "someone-else").await {
            Ok(false) => {}
            other => fail("only_the_owner_removes", format!("{other:?}")),
        }
        match store.remove_if(&marker, &owner).await {
            Ok(true) => {}
            other => fail("the_owner_removes", format!("{other:?}")),
        }
        match store
            .insert_once(&marker, "again", StdDuration::from_secs(30))
            .await
        {
            Ok(true) => {}
            other => fail(
                "a_removed_marker_can_be_inserted_again",
                format!("{other:?}"),
            ),
        }
    }

    // Expiry.
    let short_counter = key("short-counter");
    let short_marker = key("short-marker");
    let _ = store
        .increment(&short_counter, StdDuration::from_millis(1200))
        .await;
    let _ = store
        .increment(&short_counter, StdDuration::from_millis(1200))
        .await;
    let _ = store
        .insert_once(&short_marker, "x", StdDuration::from_millis(1200))
        .await;
    tokio::time::sleep(StdDuration::from_millis(2200)).await;
    match store.count(&short_counter).await {
        Ok(0) => {}
        other => fail("counters_expire_after_their_window", format!("{other:?}")),
    }
    match store
        .increment(&short_counter, StdDuration::from_secs(30))
        .await
    {
        Ok(1) => {}
        other => fail(
            "an_expired_counter_starts_again_at_one",
            format!("{other:?}"),
        ),
    }
    match store
        .insert_once(&short_marker, "y", StdDuration::from_secs(30))
        .await
    {
        Ok(true) => {}
        other => fail("markers_expire_after_their_ttl", format!("{other:?}")),
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_logins_carry_a_verified_email_and_a_nickname() {
        let login = sample_login(9_007_199_254_740_993, "라이언", Some("r@example.com"));
        assert_eq!(login.uid(), "9007199254740993");
        assert_eq!(login.user.nickname(), Some("라이언"));
        assert_eq!(login.user.verified_email(), Some("r@example.com"));
        assert!(login.user.profile_image_url().is_some());
        assert_eq!(sample_login(1, "x", None).user.verified_email(), None);
    }

    #[test]
    fn the_large_id_pair_collapses_as_f64() {
        let n: i64 = 1 << 61;
        assert_eq!(n as f64, (n + 1) as f64);
        assert_eq!(
            9_007_199_254_740_992_i64 as f64,
            9_007_199_254_740_993_i64 as f64
        );
    }
}
