//! The Naver emulator's configuration and its memory: pending consents, codes, tokens and
//! the request logs.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::distributions::{Alphanumeric, DistString};

use super::faults::NaverFaults;
use super::fixtures::NaverUser;
use crate::oidc::signing::Rotation;
use crate::state::RecordedRequest;

/// Which of Naver's two path families a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathFamily {
    /// `/oauth2.0/*`: no PKCE, no id_token.
    Classic,
    /// `/oauth2/*`: PKCE S256 and an id_token.
    Oidc,
}

/// The emulated app.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub users: Vec<NaverUser>,
    pub code_ttl: Duration,
    pub access_token_ttl: Duration,
}

/// An authorize request waiting for the consent page's answer.
#[derive(Debug, Clone)]
pub(crate) struct PendingConsent {
    pub family: PathFamily,
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
}

/// A code, before it is redeemed.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub family: PathFamily,
    pub user: String,
    pub declined: Vec<String>,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub issued: Instant,
}

/// What a token stands for.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub user: String,
    pub declined: Vec<String>,
}

/// A live access token.
#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub grant: Grant,
    pub expires: Instant,
    /// The refresh token it came with (revoking one revokes the other).
    pub refresh: String,
}

#[derive(Debug, Default)]
pub(crate) struct Memory {
    pub consents: HashMap<String, PendingConsent>,
    pub codes: HashMap<String, CodeGrant>,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, Grant>,
    pub token_log: Vec<RecordedRequest>,
    pub me_log: Vec<RecordedRequest>,
    pub revoke_log: Vec<RecordedRequest>,
    pub authorize_log: Vec<RecordedRequest>,
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    pub base_url: url::Url,
    pub faults: NaverFaults,
    pub rotation: Rotation,
    memory: Mutex<Memory>,
}

impl Shared {
    pub(crate) fn new(config: Config, base_url: url::Url) -> Self {
        Self {
            config,
            base_url,
            faults: NaverFaults::default(),
            rotation: Rotation::default(),
            memory: Mutex::new(Memory::default()),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `iss` of the id_tokens: the base URL without its trailing slash.
    pub(crate) fn issuer(&self) -> String {
        self.base_url.as_str().trim_end_matches('/').to_owned()
    }

    pub(crate) fn user(&self, id: &str) -> Option<&NaverUser> {
        self.config.users.iter().find(|u| u.id == id)
    }

    /// A fresh access token: Naver's are up to 256 characters of `[A-Za-z0-9+/=]`, so the
    /// emulator's carry `+`, `/` and `=` to catch clients that do not encode them.
    pub(crate) fn new_access_token(&self, grant: Grant, refresh: String) -> String {
        let token = format!("AAAAN+{}/{}==", random(40), random(8));
        self.lock().access.insert(
            token.clone(),
            AccessToken {
                grant,
                expires: Instant::now() + self.config.access_token_ttl,
                refresh,
            },
        );
        token
    }

    /// Revokes `token` (an access or a refresh token) and its pair. Unknown tokens are
    /// fine, as at Naver.
    pub(crate) fn revoke(&self, token: &str) {
        let mut memory = self.lock();
        if let Some(access) = memory.access.remove(token) {
            memory.refresh.remove(&access.refresh);
        }
        if memory.refresh.remove(token).is_some() {
            memory.access.retain(|_, a| a.refresh != token);
        }
    }
}

/// `n` random letters and digits.
pub(crate) fn random(n: usize) -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), n)
}
