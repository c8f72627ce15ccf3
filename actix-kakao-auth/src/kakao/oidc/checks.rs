//! Every check an id_token must pass, in the order of OpenID Connect Core 1.0 §3.1.3.7
//! ("ID Token Validation"), one comment per step. Kakao's own list (kakao-api.md §5.4) is a
//! subset of it. The verifier runs [`check_header`], then [`check_signature`] with the key
//! the header names, then [`check_claims`]; `sub` is tied to `/v2/user/me` afterwards by
//! [`IdTokenClaims::check_subject`].

use jsonwebtoken::DecodingKey;
use subtle::ConstantTimeEq;

use super::claims::IdTokenClaims;
use super::error::{echo, IdTokenError};
use super::jws::{self, CompactJws, JoseHeader};

/// The only algorithm accepted: Kakao's discovery lists `RS256` alone.
pub(crate) const ALGORITHM: &str = "RS256";

/// What a token must match, and the time of the check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected<'a> {
    /// The configured issuer.
    pub(crate) issuer: &'a str,
    /// The keys this app accepts as `aud`: its REST API key, and for tokens from a Kakao
    /// SDK its native app key or JavaScript key.
    pub(crate) audiences: &'a [&'a str],
    /// The nonce this login sent at authorize (`None`: an SDK token posted without one).
    pub(crate) nonce: Option<&'a str>,
    /// When false, a token without a `nonce` claim passes (a provider that does not echo
    /// it); one that carries a nonce must still carry this one.
    pub(crate) nonce_required: bool,
    /// Now, in Unix seconds, from the verifier's clock.
    pub(crate) now: i64,
    /// Tolerated clock skew, in seconds.
    pub(crate) leeway: i64,
}

/// Steps 1, 7 and 8: what the header may say, before any key is chosen. Returns the `kid`.
pub(crate) fn check_header(header: &JoseHeader) -> Result<&str, IdTokenError> {
    // Step 1 (decrypt an encrypted token): Kakao does not encrypt id_tokens; `jws::parse`
    // already refused the five-part JWE form.
    //
    // Step 7 (`alg` must be the registered one, RS256 by default): RS256 only. This refuses
    // `none` (an unsigned token) and every other algorithm, whatever the JWKS holds.
    //
    // Step 8 (a MAC algorithm is keyed with the client secret): no MAC algorithm is
    // accepted, so an HS256 token "signed" with the public key as HMAC secret (algorithm
    // confusion) is refused here too. The signature check below is also fixed to RS256.
    if header.alg != ALGORITHM {
        return Err(IdTokenError::UnsupportedAlgorithm(echo(&header.alg)));
    }
    // RFC 7515 §4.1.11: a `crit` extension must be understood; none is.
    if header.crit.is_some() {
        return Err(IdTokenError::Malformed(
            "header has critical extensions".into(),
        ));
    }
    // Kakao always names its key; without a `kid` there is no key to pick.
    header
        .kid
        .as_deref()
        .filter(|kid| !kid.is_empty())
        .ok_or(IdTokenError::MissingKeyId)
}

/// Step 6: the signature. The spec lets a client that got the token straight from the
/// token endpoint over TLS skip it; we verify anyway (Kakao asks for it, and it keeps a
/// misrouted or tampered answer from passing): RS256 with the JWKS key named by `kid`.
pub(crate) fn check_signature(jws: &CompactJws<'_>, key: &DecodingKey) -> Result<(), IdTokenError> {
    jws::verify_rs256(jws, key)
}

