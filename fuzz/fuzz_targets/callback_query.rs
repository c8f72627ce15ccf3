//! The callback's query-string parser (`?code=…&state=…&error=…`).
#![no_main]

use actix_kakao_auth::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((code, state, error)) = fuzzing::callback_query(query) {
        // What parsed came from a query of at most 8 KiB.
        let parsed = [code, state, error].into_iter().flatten().map(|v| v.len());
        assert!(parsed.sum::<usize>() <= query.len() * 3);
        assert!(query.len() <= 8 * 1024);
    }
    // `next` must always come out local or not at all: resolved the way a browser resolves
    // a `Location`, it stays on the app's origin.
    if let Some(next) = fuzzing::sanitize_next(query) {
        let base = url::Url::parse("https://app.example/").unwrap();
        if let Ok(target) = base.join(&next) {
            assert_eq!(target.origin(), base.origin(), "{next:?} leaves the site");
        }
    }
});
