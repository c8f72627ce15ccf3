//! Text from a request or from Kakao, made safe to print on one log line.
//!
//! [`LogSafe`] prints at most a bounded number of characters and escapes every character
//! that could end a line or confuse a terminal (in Rust string-literal notation):
//! `"\n"` → `"\\n"`, `"\r"` → `"\\r"`, `"\t"` → `"\\t"`, a backslash `"\\"` → `"\\\\"` (so an
//! escape in the output is never ambiguous), and any other control character or Unicode
//! line/paragraph separator → `"\\u{..}"`. Text cut at the bound ends with `…`.

use std::fmt;

/// Default bound, in characters of the input.
pub(crate) const DEFAULT_LIMIT: usize = 256;

/// Prints `text` escaped and bounded; see the module documentation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogSafe<'a> {
    text: &'a str,
    limit: usize,
}

impl<'a> LogSafe<'a> {
    /// At most `limit` characters of `text`.
    pub(crate) fn new(text: &'a str, limit: usize) -> Self {
        Self { text, limit }
    }
}

/// `text` bounded to [`DEFAULT_LIMIT`] characters, for use in `Display` output.
pub(crate) fn log_safe(text: &str) -> LogSafe<'_> {
    LogSafe::new(text, DEFAULT_LIMIT)
}

/// `text` escaped and bounded to `limit` characters, as an owned string.
pub(crate) fn escape(text: &str, limit: usize) -> String {
    LogSafe::new(text, limit).to_string()
}

impl fmt::Display for LogSafe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.text.chars();
        for c in chars.by_ref().take(self.limit) {
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                '\\' => f.write_str("\\\\")?,
                c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                    write!(f, "\\u{{{:x}}}", u32::from(c))?;
                }
                c => fmt::Write::write_char(f, c)?,
            }
        }
        if chars.next().is_some() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_and_controls_are_escaped_so_no_new_line_starts() {
        let printed = escape("a\nb\rc\td\u{0}e\u{1b}[31mf\u{85}g\u{2028}h", 100);
        assert_eq!(
            printed,
            "a\\nb\\rc\\td\\u{0}e\\u{1b}[31mf\\u{85}g\\u{2028}h"
        );
        assert!(!printed.chars().any(char::is_control), "{printed}");
    }

    #[test]
    fn ordinary_text_passes_unchanged() {
        assert_eq!(escape("access_denied", 64), "access_denied");
        assert_eq!(escape("카카오 로그인", 64), "카카오 로그인");
    }

    #[test]
    fn a_backslash_is_doubled_so_escapes_stay_unambiguous() {
        assert_eq!(escape("a\\nb", 64), "a\\\\nb");
        assert_ne!(escape("a\\nb", 64), escape("a\nb", 64));
    }

    #[test]
    fn long_text_is_cut_at_the_bound_and_marked() {
        assert_eq!(escape("abcdef", 3), "abc…");
        assert_eq!(escape("abc", 3), "abc");
        assert_eq!(log_safe(&"x".repeat(1000)).to_string().chars().count(), 257);
    }
}
