//! Errors of the emulator's client-side helpers (`consent`, `send_unlink_webhook`).

/// What went wrong while driving the emulator (or an app) over HTTP.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The emulator answered one of its Kakao-style error pages instead of a redirect.
    #[error("the Kakao emulator answered an error page ({code})")]
    KakaoErrorPage {
        /// The KOE code on the page, e.g. `KOE006`.
        code: String,
    },
    /// The HTTP request itself failed (connection, timeout, …).
    #[error("HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// Anything else that does not look like what a browser would get from Kakao.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}
