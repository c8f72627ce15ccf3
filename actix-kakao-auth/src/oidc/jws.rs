//! The compact JWS form of an id_token: `BASE64URL(header).BASE64URL(payload).BASE64URL(sig)`.
//!
//! Parsing only splits and decodes; what is acceptable is decided in `checks`. The
//! signature is verified with `jsonwebtoken`, always as RS256 with an RSA key: the token's
//! own `alg` never selects the algorithm.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
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
    let header_json = decode_part("header", header)?;
    let header: JoseHeader = serde_json::from_slice(&header_json)
        .map_err(|e| IdTokenError::Malformed(format!("header: {e}")))?;
    let payload = decode_part("payload", payload)?;
    let signing_input = &token[..token.len() - signature.len() - 1];
    Ok(CompactJws {
        header,
        signing_input,
        signature,
        payload,
    })
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
