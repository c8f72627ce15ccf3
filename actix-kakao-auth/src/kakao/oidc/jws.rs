//! The compact JWS form of an id_token: `BASE64URL(header).BASE64URL(payload).BASE64URL(sig)`.
//!
//! Parsing only splits and decodes; what is acceptable is decided in `checks`. The
//! signature is verified with `jsonwebtoken`, always as RS256 with an RSA key: the token's
//! own `alg` never selects the algorithm.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::error::IdTokenError;

/// Longest id_token accepted. Kakao's are about 1 KiB; the limit keeps hostile input cheap.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The JOSE header fields the checks look at. Unknown fields are ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct JoseHeader {
    /// The signing algorithm the token claims.
    pub(crate) alg: String,
    /// The signing key's id.
    #[serde(default)]
    pub(crate) kid: Option<String>,
    /// Critical extensions (RFC 7515 §4.1.11); none is understood.
    #[serde(default)]
    pub(crate) crit: Option<serde_json::Value>,
}

/// A split, decoded, not yet verified token.
#[derive(Debug)]
pub(crate) struct CompactJws<'a> {
    pub(crate) header: JoseHeader,
    /// `header.payload` as sent: the bytes the signature covers.
    pub(crate) signing_input: &'a str,
    /// The base64url signature as sent.
    pub(crate) signature: &'a str,
    /// The decoded payload (parse it only after the signature verified).
    pub(crate) payload: Vec<u8>,
}

/// Splits and decodes a compact JWS.
pub(crate) fn parse(token: &str) -> Result<CompactJws<'_>, IdTokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(IdTokenError::Malformed(format!(
            "longer than {MAX_TOKEN_LEN} bytes"
        )));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(IdTokenError::Malformed(match parts.len() {
            5 => "an encrypted (JWE) token is not accepted".to_owned(),
            n => format!("{n} parts instead of 3"),
        }));
    };
    let header: JoseHeader = parse_json("header", &decode_part("header", header)?)?;
    let payload = decode_part("payload", payload)?;
    let signing_input = &token[..token.len() - signature.len() - 1];
    Ok(CompactJws {
        header,
        signing_input,
        signature,
        payload,
    })
}

/// Parses a decoded part as JSON. The whole part must be UTF-8 (RFC 7515 §4, RFC 7519
/// §7.2): `serde_json` alone would skip invalid bytes inside fields it ignores (found by
/// the `id_token` fuzz target).
pub(crate) fn parse_json<T: DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<T, IdTokenError> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| IdTokenError::Malformed(format!("{name}: {e}")))?;
    serde_json::from_str(text).map_err(|e| IdTokenError::Malformed(format!("{name}: {e}")))
}

fn decode_part(name: &str, part: &str) -> Result<Vec<u8>, IdTokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| IdTokenError::Malformed(format!("{name}: {e}")))
}

/// Verifies the RS256 signature over `header.payload` with `key`.
pub(crate) fn verify_rs256(jws: &CompactJws<'_>, key: &DecodingKey) -> Result<(), IdTokenError> {
    match jsonwebtoken::crypto::verify(
        jws.signature,
        jws.signing_input.as_bytes(),
        key,
        Algorithm::RS256,
    ) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(IdTokenError::BadSignature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_other_than_three_parts_are_malformed() {
        assert!(matches!(parse("a.b"), Err(IdTokenError::Malformed(_))));
        let jwe = parse("a.b.c.d.e").expect_err("jwe");
        assert!(jwe.to_string().contains("encrypted"), "{jwe}");
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(matches!(parse(&long), Err(IdTokenError::Malformed(_))));
    }

    #[test]
    fn invalid_utf8_anywhere_in_a_part_is_malformed() {
        let header =
            URL_SAFE_NO_PAD.encode(b"{\"alg\":\"RS256\",\"kid\":\"k\",\"typ\":\"J\xfeT\"}");
        let payload = URL_SAFE_NO_PAD.encode(b"{}");
        let error = parse(&format!("{header}.{payload}.c2ln")).expect_err("not UTF-8");
        assert!(matches!(error, IdTokenError::Malformed(_)), "{error:?}");
        let claims = parse_json::<serde_json::Value>("payload", b"{\"x\":\"\xff\"}");
        assert!(matches!(claims, Err(IdTokenError::Malformed(_))));
    }

    #[test]
    fn the_signing_input_is_header_dot_payload() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k"}"#);
        let payload = URL_SAFE_NO_PAD.encode(b"{}");
        let token = format!("{header}.{payload}.c2ln");
        let jws = parse(&token).expect("parses");
        assert_eq!(jws.signing_input, format!("{header}.{payload}"));
        assert_eq!(jws.signature, "c2ln");
        assert_eq!(jws.header.kid.as_deref(), Some("k"));
        assert_eq!(jws.payload, b"{}");
    }
}
