//! Kakao Login for Actix Web (placeholder root docs; completed below).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod profile;
pub mod secret;
pub mod store;

#[cfg(feature = "emulator")]
pub mod emulator;

#[cfg(feature = "testing")]
pub mod testing;
