//! The parsed key ring: signing, the published JWKS, and rotation.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{json, Value};

use super::keys::{KeySpec, KEY_UNPUBLISHED, RING};

/// One usable key: its `kid`, the private key and the public JWK.
pub(crate) struct ParsedKey {
    pub kid: &'static str,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    /// `{"kid","kty","alg","use","n","e"}`, as published.
    pub jwk: Value,
}

struct Parsed {
    ring: Vec<ParsedKey>,
    unpublished: ParsedKey,
}

fn parse(spec: KeySpec) -> Result<ParsedKey, String> {
    let encoding =
        EncodingKey::from_rsa_pem(spec.pem.as_bytes()).map_err(|e| format!("{}: {e}", spec.kid))?;
    let public = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
        .map_err(|e| format!("{}: {e}", spec.kid))?;
    let AlgorithmParameters::RSA(rsa) = public.algorithm else {
        return Err(format!("{}: not an RSA key", spec.kid));
    };
    let decoding = DecodingKey::from_rsa_components(&rsa.n, &rsa.e)
        .map_err(|e| format!("{}: {e}", spec.kid))?;
    Ok(ParsedKey {
        kid: spec.kid,
        encoding,
        decoding,
        jwk: json!({"kid": spec.kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": rsa.n, "e": rsa.e}),
    })
}

/// The keys, parsed once per process. An error (impossible with the committed PEMs) is
/// logged by the caller and makes OIDC answers fail, never the emulator start.
fn parsed() -> Result<&'static Parsed, &'static str> {
    static PARSED: OnceLock<Result<Parsed, String>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            Ok(Parsed {
                ring: RING.into_iter().map(parse).collect::<Result<_, _>>()?,
                unpublished: parse(KEY_UNPUBLISHED)?,
            })
        })
        .as_ref()
        .map_err(String::as_str)
}

/// Where the emulator is in the key ring. Position `p` publishes ring keys `p` and `p+1`
/// (mod 3) and signs with `p+1`.
#[derive(Debug, Default)]
pub(crate) struct Rotation {
    position: AtomicUsize,
}

impl Rotation {
    fn index(&self, offset: usize) -> usize {
        (self.position.load(Ordering::SeqCst) + offset) % RING.len()
    }

    /// Retires the older published key, publishes the next one and signs with it.
    pub(crate) fn rotate(&self) {
        self.position.fetch_add(1, Ordering::SeqCst);
    }

    /// The key new tokens are signed with.
    pub(crate) fn signing(&self) -> Result<&'static ParsedKey, &'static str> {
        Ok(&parsed()?.ring[self.index(1)])
    }

    /// The two published keys: the one replaced last, then the signing key.
    pub(crate) fn published(&self) -> Result<[&'static ParsedKey; 2], &'static str> {
        let ring = &parsed()?.ring;
        Ok([&ring[self.index(0)], &ring[self.index(1)]])
    }
}

/// The key that is never published (the unknown-`kid` fault).
pub(crate) fn unpublished() -> Result<&'static ParsedKey, &'static str> {
    Ok(&parsed()?.unpublished)
}

/// `BASE64URL(json)`.
pub(crate) fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A compact JWS over `header` and `claims`, signed with `key` under `alg`.
pub(crate) fn sign(
    header: &Value,
    claims: &Value,
    key: &EncodingKey,
    alg: Algorithm,
) -> Result<String, String> {
    let input = format!("{}.{}", encode_part(header), encode_part(claims));
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).map_err(|e| e.to_string())?;
    Ok(format!("{input}.{signature}"))
}

/// The JWKS document a fresh emulator publishes (for the fuzz targets).
pub(crate) fn jwks_document() -> Result<String, String> {
    let keys = Rotation::default().published()?;
    Ok(json!({"keys": keys.map(|k| k.jwk.clone())}).to_string())
}

/// Flips one bit of a base64url signature.
pub(crate) fn corrupt_signature(token: &str) -> String {
    let Some((input, signature)) = token.rsplit_once('.') else {
        return token.to_owned();
    };
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    if let Some(first) = bytes.first_mut() {
        *first ^= 0x01;
    }
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_keys_parse_and_rotation_walks_the_ring() {
        let rotation = Rotation::default();
        let first = rotation.signing().expect("keys parse").kid;
        let published: Vec<&str> = rotation
            .published()
            .expect("keys parse")
            .iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(published[1], first);
        rotation.rotate();
        let second = rotation.signing().expect("keys parse").kid;
        assert_ne!(first, second);
        assert_eq!(rotation.published().expect("keys parse")[0].kid, first);
        assert!(unpublished().is_ok());
    }
}
