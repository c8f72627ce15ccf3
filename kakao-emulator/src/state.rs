//! The emulator's memory: configuration, pending consent requests, codes, tokens, consents and
//! request logs. Every lock is short and never held across an `.await`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::RngCore;

use super::faults::Faults;
use super::fixtures::FixtureUser;
use super::oidc::tokens_seen::OidcState;

/// How long an unanswered consent page stays valid.
const PENDING_TTL: Duration = Duration::from_secs(30 * 60);
/// Upper bound on remembered pending consent requests and codes (oldest evicted first).
const MAX_PENDING: usize = 10_000;
/// Upper bound on each request log.
const MAX_LOG: usize = 10_000;
/// KOE237 limits ([K-QUOTA]): access tokens per 10 min, refreshes per 60 min, per user.
const ACCESS_LIMIT: (usize, Duration) = (20, Duration::from_secs(10 * 60));
const REFRESH_LIMIT: (usize, Duration) = (30, Duration::from_secs(60 * 60));

/// One request as received by the emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The request path, e.g. `/oauth/token`.
    pub path: String,
    /// Every parameter, first occurrence wins: the form body for a POST, merged over the
    /// query string (so a GET's query parameters are here too). Secrets are recorded as sent.
    pub form: BTreeMap<String, String>,
    /// The `Authorization` header, verbatim.
    pub authorization: Option<String>,
}

/// The app registration the emulator pretends to have.
#[derive(Clone)]
pub(crate) struct Config {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub logout_redirect_uris: Vec<String>,
    pub admin_key: Option<String>,
    pub app_id: i64,
    pub users: Vec<FixtureUser>,
    pub code_ttl: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub refresh_rotation_window: Duration,
    pub token_rate_limit: bool,
    pub allowed_scopes: Vec<String>,
    /// Kakao Sync service terms: (tag, required).
    pub service_terms: Vec<(String, bool)>,
    /// The app's native app key and JavaScript key (SDK logins).
    pub native_app_key: String,
    pub javascript_key: String,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("redirect_uris", &self.redirect_uris)
            .field("logout_redirect_uris", &self.logout_redirect_uris)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field("app_id", &self.app_id)
            .field("users", &self.users.len())
            .field("code_ttl", &self.code_ttl)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("refresh_rotation_window", &self.refresh_rotation_window)
            .field("token_rate_limit", &self.token_rate_limit)
            .field("allowed_scopes", &self.allowed_scopes)
            .finish()
    }
}

/// An authorize request waiting for the user's decision on the consent page.
#[derive(Debug, Clone)]
pub(crate) struct PendingAuthorize {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub created: Instant,
    /// The configured service terms this request shows (Kakao Sync).
    pub service_terms: Vec<String>,
}

/// What a one-time authorization code stands for.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub scopes: Vec<String>,
    pub user_id: i64,
    /// Kept for ID-token minting (see `oidc`).
    pub nonce: Option<String>,
    pub expires_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub user_id: i64,
    pub scopes: Vec<String>,
    pub expires_at: Instant,
    /// The refresh token issued alongside (revoked together on logout).
    pub refresh_token: String,
    /// The app the token was issued to (`access_token_info`'s `app_id`).
    pub app_id: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub user_id: i64,
    pub scopes: Vec<String>,
    pub expires_at: Instant,
    /// Whether the original grant carried an ID token (refresh then returns one again).
    pub with_id_token: bool,
}

/// A user's link to the app (consent), which unlink withdraws.
#[derive(Debug, Clone)]
pub(crate) struct Consent {
    pub connected_at: DateTime<Utc>,
    pub scopes: BTreeSet<String>,
}

