//! The id_token verifier against the emulator's keys: one test per rejection reason, JWKS
//! caching, rotation, rate-limited re-fetch, single flight, clock injection, and the
//! emulator's OIDC endpoints.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_kakao_auth::config::OidcOptions;
use actix_kakao_auth::error::KakaoApiError;
use actix_kakao_auth::kakao::client::KakaoClient;
use actix_kakao_auth::kakao::oidc::{IdTokenClaims, IdTokenError, IdTokenVerifier, JwkSet};
use actix_kakao_auth::{KakaoAuthConfig, KakaoAuthConfigBuilder};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use kakao_emulator::{Endpoint, Fault, IdTokenFault, KakaoEmulator, UserChoice};
use serde_json::Value;

const CALLBACK: &str = "http://app.test/auth/kakao/callback";
const NONCE: &str = "n0nce-0f-this-login";
const USER: i64 = 1001;
const SCOPES: [&str; 4] = [
    "openid",
    "profile_nickname",
    "profile_image",
    "account_email",
];

async fn emulator() -> KakaoEmulator {
    KakaoEmulator::builder()
        .redirect_uri(CALLBACK)
        .start()
        .await
        .unwrap()
}

fn config(
    kakao: &KakaoEmulator,
    tweak: impl FnOnce(KakaoAuthConfigBuilder) -> KakaoAuthConfigBuilder,
) -> KakaoAuthConfig {
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    let builder = KakaoAuthConfig::builder(kakao.client_id(), CALLBACK)
        .auth_base_url(base.clone())
        .api_base_url(base)
        .scopes(["openid", "profile_nickname"])
        .session_secret("s".repeat(64));
    tweak(builder).build().unwrap()
}

fn verifier_for(config: KakaoAuthConfig) -> IdTokenVerifier {
    let client = KakaoClient::new(Arc::clone(config.client())).unwrap();
    IdTokenVerifier::from_config(&config, client)
}

/// A verifier with default settings and a frozen clock the test moves by hand.
struct Setup {
    kakao: KakaoEmulator,
    verifier: Arc<IdTokenVerifier>,
    /// The verifier's "now", in Unix seconds.
    now: Arc<AtomicI64>,
}

impl Setup {
    async fn new() -> Self {
        Self::with(|b| b).await
    }

    async fn with(tweak: impl FnOnce(KakaoAuthConfigBuilder) -> KakaoAuthConfigBuilder) -> Self {
        let kakao = emulator().await;
        let now = Arc::new(AtomicI64::new(Utc::now().timestamp()));
        let clock = Arc::clone(&now);
        let verifier = verifier_for(config(&kakao, tweak)).set_time_fn(move || {
            DateTime::from_timestamp(clock.load(Ordering::SeqCst), 0).unwrap()
        });
        Self {
            kakao,
            verifier: Arc::new(verifier),
            now,
        }
    }

    fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }

    fn set_now(&self, unix: i64) {
        self.now.store(unix, Ordering::SeqCst);
    }

    /// A token for [`USER`] with [`NONCE`], with `fault` built in.
    fn mint(&self, fault: Option<IdTokenFault>) -> String {
        let faults = self.kakao.faults();
        match fault {
            Some(fault) => faults.set_id_token(fault),
            None => faults.clear_id_token(),
        }
        let token = self
            .kakao
            .mint_id_token(USER, &SCOPES, Some(NONCE))
            .unwrap();
        faults.clear_id_token();
        token
    }

    async fn verify(&self, token: &str) -> Result<IdTokenClaims, IdTokenError> {
        self.verifier.verify(token, NONCE).await
    }
}

/// The decoded JSON of one part of a compact JWS.
fn part(token: &str, index: usize) -> Value {
    let encoded = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap()
}

