//! The id_token verifier. The first byte picks the mode:
//! * even: the rest is a whole token (header, payload and signature all fuzzed);
//! * odd: the rest is `header NUL payload`, run through every check the verifier makes once
//!   a signature verified (signing each input with RSA would cost ~50 ms a run), so the
//!   header and claim checks see every shape a correctly signed token could have.
//!
//! Whatever is accepted must satisfy every check.
#![no_main]

use actix_kakao_auth::fuzzing::{self, CLIENT_ID, ISSUER, NONCE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(keys) = kakao_emulator::published_jwks() else {
        return;
    };
    let outcome = if mode % 2 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else {
            return;
        };
        fuzzing::id_token(&keys, token)
    } else {
        let mut parts = rest.splitn(2, |b| *b == 0);
        let header = parts.next().unwrap_or_default();
        let payload = parts.next().unwrap_or_default();
        fuzzing::id_token_checks(&keys, header, payload)
    };
    let Some(Ok(claims)) = outcome else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.aud, [CLIENT_ID]);
    assert_eq!(claims.nonce.as_deref(), Some(NONCE));
    assert!(
        claims.exp.saturating_add(60) > now - 5,
        "expired token accepted"
    );
    assert!(
        claims.iat <= now.saturating_add(65),
        "future token accepted"
    );
    if let Some(azp) = &claims.azp {
        assert_eq!(azp, CLIENT_ID);
    }
    if mode % 2 == 1 {
        // A token passed the header checks: its header must have said RS256.
        let header = rest.split(|b| *b == 0).next().unwrap_or_default();
        let header: serde_json::Value = serde_json::from_slice(header).unwrap_or_default();
        assert_eq!(header["alg"], "RS256");
    }
});
