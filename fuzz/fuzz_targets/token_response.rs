//! The token-endpoint response parser and the expiry arithmetic after it.
#![no_main]

use actix_kakao_auth::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(tokens) = fuzzing::token_response(data) {
        // Absolute expiry times never lie in the past of a positive lifetime.
        if let Some(at) = tokens.refresh_token_expires_at {
            assert!(tokens.refresh_token.is_some());
            let _ = at;
        }
    }
});