#[actix_web::test]
async fn a_good_token_verifies_and_carries_kakaos_claims() {
    let s = Setup::new().await;
    let token = s.mint(None);
    let header = part(&token, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], s.kakao.signing_kid().unwrap());
    let claims = s.verify(&token).await.unwrap();
    assert_eq!(claims.sub, "1001");
    assert_eq!(claims.aud, [s.kakao.client_id()]);
    assert_eq!(
        claims.iss,
        s.kakao.base_url().as_str().trim_end_matches('/')
    );
    assert_eq!(claims.nonce.as_deref(), Some(NONCE));
    assert_eq!(claims.nickname.as_deref(), Some("라이언"));
    assert_eq!(claims.email.as_deref(), Some("ryan@kakao.example"));
    assert!(claims.picture.is_some());
    assert_eq!(
        claims.exp - claims.iat,
        21_599,
        "exp follows the access token"
    );
    assert!(claims.check_subject(USER).is_ok());
    assert_eq!(s.kakao.jwks_requests(), 1);
}

/// One test per rejection reason: the emulator mints the bad token, the verifier must
/// refuse it with exactly this error.
macro_rules! rejects {
    ($name:ident, $fault:expr, $pattern:pat) => {
        #[actix_web::test]
        async fn $name() {
            let s = Setup::new().await;
            // Warm the cache with a good token, so a refusal is never a fetch problem.
            s.verify(&s.mint(None)).await.unwrap();
            let result = s.verify(&s.mint(Some($fault))).await;
            assert!(matches!(result, Err($pattern)), "{result:?}");
        }
    };
}

rejects!(
    bad_signature_is_rejected,
    IdTokenFault::BadSignature,
    IdTokenError::BadSignature
);
rejects!(
    wrong_audience_is_rejected,
    IdTokenFault::WrongAudience,
    IdTokenError::WrongAudience
);
rejects!(
    wrong_issuer_is_rejected,
    IdTokenFault::WrongIssuer,
    IdTokenError::WrongIssuer { .. }
);
rejects!(
    expired_token_is_rejected,
    IdTokenFault::Expired,
    IdTokenError::Expired
);
rejects!(
    iat_in_the_future_beyond_the_leeway_is_rejected,
    IdTokenFault::IssuedInFuture,
    IdTokenError::IssuedInFuture
);
rejects!(
    missing_nonce_is_rejected,
    IdTokenFault::MissingNonce,
    IdTokenError::NonceMissing
);
rejects!(
    wrong_nonce_is_rejected,
    IdTokenFault::WrongNonce,
    IdTokenError::NonceMismatch
);
rejects!(
    alg_none_is_rejected,
    IdTokenFault::AlgNone,
    IdTokenError::UnsupportedAlgorithm(_)
);
rejects!(
    hs256_signed_with_the_public_key_is_rejected,
    IdTokenFault::Hs256WithPublicKey,
    IdTokenError::UnsupportedAlgorithm(_)
);

#[actix_web::test]
async fn an_unknown_kid_is_rejected_after_one_refetch() {
    let s = Setup::new().await;
    s.verify(&s.mint(None)).await.unwrap();
    assert_eq!(s.kakao.jwks_requests(), 1);
    let result = s.verify(&s.mint(Some(IdTokenFault::UnknownKid))).await;
    assert!(
        matches!(&result, Err(IdTokenError::UnknownKey { kid }) if kid == "emulator-rs256-unpublished"),
        "{result:?}"
    );
    assert_eq!(s.kakao.jwks_requests(), 2, "exactly one re-fetch");
}

#[actix_web::test]
async fn a_token_for_another_user_fails_the_subject_check() {
    let s = Setup::new().await;
    let claims = s
        .verify(&s.mint(Some(IdTokenFault::WrongSubject)))
        .await
        .unwrap();
    assert_eq!(claims.sub, "1002");
    assert!(matches!(
        claims.check_subject(USER),
        Err(IdTokenError::SubjectMismatch)
    ));
}

#[actix_web::test]
async fn a_nonce_from_another_login_is_rejected() {
    let s = Setup::new().await;
    let token = s.mint(None);
    let result = s.verifier.verify(&token, "another-login's-nonce").await;
    assert!(
        matches!(result, Err(IdTokenError::NonceMismatch)),
        "{result:?}"
    );
    let prefix = s.verifier.verify(&token, &NONCE[..5]).await;
    assert!(
        matches!(prefix, Err(IdTokenError::NonceMismatch)),
        "{prefix:?}"
    );
}

