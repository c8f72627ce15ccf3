//! Secret values (client secret, tokens) that never print themselves.
//!
//! Each type prints `[redacted]` through `Debug`, has no `Display` and no derived
//! `PartialEq`, so a secret cannot end up in a log line or a panic message by accident.
//! Call `secret()` where the raw value is really needed. The OAuth ones are `oauth2`'s own
//! types ([`AccessToken`], [`RefreshToken`], [`ClientSecret`]); Kakao's admin key and the
//! OpenID Connect id_token are defined here the same way.

pub use oauth2::{AccessToken, ClientSecret, RefreshToken};

use serde::{Deserialize, Serialize};

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a raw value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The raw value. Keep it out of logs.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_type!(
    /// The app's admin key (Kakao console: 앱 키 → Admin 키). Server-side only.
    AdminKey
);
secret_type!(
    /// An OpenID Connect id_token (a JWT) as received from Kakao.
    IdToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_value() {
        let token = AccessToken::new("very-secret-value".into());
        let printed = format!(
            "{token:?} {:?} {:?}",
            ClientSecret::new("very-secret-value".into()),
            AdminKey::new("very-secret-value")
        );
        assert!(!printed.contains("very-secret-value"), "{printed}");
        assert!(printed.contains("[redacted]"));
        assert_eq!(token.secret(), "very-secret-value");
    }
}
