//! What is Naver's own (네이버 로그인): the client for the OpenID Connect path and
//! `/v1/nid/me`, the user's profile, errors in Naver's envelopes, and the unlink
//! notification.
//!
//! The differences from Kakao that matter here: `expires_in` comes as a string; the token
//! endpoint may answer **200** with an `error` field, and `/v1/nid/me` with a `resultcode`
//! other than `"00"` (both are failures whatever the status); ids are pairwise **text**
//! (digits or base64-like with `+/=`); the email has no verification flag, so it is never
//! treated as verified; a refresh brings no new refresh token; there is no logout API,
//! only revocation.

pub mod client;
pub mod error;
pub mod preflight;
pub mod profile;
pub mod unlink;

pub use client::{NaverAuthorize, NaverClient, NaverSettings};
pub use error::NaverApiError;
pub use profile::NaverUserInfo;
pub use unlink::{UnlinkNotification, UnlinkRefused};