/// Steps 2–5 and 9–13 on the claims of a token whose signature verified.
pub(crate) fn check_claims(
    claims: &IdTokenClaims,
    expected: &Expected<'_>,
) -> Result<(), IdTokenError> {
    // Step 2: `iss` must exactly equal the issuer (no trailing-slash or case tolerance).
    if claims.iss != expected.issuer {
        return Err(IdTokenError::WrongIssuer {
            expected: expected.issuer.to_owned(),
            found: echo(&claims.iss),
        });
    }
    // Step 3: `aud` must name this client, and a token with audiences the client does not
    // trust is rejected: `aud` is exactly one of this app's own keys.
    if claims.aud.len() != 1 || !expected.audiences.contains(&claims.aud[0].as_str()) {
        return Err(IdTokenError::WrongAudience);
    }
    // Step 4 (several audiences need an `azp`): cannot happen after step 3.
    // Step 5: an `azp`, if present, must be the client the token was issued to.
    if claims
        .azp
        .as_deref()
        .is_some_and(|azp| azp != claims.aud[0])
    {
        return Err(IdTokenError::WrongAuthorizedParty);
    }
    // Step 9: the current time must be before `exp` (plus the leeway for clock skew).
    if expected.now >= claims.exp.saturating_add(expected.leeway) {
        return Err(IdTokenError::Expired);
    }
    // Step 10: `iat` may be used to reject tokens issued too far from now: one issued in
    // the future (beyond the leeway) is rejected. Age is bounded by `exp` already.
    if claims.iat > expected.now.saturating_add(expected.leeway) {
        return Err(IdTokenError::IssuedInFuture);
    }
    // Step 11: a nonce was sent at authorize, so the claim must be present and equal to it,
    // compared in constant time (it is a one-time secret bound to the browser session).
    // For a provider that may not echo it (Naver), a missing claim passes, a different one
    // never does.
    if let Some(sent) = expected.nonce {
        match claims.nonce.as_deref() {
            Some(nonce) if bool::from(nonce.as_bytes().ct_eq(sent.as_bytes())) => {}
            Some(_) => return Err(IdTokenError::NonceMismatch),
            None if expected.nonce_required => return Err(IdTokenError::NonceMissing),
            None => {}
        }
    }
    // Step 12 (`acr`): no acr_values are requested, so nothing to check.
    // Step 13 (`auth_time` against `max_age`): no max_age is sent, so nothing to check.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> IdTokenClaims {
        IdTokenClaims {
            iss: "https://kauth.kakao.com".into(),
            aud: vec!["client".into()],
            sub: "1001".into(),
            iat: 1_000,
            exp: 2_000,
            auth_time: None,
            nonce: Some("n-1".into()),
            azp: None,
            jti: None,
            nickname: None,
            picture: None,
            email: None,
        }
    }

    fn expected(now: i64) -> Expected<'static> {
        Expected {
            issuer: "https://kauth.kakao.com",
            audiences: &["client"],
            nonce: Some("n-1"),
            nonce_required: true,
            now,
            leeway: 60,
        }
    }

    fn header(alg: &str, kid: Option<&str>) -> JoseHeader {
        JoseHeader {
            alg: alg.into(),
            kid: kid.map(Into::into),
            crit: None,
        }
    }

    #[test]
    fn a_good_token_passes_at_the_edges_of_the_leeway() {
        assert!(check_claims(&claims(), &expected(1_500)).is_ok());
        assert!(check_claims(&claims(), &expected(2_059)).is_ok());
        assert!(check_claims(&claims(), &expected(940)).is_ok());
        assert!(matches!(
            check_claims(&claims(), &expected(2_060)),
            Err(IdTokenError::Expired)
        ));
        assert!(matches!(
            check_claims(&claims(), &expected(939)),
            Err(IdTokenError::IssuedInFuture)
        ));
    }

    #[test]
    fn a_nonce_that_need_not_be_echoed_may_be_missing_but_never_different() {
        let optional = Expected {
            nonce_required: false,
            ..expected(1_500)
        };
        let mut token = claims();
        assert!(check_claims(&token, &optional).is_ok());
        token.nonce = None;
        assert!(check_claims(&token, &optional).is_ok());
        assert!(matches!(
            check_claims(&token, &expected(1_500)),
            Err(IdTokenError::NonceMissing)
        ));
        token.nonce = Some("n-2".into());
        assert!(matches!(
            check_claims(&token, &optional),
            Err(IdTokenError::NonceMismatch)
        ));
    }

    #[test]
    fn sdk_audiences_are_accepted_only_when_listed_and_a_missing_nonce_only_when_none_was_sent() {
        let mut native = claims();
        native.aud = vec!["native-key".into()];
        assert!(matches!(
            check_claims(&native, &expected(1_500)),
            Err(IdTokenError::WrongAudience)
        ));
        let sdk = Expected {
            audiences: &["client", "native-key", "js-key"],
            nonce: None,
            nonce_required: true,
            ..expected(1_500)
        };
        assert!(check_claims(&native, &sdk).is_ok());
        native.nonce = None;
        assert!(check_claims(&native, &sdk).is_ok());
        native.azp = Some("js-key".into());
        assert!(matches!(
            check_claims(&native, &sdk),
            Err(IdTokenError::WrongAuthorizedParty)
        ));
        let mut other = claims();
        other.aud = vec!["another-app".into()];
        assert!(matches!(
            check_claims(&other, &sdk),
            Err(IdTokenError::WrongAudience)
        ));
    }

    #[test]
    fn each_claim_is_checked() {
        let mut c = claims();
        c.iss.push('/');
        assert!(matches!(
            check_claims(&c, &expected(1_500)),
            Err(IdTokenError::WrongIssuer { .. })
        ));
        let mut c = claims();
        c.aud.push("other".into());
        assert!(matches!(
            check_claims(&c, &expected(1_500)),
            Err(IdTokenError::WrongAudience)
        ));
        let mut c = claims();
        c.azp = Some("other".into());
        assert!(matches!(
            check_claims(&c, &expected(1_500)),
            Err(IdTokenError::WrongAuthorizedParty)
        ));
        let mut c = claims();
        c.nonce = None;
        assert!(matches!(
            check_claims(&c, &expected(1_500)),
            Err(IdTokenError::NonceMissing)
        ));
        let mut c = claims();
        c.nonce = Some("n-2".into());
        assert!(matches!(
            check_claims(&c, &expected(1_500)),
            Err(IdTokenError::NonceMismatch)
        ));
    }

    #[test]
    fn only_rs256_with_a_kid_and_no_crit_passes_the_header_check() {
        assert_eq!(check_header(&header("RS256", Some("k"))).ok(), Some("k"));
        for alg in ["none", "HS256", "RS512", "PS256", "ES256", "rs256"] {
            assert!(matches!(
                check_header(&header(alg, Some("k"))),
                Err(IdTokenError::UnsupportedAlgorithm(_))
            ));
        }
        assert!(matches!(
            check_header(&header("RS256", None)),
            Err(IdTokenError::MissingKeyId)
        ));
        let mut crit = header("RS256", Some("k"));
        crit.crit = Some(serde_json::json!(["b64"]));
        assert!(matches!(
            check_header(&crit),
            Err(IdTokenError::Malformed(_))
        ));
    }
}