/// Tokens minted for one successful token request.
#[derive(Debug, Clone)]
pub(crate) struct Minted {
    pub access_token: String,
    pub refresh_token: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Inner {
    pub pending: HashMap<String, PendingAuthorize>,
    pub codes: HashMap<String, CodeGrant>,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, RefreshToken>,
    pub consents: HashMap<i64, Consent>,
    /// Users created from a typed nickname.
    pub nickname_users: HashMap<i64, FixtureUser>,
    /// The user of the emulated Kakao Account browser session (last one to approve), for `prompt=none`.
    pub session_user: Option<i64>,
    /// Kakao Sync: each user's agreed service terms, tag → when (RFC 3339).
    pub agreed_terms: HashMap<i64, BTreeMap<String, String>>,
    pub token_log: VecDeque<RecordedRequest>,
    pub user_me_log: VecDeque<RecordedRequest>,
    /// When expired tokens and pending requests are next swept out (at most once a
    /// second: a sweep walks every entry, and a busy emulator holds many).
    next_sweep: Option<Instant>,
    access_issued: HashMap<i64, VecDeque<Instant>>,
    refresh_issued: HashMap<i64, VecDeque<Instant>>,
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    /// Where the emulator is reachable, e.g. `http://127.0.0.1:PORT/`.
    pub base_url: url::Url,
    pub faults: Faults,
    /// Signing-key rotation, JWKS request count and the id_tokens minted.
    pub oidc: OidcState,
    inner: Mutex<Inner>,
}

/// A random URL-safe token of `bytes` bytes of entropy.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// `now + ttl`, saturating at roughly a century instead of overflowing on a huge ttl.
pub(crate) fn deadline(now: Instant, ttl: Duration) -> Instant {
    now.checked_add(ttl)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// RFC 3339, seconds precision, `Z` suffix: Kakao's `connected_at` format.
pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn push_bounded(log: &mut VecDeque<RecordedRequest>, request: RecordedRequest) {
    if log.len() >= MAX_LOG {
        log.pop_front();
    }
    log.push_back(request);
}

/// How often [`Inner::sweep_due`] lets a sweep of expired entries run.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

impl Inner {
    /// Whether a sweep of expired entries is due now; if so, the next is a second away.
    /// Expired entries are refused when looked up whether swept or not, so sweeping is
    /// only about memory.
    fn sweep_due(&mut self, now: Instant) -> bool {
        if self.next_sweep.is_some_and(|next| now < next) {
            return false;
        }
        self.next_sweep = Some(now + SWEEP_EVERY);
        true
    }
}

/// Checks and counts one issuance against a sliding-window limit.
fn within_limit(
    counters: &mut HashMap<i64, VecDeque<Instant>>,
    user_id: i64,
    (max, window): (usize, Duration),
    now: Instant,
) -> bool {
    let seen = counters.entry(user_id).or_default();
    while seen
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        seen.pop_front();
    }
    seen.len() < max
}

fn count(counters: &mut HashMap<i64, VecDeque<Instant>>, user_id: i64, now: Instant) {
    counters.entry(user_id).or_default().push_back(now);
}

/// Removes the oldest entries until fewer than `MAX_PENDING` remain.
fn evict_oldest<V>(map: &mut HashMap<String, V>, age: impl Fn(&V) -> Instant) {
    while map.len() >= MAX_PENDING {
        let oldest = map
            .iter()
            .min_by_key(|(_, v)| age(v))
            .map(|(k, _)| k.clone());
        match oldest {
            Some(key) => {
                map.remove(&key);
            }
            None => break,
        }
    }
}

impl Shared {
    pub(crate) fn new(config: Config, base_url: url::Url) -> Self {
        Shared {
            config,
            base_url,
            faults: Faults::default(),
            oidc: OidcState::default(),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The shared state, even if a handler panicked while holding the lock.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fixture user or a user created from a typed nickname.
    pub(crate) fn user(&self, id: i64) -> Option<FixtureUser> {
        if let Some(user) = self.config.users.iter().find(|u| u.id == id) {
            return Some(user.clone());
        }
        self.lock().nickname_users.get(&id).cloned()
    }

    pub(crate) fn record_token_request(&self, request: RecordedRequest) {
        push_bounded(&mut self.lock().token_log, request);
    }

    pub(crate) fn record_user_me_request(&self, request: RecordedRequest) {
        push_bounded(&mut self.lock().user_me_log, request);
    }

    /// Remembers a consent page's request and returns its `request_id`.
    pub(crate) fn add_pending(&self, pending: PendingAuthorize) -> String {
        let id = random_token(24);
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.sweep_due(now) {
            inner
                .pending
                .retain(|_, p| now.saturating_duration_since(p.created) < PENDING_TTL);
        }
        evict_oldest(&mut inner.pending, |p| p.created);
        inner.pending.insert(id.clone(), pending);
        id
    }

    /// Takes (single use) a pending request if it exists and has not expired.
    pub(crate) fn take_pending(&self, request_id: &str) -> Option<PendingAuthorize> {
        let pending = self.lock().pending.remove(request_id)?;
        (pending.created.elapsed() < PENDING_TTL).then_some(pending)
    }

    /// Records the user's consent (linking them to the app) and makes them the session user.
    pub(crate) fn record_consent(&self, user: &FixtureUser, scopes: &[String]) {
        let mut inner = self.lock();
        if self.config.users.iter().all(|u| u.id != user.id) {
            inner.nickname_users.insert(user.id, user.clone());
        }
        let consent = inner.consents.entry(user.id).or_insert_with(|| Consent {
            connected_at: Utc::now(),
            scopes: BTreeSet::new(),
        });
        consent.scopes.extend(scopes.iter().cloned());
        inner.session_user = Some(user.id);
    }

    /// Withdraws `user_id`'s consent to `scope`. Returns whether it was agreed.
    pub(crate) fn revoke_scope(&self, user_id: i64, scope: &str) -> bool {
        self.lock()
            .consents
            .get_mut(&user_id)
            .is_some_and(|consent| consent.scopes.remove(scope))
    }

    /// Mints a one-time authorization code.
    pub(crate) fn mint_code(&self, grant: CodeGrant) -> String {
        let code = random_token(64);
        let now = Instant::now();
        let mut inner = self.lock();
        inner.codes.retain(|_, c| c.expires_at > now);
        evict_oldest(&mut inner.codes, |c| c.expires_at);
        inner.codes.insert(code.clone(), grant);
        code
    }

    /// Takes a code (single use: consumed by the first redemption attempt that finds it).
    /// Unknown and expired codes give `None`.
    pub(crate) fn take_code(&self, code: &str) -> Option<CodeGrant> {
        let grant = self.lock().codes.remove(code)?;
        (grant.expires_at > Instant::now()).then_some(grant)
    }

    /// A live access token.
    pub(crate) fn access_token(&self, token: &str) -> Option<AccessToken> {
        let mut inner = self.lock();
        let found = inner.access.get(token)?.clone();
        if found.expires_at <= Instant::now() {
            inner.access.remove(token);
            return None;
        }
        Some(found)
    }

    /// A live refresh token.
    pub(crate) fn refresh_token(&self, token: &str) -> Option<RefreshToken> {
        let mut inner = self.lock();
        let found = inner.refresh.get(token)?.clone();
        if found.expires_at <= Instant::now() {
            inner.refresh.remove(token);
            return None;
        }
        Some(found)
    }

    /// Whether another access token (and, for a refresh, another refresh) may be issued to
    /// this user under KOE237's limits. Counts the issuance when allowed. Always true when the
    /// rate limit is off.
    pub(crate) fn allow_issuance(&self, user_id: i64, is_refresh: bool) -> bool {
        if !self.config.token_rate_limit {
            return true;
        }
        let now = Instant::now();
        let mut inner = self.lock();
        let inner = &mut *inner;
        let access_ok = within_limit(&mut inner.access_issued, user_id, ACCESS_LIMIT, now);
        let refresh_ok =
            !is_refresh || within_limit(&mut inner.refresh_issued, user_id, REFRESH_LIMIT, now);
        if !(access_ok && refresh_ok) {
            return false;
        }
        count(&mut inner.access_issued, user_id, now);
        if is_refresh {
            count(&mut inner.refresh_issued, user_id, now);
        }
        true
    }

    /// Mints an access token and a refresh token for a code exchange.
    pub(crate) fn mint_pair(&self, user_id: i64, scopes: &[String], with_id_token: bool) -> Minted {
        let now = Instant::now();
        let access_token = random_token(40);
        let refresh_token = random_token(40);
        let mut inner = self.lock();
        if inner.sweep_due(now) {
            prune_tokens(&mut inner, now);
        }
        inner.refresh.insert(
            refresh_token.clone(),
            RefreshToken {
                user_id,
                scopes: scopes.to_vec(),
                expires_at: deadline(now, self.config.refresh_token_ttl),
                with_id_token,
            },
        );
        inner.access.insert(
            access_token.clone(),
            AccessToken {
                user_id,
                scopes: scopes.to_vec(),
                expires_at: deadline(now, self.config.access_token_ttl),
                refresh_token: refresh_token.clone(),
                app_id: self.config.app_id,
            },
        );
        Minted {
            access_token,
            refresh_token: Some(refresh_token),
        }
    }

    /// Mints an access token issued to the app `app_id` (an SDK login), with a refresh
    /// token alongside.
    pub(crate) fn mint_for_app(&self, user_id: i64, scopes: &[String], app_id: i64) -> String {
        let minted = self.mint_pair(user_id, scopes, false);
        if let Some(record) = self.lock().access.get_mut(&minted.access_token) {
            record.app_id = app_id;
        }
        minted.access_token
    }

    /// Mints a new access token from a refresh token; rotates the refresh token (invalidating
    /// the old one) only when less than the rotation window is left on it.
    /// `None` if the refresh token vanished meanwhile.
    pub(crate) fn mint_from_refresh(&self, old_refresh: &str) -> Option<(Minted, RefreshToken)> {
        let now = Instant::now();
        let mut inner = self.lock();
        let record = inner.refresh.get(old_refresh)?.clone();
        let remaining = record.expires_at.saturating_duration_since(now);
        let rotate = remaining < self.config.refresh_rotation_window;
        let refresh_for_access = if rotate {
            inner.refresh.remove(old_refresh);
            let fresh = random_token(40);
            inner.refresh.insert(
                fresh.clone(),
                RefreshToken {
                    expires_at: deadline(now, self.config.refresh_token_ttl),
                    ..record.clone()
                },
            );
            fresh
        } else {
            old_refresh.to_owned()
        };
        let access_token = random_token(40);
        inner.access.insert(
            access_token.clone(),
            AccessToken {
                user_id: record.user_id,
                scopes: record.scopes.clone(),
                expires_at: deadline(now, self.config.access_token_ttl),
                refresh_token: refresh_for_access.clone(),
                app_id: self.config.app_id,
            },
        );
        let minted = Minted {
            access_token,
            refresh_token: rotate.then_some(refresh_for_access),
        };
        Some((minted, record))
    }

    /// Revokes one access token and the refresh token issued with it.
    pub(crate) fn revoke_access_token(&self, token: &str) {
        let mut inner = self.lock();
        if let Some(record) = inner.access.remove(token) {
            inner.refresh.remove(&record.refresh_token);
        }
    }

    /// Revokes every access and refresh token of a user.
    pub(crate) fn revoke_user(&self, user_id: i64) {
        let mut inner = self.lock();
        inner.access.retain(|_, t| t.user_id != user_id);
        inner.refresh.retain(|_, t| t.user_id != user_id);
    }

    /// Unlinks a user: revokes their tokens and forgets their consent.
    /// Returns whether the user was linked.
    pub(crate) fn unlink_user(&self, user_id: i64) -> bool {
        self.revoke_user(user_id);
        let mut inner = self.lock();
        inner.codes.retain(|_, c| c.user_id != user_id);
        inner.agreed_terms.remove(&user_id);
        inner.consents.remove(&user_id).is_some()
    }

    /// Records that `user_id` agreed to `tags` now (a renewed agreement gets a new time).
    pub(crate) fn agree_terms(&self, user_id: i64, tags: &[String]) {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut inner = self.lock();
        let agreed = inner.agreed_terms.entry(user_id).or_default();
        for tag in tags {
            agreed.insert(tag.clone(), now.clone());
        }
    }

    /// The service terms `user_id` agreed to, tag → when.
    pub(crate) fn agreed_terms(&self, user_id: i64) -> BTreeMap<String, String> {
        self.lock()
            .agreed_terms
            .get(&user_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Withdraws `user_id`'s agreement to `tags` where it is revocable (agreed and not
    /// required). Returns the tags withdrawn.
    pub(crate) fn revoke_terms(&self, user_id: i64, tags: &[&str]) -> Vec<String> {
        let required: Vec<&str> = self
            .config
            .service_terms
            .iter()
            .filter(|(_, required)| *required)
            .map(|(tag, _)| tag.as_str())
            .collect();
        let mut inner = self.lock();
        let Some(agreed) = inner.agreed_terms.get_mut(&user_id) else {
            return Vec::new();
        };
        tags.iter()
            .filter(|tag| !required.contains(tag))
            .filter(|tag| agreed.remove(**tag).is_some())
            .map(|tag| (*tag).to_owned())
            .collect()
    }

    pub(crate) fn revoke_all(&self) {
        let mut inner = self.lock();
        inner.access.clear();
        inner.refresh.clear();
    }

    pub(crate) fn consent_of(&self, user_id: i64) -> Option<Consent> {
        self.lock().consents.get(&user_id).cloned()
    }
}

fn prune_tokens(inner: &mut Inner, now: Instant) {
    inner.access.retain(|_, t| t.expires_at > now);
    inner.refresh.retain(|_, t| t.expires_at > now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_run_at_most_once_a_second() {
        let mut inner = Inner::default();
        let start = Instant::now();
        assert!(inner.sweep_due(start), "the first sweep runs");
        assert!(!inner.sweep_due(start + Duration::from_millis(500)));
        assert!(inner.sweep_due(start + SWEEP_EVERY));
        assert!(!inner.sweep_due(start + SWEEP_EVERY));
    }

    #[test]
    fn the_request_logs_keep_the_newest() {
        let mut log = VecDeque::new();
        for n in 0..MAX_LOG + 3 {
            push_bounded(
                &mut log,
                RecordedRequest {
                    method: "POST".into(),
                    path: format!("/{n}"),
                    form: BTreeMap::new(),
                    authorization: None,
                },
            );
        }
        assert_eq!(log.len(), MAX_LOG);
        assert_eq!(log.front().map(|r| r.path.as_str()), Some("/3"));
        assert_eq!(
            log.back().map(|r| r.path.clone()),
            Some(format!("/{}", MAX_LOG + 2))
        );
    }
}
