//! The clock the id_token checks read (injectable, for tests).

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// The verifier's clock: returns "now". Shared by the claim checks and the JWKS cache.
pub type TimeFn = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;
