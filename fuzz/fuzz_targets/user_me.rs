//! The `/v2/user/me` parser (`KakaoUserInfo::from_json`) and its accessors.
#![no_main]

use actix_kakao_auth::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(info) = fuzzing::user_me(data) {
        assert_eq!(info.uid(), info.id.to_string());
        if let Some(email) = info.verified_email() {
            assert!(email.contains('@'));
        }
    }
});