#[actix_web::test]
async fn a_token_for_another_issuer_configuration_is_rejected() {
    let kakao = emulator().await;
    let verifier = verifier_for(config(&kakao, |b| {
        b.oidc(OidcOptions {
            issuer: Some("https://kauth.kakao.com".into()),
            ..OidcOptions::default()
        })
    }));
    let token = kakao.mint_id_token(USER, &SCOPES, Some(NONCE)).unwrap();
    let result = verifier.verify(&token, NONCE).await;
    assert!(
        matches!(&result, Err(IdTokenError::WrongIssuer { expected, .. }) if expected == "https://kauth.kakao.com"),
        "{result:?}"
    );
}

#[actix_web::test]
async fn a_rotated_key_is_accepted_after_a_refetch() {
    let s = Setup::new().await;
    let before = s.mint(None);
    s.verify(&before).await.unwrap();
    let old_kid = s.kakao.signing_kid().unwrap();
    s.kakao.rotate_signing_key();
    let new_kid = s.kakao.signing_kid().unwrap();
    assert_ne!(old_kid, new_kid);
    let after = s.mint(None);
    assert_eq!(part(&after, 0)["kid"], new_kid);
    s.verify(&after).await.unwrap();
    assert_eq!(s.kakao.jwks_requests(), 2, "one re-fetch for the new kid");
    // The key it replaced is still published: tokens signed before the rotation verify.
    s.verify(&before).await.unwrap();
    s.verify(&s.mint(None)).await.unwrap();
    assert_eq!(s.kakao.jwks_requests(), 2, "known kids need no fetch");
}

#[actix_web::test]
async fn refetches_for_unknown_kids_are_rate_limited() {
    let s = Setup::new().await; // default minimum interval: 30 s
    s.verify(&s.mint(None)).await.unwrap();
    let unknown = s.mint(Some(IdTokenFault::UnknownKid));
    assert!(s.verify(&unknown).await.is_err());
    assert_eq!(
        s.kakao.jwks_requests(),
        2,
        "the first unknown kid re-fetches"
    );
    for _ in 0..5 {
        assert!(matches!(
            s.verify(&unknown).await,
            Err(IdTokenError::UnknownKey { .. })
        ));
    }
    // Even a genuine rotation within the interval waits for it.
    s.kakao.rotate_signing_key();
    let rotated = s.mint(None);
    assert!(matches!(
        s.verify(&rotated).await,
        Err(IdTokenError::UnknownKey { .. })
    ));
    assert_eq!(s.kakao.jwks_requests(), 2, "no fetch within the interval");
    s.advance(29);
    assert!(s.verify(&rotated).await.is_err());
    assert_eq!(s.kakao.jwks_requests(), 2);
    s.advance(2);
    s.verify(&rotated).await.unwrap();
    assert_eq!(
        s.kakao.jwks_requests(),
        3,
        "one re-fetch once the interval passed"
    );
}

#[actix_web::test]
async fn the_jwks_is_cached_for_its_ttl() {
    let s = Setup::with(|b| {
        b.oidc(OidcOptions {
            jwks_cache_ttl: Duration::from_secs(600),
            ..OidcOptions::default()
        })
    })
    .await;
    let token = s.mint(None);
    s.verify(&token).await.unwrap();
    s.advance(599);
    s.verify(&token).await.unwrap();
    assert_eq!(s.kakao.jwks_requests(), 1, "fresh within the TTL");
    s.advance(2);
    // Far past the token's own lifetime would fail `exp`; 601 s is fine.
    s.verify(&token).await.unwrap();
    assert_eq!(s.kakao.jwks_requests(), 2, "fetched again after the TTL");
}

