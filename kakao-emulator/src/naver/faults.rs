//! Run-time fault switches of the Naver emulator.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A Naver endpoint a fault can be put on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NaverEndpoint {
    /// `/oauth2/token` and `/oauth2.0/token`.
    Token,
    /// `/v1/nid/me`.
    Me,
    /// `/oauth2/jwks`.
    Jwks,
    /// `/oauth2.0/revoke`.
    Revoke,
}

/// What an endpoint does instead of its work.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NaverFault {
    /// Waits this long, then answers normally.
    Delay(Duration),
    /// A 500 HTML page.
    ServerErrorPage,
    /// `503 {"error":"temporarily_unavailable",…}`.
    Unavailable,
    /// Token endpoint: `200 {"error": <this>, "error_description": …}` (Naver's classic
    /// failure shape, with a success status).
    ErrorWithOk(String),
    /// `/v1/nid/me`: `200 {"resultcode": <this>, "message": …}` with no `response`.
    ResultCode(String),
}

/// The fault table, shared with the running server; changes apply from the next request.
#[derive(Debug, Clone, Default)]
pub struct NaverFaults {
    table: Arc<Mutex<Table>>,
}

#[derive(Debug, Default)]
struct Table {
    faults: Vec<(NaverEndpoint, NaverFault)>,
    expires_in_as_number: bool,
    id_token_sub: Option<String>,
    id_token: Option<crate::IdTokenFault>,
    me_errors_with_ok: bool,
}

impl NaverFaults {
    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `fault` on `endpoint` (replacing one there).
    pub fn set(&self, endpoint: NaverEndpoint, fault: NaverFault) {
        let mut table = self.table();
        table.faults.retain(|(e, _)| *e != endpoint);
        table.faults.push((endpoint, fault));
    }

    /// Removes every fault and switch.
    pub fn clear(&self) {
        *self.table() = Table::default();
    }

    /// `expires_in` as a JSON number instead of Naver's string. Default: a string.
    pub fn set_expires_in_as_number(&self, on: bool) {
        self.table().expires_in_as_number = on;
    }

    /// Mints id_tokens whose `sub` is this instead of the user's id (a token that does not
    /// match `/v1/nid/me`). Default: the user's id.
    pub fn set_id_token_sub(&self, sub: Option<String>) {
        self.table().id_token_sub = sub;
    }

    /// Builds `fault` into every id_token minted from now on (`None`: good tokens). A
    /// missing `nonce` is how Naver may well answer: a client must accept it.
    pub fn set_id_token(&self, fault: Option<crate::IdTokenFault>) {
        self.table().id_token = fault;
    }

    /// `/v1/nid/me` answers a dead token with `200` and `resultcode` `024` instead of `401`.
    pub fn set_me_errors_with_ok(&self, on: bool) {
        self.table().me_errors_with_ok = on;
    }

    pub(crate) fn on(&self, endpoint: NaverEndpoint) -> Option<NaverFault> {
        self.table()
            .faults
            .iter()
            .find(|(e, _)| *e == endpoint)
            .map(|(_, f)| f.clone())
    }

    pub(crate) fn expires_in_as_number(&self) -> bool {
        self.table().expires_in_as_number
    }

    pub(crate) fn id_token_sub(&self) -> Option<String> {
        self.table().id_token_sub.clone()
    }

    pub(crate) fn id_token(&self) -> Option<crate::IdTokenFault> {
        self.table().id_token
    }

    pub(crate) fn me_errors_with_ok(&self) -> bool {
        self.table().me_errors_with_ok
    }
}
