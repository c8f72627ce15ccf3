//! [`AppState`]: what the demo's handlers share.

use crate::db::Db;
use crate::sessions::Sessions;
use crate::store::DieselUserStore;

/// Shared by the demo's handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Users and links.
    pub store: DieselUserStore,
    /// True when talking to the built-in emulator.
    pub emulator_mode: bool,
    /// The session store.
    pub sessions: Sessions,
    /// True when Kakao Sync service terms are configured (the home page shows the ledger).
    pub service_terms: bool,
    /// True when Naver Login is on.
    pub naver: bool,
}
