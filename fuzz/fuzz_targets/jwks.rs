//! The JWKS parser.
#![no_main]

use actix_kakao_auth::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(keys) = fuzzing::jwks(data) {
        assert!(!keys.is_empty() && keys.len() <= 64);
    }
});
