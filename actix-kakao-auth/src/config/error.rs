//! [`ConfigError`]: a setting that is missing or malformed, by name.

/// A configuration value was missing or malformed. `Display` is one line naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required value is absent.
    #[error("{name} is required but not set")]
    Missing {
        /// The setting or environment variable.
        name: &'static str,
    },
    /// A value is present but unusable.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The setting or environment variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name,
            reason: reason.into(),
        }
    }
}