#[actix_web::test]
async fn concurrent_verifications_share_one_fetch() {
    let s = Setup::new().await;
    let token = s.mint(None);
    let results = futures_util::future::join_all((0..16).map(|_| s.verify(&token))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(s.kakao.jwks_requests(), 1);

    // A rotation seen by many logins at once: still one re-fetch.
    s.kakao.rotate_signing_key();
    let rotated = s.mint(None);
    let results = futures_util::future::join_all((0..16).map(|_| s.verify(&rotated))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(s.kakao.jwks_requests(), 2);
}

#[actix_web::test]
async fn one_verifier_serves_several_runtimes_with_one_fetch() {
    // Like Actix workers: one single-threaded runtime per thread, one shared verifier.
    let s = Setup::new().await;
    let token = s.mint(None);
    let verifier = Arc::clone(&s.verifier);
    let outcomes = tokio::task::spawn_blocking(move || {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let verifier = Arc::clone(&verifier);
                let token = token.clone();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        let all = (0..4).map(|_| verifier.verify(&token, NONCE));
                        futures_util::future::join_all(all).await
                    })
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert_eq!(outcomes.len(), 16);
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(s.kakao.jwks_requests(), 1);
}

#[actix_web::test]
async fn the_clock_is_injectable_and_the_leeway_applies_to_exp_and_iat() {
    let s = Setup::new().await;
    let token = s.mint(None);
    let claims = s.verify(&token).await.unwrap();
    s.set_now(claims.exp + 59);
    assert!(
        s.verify(&token).await.is_ok(),
        "within the 60 s leeway after exp"
    );
    s.set_now(claims.exp + 60);
    assert!(matches!(s.verify(&token).await, Err(IdTokenError::Expired)));
    s.set_now(claims.iat - 60);
    assert!(
        s.verify(&token).await.is_ok(),
        "within the leeway before iat"
    );
    s.set_now(claims.iat - 61);
    assert!(matches!(
        s.verify(&token).await,
        Err(IdTokenError::IssuedInFuture)
    ));
}

#[actix_web::test]
async fn the_leeway_is_configurable() {
    let s = Setup::with(|b| {
        b.oidc(OidcOptions {
            leeway: Duration::ZERO,
            ..OidcOptions::default()
        })
    })
    .await;
    let token = s.mint(None);
    let (iat, exp) = (
        part(&token, 1)["iat"].as_i64().unwrap(),
        part(&token, 1)["exp"].as_i64().unwrap(),
    );
    s.set_now(iat);
    s.verify(&token).await.unwrap();
    s.set_now(iat - 1);
    assert!(matches!(
        s.verify(&token).await,
        Err(IdTokenError::IssuedInFuture)
    ));
    s.set_now(exp - 1);
    s.verify(&token).await.unwrap();
    s.set_now(exp);
    assert!(matches!(s.verify(&token).await, Err(IdTokenError::Expired)));
}

#[actix_web::test]
async fn a_jwks_outage_fails_cleanly_backs_off_and_recovers() {
    let s = Setup::new().await;
    let token = s.mint(None);
    s.kakao.faults().set(Endpoint::Jwks, Fault::Html5xx(503));
    let down = s.verify(&token).await.unwrap_err();
    assert!(
        matches!(
            &down,
            IdTokenError::Jwks(KakaoApiError::Unavailable { status: 503 })
        ),
        "{down:?}"
    );
    assert!(down.is_unavailable());
    assert!(matches!(
        s.verify(&token).await,
        Err(IdTokenError::JwksBackoff)
    ));
    assert_eq!(s.kakao.jwks_requests(), 1, "no retry within the interval");
    s.kakao.faults().clear(Endpoint::Jwks);
    s.advance(31);
    s.verify(&token).await.unwrap();
    assert_eq!(s.kakao.jwks_requests(), 2);
}

#[actix_web::test]
async fn a_refused_garbage_or_oversized_jwks_is_an_invalid_token_not_an_outage() {
    let s = Setup::with(|b| {
        b.http(actix_kakao_auth::config::HttpOptions {
            max_response_bytes: 4096,
            ..Default::default()
        })
    })
    .await;
    let token = s.mint(None);
    let cases = [
        (
            Fault::Status {
                status: 404,
                content_type: "text/html".into(),
                body: "<h1>Not Found</h1>".into(),
            },
            "404",
        ),
        (
            Fault::Status {
                status: 200,
                content_type: "application/json".into(),
                body: r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#.into(),
            },
            "no usable",
        ),
        (
            Fault::Status {
                status: 200,
                content_type: "application/json".into(),
                body: format!(r#"{{"keys":[],"padding":"{}"}}"#, "x".repeat(8192)),
            },
            "larger than 4096",
        ),
    ];
    for (fault, expected) in cases {
        s.kakao.faults().set(Endpoint::Jwks, fault);
        let error = s.verify(&token).await.unwrap_err();
        assert!(!error.is_unavailable(), "{error:?}");
        let text = format!("{error} {error:?}");
        assert!(text.contains(expected), "{text}");
        s.advance(31); // past the failure back-off
    }
}

#[actix_web::test]
async fn verify_with_keys_needs_no_network() {
    let s = Setup::new().await;
    let body = reqwest::get(s.kakao.base_url().join(".well-known/jwks.json").unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let keys = JwkSet::from_json(&body).unwrap();
    assert_eq!(keys.len(), 2);
    let requests = s.kakao.jwks_requests();
    let claims = s
        .verifier
        .verify_with_keys(&s.mint(None), NONCE, &keys)
        .unwrap();
    assert_eq!(claims.sub, "1001");
    assert!(matches!(
        s.verifier
            .verify_with_keys(&s.mint(Some(IdTokenFault::UnknownKid)), NONCE, &keys),
        Err(IdTokenError::UnknownKey { .. })
    ));
    assert_eq!(s.kakao.jwks_requests(), requests);
}

#[actix_web::test]
async fn every_emulator_fault_is_refused_by_the_verifier_or_the_subject_check() {
    let s = Setup::new().await;
    for fault in IdTokenFault::ALL {
        let outcome = s
            .verify(&s.mint(Some(fault)))
            .await
            .and_then(|claims| claims.check_subject(USER));
        assert!(outcome.is_err(), "{fault:?} was accepted");
    }
}

// --- The emulator's OIDC endpoints -------------------------------------------------------

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[actix_web::test]
async fn discovery_points_at_the_emulator() {
    let kakao = emulator().await;
    let doc: Value = reqwest::get(
        kakao
            .base_url()
            .join(".well-known/openid-configuration")
            .unwrap(),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    assert_eq!(doc["issuer"], base);
    assert_eq!(doc["jwks_uri"], format!("{base}/.well-known/jwks.json"));
    assert_eq!(doc["token_endpoint"], format!("{base}/oauth/token"));
    assert_eq!(doc["userinfo_endpoint"], format!("{base}/v1/oidc/userinfo"));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["request_uri_parameter_supported"], false);
}

#[actix_web::test]
async fn the_jwks_publishes_two_rsa_keys_and_rotation_brings_a_new_one() {
    let kakao = emulator().await;
    let url = kakao.base_url().join(".well-known/jwks.json").unwrap();
    let kids = |doc: &Value| -> Vec<String> {
        doc["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let before: Value = reqwest::get(url.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(kids(&before).len(), 2);
    for key in before["keys"].as_array().unwrap() {
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["e"], "AQAB");
        assert!(key.get("d").is_none(), "no private parts");
    }
    assert!(kids(&before).contains(&kakao.signing_kid().unwrap().to_owned()));
    kakao.rotate_signing_key();
    let after: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    let new_kid = kakao.signing_kid().unwrap().to_owned();
    assert!(
        !kids(&before).contains(&new_kid),
        "a kid the client has not seen"
    );
    assert!(kids(&after).contains(&new_kid));
    assert_eq!(kakao.published_kids().len(), 2);
    assert_eq!(kakao.jwks_requests(), 2);
}

#[actix_web::test]
async fn tokeninfo_decodes_good_tokens_and_answers_koe400_to_403() {
    let kakao = emulator().await;
    let url = kakao.base_url().join("oauth/tokeninfo").unwrap();
    let ask = |token: Option<String>| {
        let url = url.clone();
        async move {
            let form: Vec<(&str, String)> = token.into_iter().map(|t| ("id_token", t)).collect();
            let response = http().post(url).form(&form).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let mint = |fault: Option<IdTokenFault>| {
        match fault {
            Some(f) => kakao.faults().set_id_token(f),
            None => kakao.faults().clear_id_token(),
        }
        kakao.mint_id_token(USER, &SCOPES, Some(NONCE)).unwrap()
    };
    let (status, body) = ask(Some(mint(None))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sub"], "1001");
    assert_eq!(body["nonce"], NONCE);
    for (token, code) in [
        (None, "KOE400"),
        (Some("not.a-token".to_owned()), "KOE400"),
        (Some(mint(Some(IdTokenFault::WrongIssuer))), "KOE401"),
        (Some(mint(Some(IdTokenFault::BadSignature))), "KOE402"),
        (Some(mint(Some(IdTokenFault::UnknownKid))), "KOE402"),
        (Some(mint(Some(IdTokenFault::Hs256WithPublicKey))), "KOE402"),
        (Some(mint(Some(IdTokenFault::Expired))), "KOE403"),
    ] {
        let (status, body) = ask(token).await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
        assert_eq!(body["error"], "invalid_token");
    }
}

/// Runs the code flow against the emulator with `scope` and a nonce; returns the token answer.
async fn code_flow(kakao: &KakaoEmulator, scope: &str, user: i64) -> Value {
    let mut authorize = kakao.base_url().join("oauth/authorize").unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_id", kakao.client_id())
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("response_type", "code")
        .append_pair("scope", scope)
        .append_pair("nonce", NONCE);
    let code = kakao
        .approve_for_code(&authorize, UserChoice::Fixture(user))
        .await
        .unwrap();
    http()
        .post(kakao.base_url().join("oauth/token").unwrap())
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", kakao.client_id()),
            ("redirect_uri", CALLBACK),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_token_endpoint_mints_an_id_token_only_with_openid() {
    let kakao = emulator().await;
    let with = code_flow(&kakao, "openid,profile_nickname,account_email", USER).await;
    let token = with["id_token"].as_str().unwrap();
    let claims = part(token, 1);
    assert_eq!(claims["nonce"], NONCE, "the authorize nonce is echoed");
    assert_eq!(claims["sub"], "1001");
    assert_eq!(claims["email"], "ryan@kakao.example");
    assert!(claims.get("picture").is_none(), "no profile_image consent");
    assert_eq!(kakao.issued_id_tokens(), [token]);

    let refreshed: Value = http()
        .post(kakao.base_url().join("oauth/token").unwrap())
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", kakao.client_id()),
            ("refresh_token", with["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let again = part(refreshed["id_token"].as_str().unwrap(), 1);
    assert_eq!(again["sub"], "1001");
    assert!(again.get("nonce").is_none(), "no nonce on refresh");

    let without = code_flow(&kakao, "profile_nickname", USER).await;
    assert!(without.get("id_token").is_none(), "{without}");
}

#[actix_web::test]
async fn email_is_in_the_id_token_only_when_consented_valid_and_verified() {
    let kakao = emulator().await;
    let email_of = |user: i64| {
        let token = kakao
            .mint_id_token(user, &["openid", "account_email"], None)
            .unwrap();
        part(&token, 1).get("email").cloned()
    };
    assert_eq!(email_of(1001), Some(Value::from("ryan@kakao.example")));
    assert_eq!(email_of(1002), None, "not consented");
    assert_eq!(email_of(9_007_199_254_740_993), None, "not verified");
    let token = kakao.mint_id_token(1001, &["openid"], None).unwrap();
    assert!(part(&token, 1).get("email").is_none(), "no email scope");
}

#[actix_web::test]
async fn oidc_userinfo_needs_a_token_with_openid() {
    let kakao = emulator().await;
    let userinfo = kakao.base_url().join("v1/oidc/userinfo").unwrap();
    let with = code_flow(&kakao, "openid,profile_nickname,account_email", USER).await;
    let answer = http()
        .get(userinfo.clone())
        .bearer_auth(with["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["sub"], "1001");
    assert_eq!(body["nickname"], "라이언");
    assert_eq!(body["email_verified"], true);

    let without = code_flow(&kakao, "profile_nickname", USER).await;
    let answer = http()
        .get(userinfo.clone())
        .bearer_auth(without["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    assert_eq!(answer.json::<Value>().await.unwrap()["code"], -3);

    let dead = http()
        .get(userinfo)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(dead.status(), 401);
}
