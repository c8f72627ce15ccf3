//! [`OidcState`]: the emulator's OpenID Connect state: the signing-key rotation, the JWKS
//! requests seen and the id_tokens minted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use super::signing::Rotation;

/// Upper bound on the remembered id_tokens.
const MAX_ISSUED: usize = 1_000;

/// The emulator's OIDC state.
#[derive(Debug, Default)]
pub(crate) struct OidcState {
    /// Which keys are published and which one signs.
    pub rotation: Rotation,
    jwks_requests: AtomicUsize,
    issued: Mutex<Vec<String>>,
}

impl OidcState {
    pub(crate) fn count_jwks_request(&self) {
        self.jwks_requests.fetch_add(1, Ordering::SeqCst);
    }

    /// `GET /.well-known/jwks.json` requests so far (also those answered by a fault).
    pub(crate) fn jwks_requests(&self) -> usize {
        self.jwks_requests.load(Ordering::SeqCst)
    }

    /// The id_tokens the token endpoint minted, oldest first.
    pub(crate) fn issued(&self) -> Vec<String> {
        self.issued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn remember(&self, token: &str) {
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        if issued.len() >= MAX_ISSUED {
            issued.remove(0);
        }
        issued.push(token.to_owned());
    }
}
