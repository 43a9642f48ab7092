//! ES512 JWTs as Mattilda (Gr4vy) expects them, signed by the gateway for each attempt.
//!
//! The token follows what Gr4vy's own SDKs send (`gr4vy-python` `auth.py`, `gr4vy-typescript`
//! `src/lib/auth.ts` + `helpers.ts`): header `{alg: ES512, kid, typ: JWT}`, claims `iss`, `iat`,
//! `nbf`, `exp`, `jti` and `scopes`. The `kid` is the RFC 7638 JWK thumbprint of the public key:
//! SHA-256 over `{"crv":"P-521","kty":"EC","x":…,"y":…}` (sorted keys, no spaces) with `x` and `y`
//! base64url-encoded at their full 66-byte length (RFC 7518 §6.2.1.2), then base64url without
//! padding. That is what Python's `jwk.construct(...).to_dict()` and WebCrypto's JWK export
//! produce. (`gr4vy-go` strips leading zero bytes of the coordinates, so its `kid` differs for
//! about three keys in four; we follow the RFC and the two other SDKs.)
//!
//! ECDSA nonces are derived per RFC 6979, so the same key, clock and `jti` give the same token
//! byte for byte, which keeps contract cases reproducible.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p521::ecdsa::signature::{Signer as _, Verifier as _};
use p521::ecdsa::{Signature, SigningKey, VerifyingKey};
use p521::elliptic_curve::group::Group as _;
use p521::pkcs8::DecodePrivateKey as _;
use p521::{ProjectivePoint, Scalar};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use time::OffsetDateTime;

/// The demo key pair's private half, for the embedded default config and tests only. Its public
/// half is `demo/demo-public-key.pem`. Never use it anywhere real.
pub const DEMO_PRIVATE_KEY: &str = include_str!("../demo/demo-private-key.pem");

/// The `iss` claim; Gr4vy's SDKs put their user agent there.
pub const ISSUER: &str = "checkout-gateway";
/// Lifetime of a signed token (DESIGN §10: `exp` = +30 s).
pub const LIFETIME_SECONDS: i64 = 30;

/// A loaded P-521 private key and its `kid`.
pub struct KeySigner {
    key: SigningKey,
    kid: String,
}

impl fmt::Debug for KeySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The kid is a hash of the public key: safe to show, and useful to match a key pair.
        f.debug_struct("KeySigner").field("kid", &self.kid).finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    kid: &'a str,
    typ: &'static str,
}

/// Why a key did not load or a token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// No cause attached: a PEM parser's error could quote what it read, and that is key material.
    #[error("not a P-521 (ES512) private key in PEM form (PKCS#8 or SEC1)")]
    NotAKey,
    #[error("cannot encode the token's JSON")]
    Encode(#[source] serde_json::Error),
    #[error("ES512 signing failed")]
    Sign(#[source] p521::ecdsa::Error),
}

/// The claims, in sorted key order like the SDKs' JSON encoders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub jti: String,
    pub nbf: i64,
    pub scopes: Vec<String>,
}

impl KeySigner {
    /// Load a PKCS#8 (`BEGIN PRIVATE KEY`, what Mattilda's dashboard hands out) or SEC1
    /// (`BEGIN EC PRIVATE KEY`) PEM. The error never contains key material.
    pub fn from_pem(pem: &str) -> Result<Self, JwtError> {
        let pem = pem.trim();
        let key = SigningKey::from_pkcs8_pem(pem)
            .or_else(|_| p521::SecretKey::from_sec1_pem(pem).map(SigningKey::from))
            .map_err(|_| JwtError::NotAKey)?;
        let kid = thumbprint(key.verifying_key());
        // Builds p521's table of multiples of the generator (`precomputed-tables`) now, when the
        // config loads, rather than in the first request's signature (about a millisecond, once
        // per process).
        let _table_built = ProjectivePoint::mul_by_generator(&Scalar::ONE);
        Ok(Self { key, kid })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        self.key.verifying_key()
    }

    /// A compact JWS valid from `now` for [`LIFETIME_SECONDS`], with `jti` and `scopes`.
    pub fn token(&self, scopes: &[&str], now: OffsetDateTime, jti: &str) -> Result<String, JwtError> {
        let issued = now.unix_timestamp();
        let claims = Claims {
            exp: issued.saturating_add(LIFETIME_SECONDS),
            iat: issued,
            iss: ISSUER.to_owned(),
            jti: jti.to_owned(),
            nbf: issued,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        let header = Header { alg: "ES512", kid: &self.kid, typ: "JWT" };
        let signing_input = format!("{}.{}", encode_json(&header)?, encode_json(&claims)?);
        let signature: Signature = self.key.try_sign(signing_input.as_bytes()).map_err(JwtError::Sign)?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes())))
    }
}

fn encode_json<T: Serialize>(value: &T) -> Result<String, JwtError> {
    serde_json::to_vec(value).map(|bytes| URL_SAFE_NO_PAD.encode(bytes)).map_err(JwtError::Encode)
}

/// RFC 7638 thumbprint of a P-521 public key, as Gr4vy's SDKs compute the `kid`.
pub fn thumbprint(key: &VerifyingKey) -> String {
    let point = key.to_sec1_point(false);
    // An uncompressed point always has both coordinates, at the curve's full field size.
    let x = point.x().map(|c| URL_SAFE_NO_PAD.encode(c)).unwrap_or_default();
    let y = point.y().map(|c| URL_SAFE_NO_PAD.encode(c)).unwrap_or_default();
    // Members in lexicographic order, no whitespace (RFC 7638 §3.2).
    let canonical = format!(r#"{{"crv":"P-521","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()))
}

/// Why a presented token was refused (used by the simulator, which plays Mattilda's side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Malformed(&'static str),
    WrongKey,
    BadSignature,
    NotYetValid,
    Expired,
}

/// Verify a compact ES512 JWS against `key` and `kid`, and its time window against `now`
/// (with `leeway` seconds of clock skew). Scopes are left to the caller.
pub fn verify(token: &str, key: &VerifyingKey, kid: &str, now: OffsetDateTime, leeway: i64) -> Result<Claims, Refusal> {
    let malformed = Refusal::Malformed("a JWT has three dot-separated parts");
    let (input, signature) = token.rsplit_once('.').ok_or(malformed.clone())?;
    let (header, payload) = input.split_once('.').filter(|(_, p)| !p.contains('.')).ok_or(malformed)?;
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| Refusal::Malformed("not base64url"));
    let header: serde_json::Value =
        serde_json::from_slice(&decode(header)?).map_err(|_| Refusal::Malformed("header is not JSON"))?;
    if header.get("alg").and_then(serde_json::Value::as_str) != Some("ES512") {
        return Err(Refusal::Malformed("alg must be ES512"));
    }
    if header.get("kid").and_then(serde_json::Value::as_str) != Some(kid) {
        return Err(Refusal::WrongKey);
    }
    let signature = Signature::from_slice(&decode(signature)?).map_err(|_| Refusal::BadSignature)?;
    key.verify(input.as_bytes(), &signature).map_err(|_| Refusal::BadSignature)?;
    let claims: Claims =
        serde_json::from_slice(&decode(payload)?).map_err(|_| Refusal::Malformed("claims are incomplete"))?;
    let now = now.unix_timestamp();
    if claims.nbf > now.saturating_add(leeway) {
        return Err(Refusal::NotYetValid);
    }
    if claims.exp <= now.saturating_sub(leeway) {
        return Err(Refusal::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use p521::pkcs8::DecodePublicKey as _;
    use time::macros::datetime;

    use super::{DEMO_PRIVATE_KEY, KeySigner, Refusal, verify};

    const DEMO_PUBLIC_KEY: &str = include_str!("../demo/demo-public-key.pem");
    /// A second key pair (openssl, P-521), to show a foreign signature is refused.
    const OTHER_PRIVATE_KEY: &str = "-----BEGIN EC PRIVATE KEY-----
MIHcAgEBBEIByZ24kAnlyoHjV98F6M+JZQg7LLyHiD55+gPXe18aFbOD0/BZvh27
seZIr7LuxiU0Asyo140sReK3fJEpF8ZQfkSgBwYFK4EEACOhgYkDgYYABACeBhgC
q4pRs3cHGs23F3d8eBXMk6ACTkGWBwLhRfOoxH8GGh0zNr1fKFpm7XE9VX3d9QGC
DjJX9PAyaQLKZ9NsFAFbtJrQiotYzS6iLnnNd2hCXRX7nd3zND2D++BP4FRcYK8I
fTIwxXZ+ReVu7Ux52Br9IScUlDuuAtJCalx7JqfM6A==
-----END EC PRIVATE KEY-----";

    fn demo() -> KeySigner {
        KeySigner::from_pem(DEMO_PRIVATE_KEY).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn demo_kid_is_the_rfc7638_thumbprint() {
        // Computed independently (Python: cryptography + hashlib) from demo/demo-public-key.pem.
        assert_eq!(demo().kid(), "ttrrLW_lE-NZg2uZzvhZHlPLaXujMk4mltqdyHc2S6c");
    }

    #[test]
    fn a_signed_token_verifies_with_the_public_key() {
        let now = datetime!(2026-11-23 12:00:00 UTC);
        let token = demo().token(&["checkout-sessions.write"], now, "jti-1").unwrap_or_else(|e| panic!("{e}"));
        let public = p521::ecdsa::VerifyingKey::from_public_key_pem(DEMO_PUBLIC_KEY).unwrap_or_else(|e| panic!("{e}"));
        let claims = verify(&token, &public, demo().kid(), now, 0).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(claims.scopes, vec!["checkout-sessions.write".to_owned()]);
        assert_eq!((claims.nbf, claims.iat, claims.exp), (1_795_435_200, 1_795_435_200, 1_795_435_230));
        assert_eq!(claims.jti, "jti-1");
        assert_eq!(claims.iss, "checkout-gateway");
        // Deterministic (RFC 6979): the same inputs give the same token.
        assert_eq!(demo().token(&["checkout-sessions.write"], now, "jti-1").ok(), Some(token.clone()));
        // Outside its window, or tampered with, it is refused.
        let late = now + time::Duration::seconds(31);
        assert_eq!(verify(&token, &public, demo().kid(), late, 0), Err(Refusal::Expired));
        let early = now - time::Duration::seconds(10);
        assert_eq!(verify(&token, &public, demo().kid(), early, 0), Err(Refusal::NotYetValid));
        let tampered = token.replacen("eyJ", "eyK", 2);
        assert!(verify(&tampered, &public, demo().kid(), now, 0).is_err());
    }

    #[test]
    fn a_foreign_key_is_refused() {
        let other = KeySigner::from_pem(OTHER_PRIVATE_KEY).unwrap_or_else(|e| panic!("{e}"));
        let now = datetime!(2026-11-23 12:00:00 UTC);
        let token = other.token(&["checkout-sessions.read"], now, "j").unwrap_or_else(|e| panic!("{e}"));
        let demo = demo();
        assert_eq!(verify(&token, demo.verifying_key(), demo.kid(), now, 0), Err(Refusal::WrongKey));
        // Even with the expected kid, the signature does not verify.
        assert_eq!(verify(&token, demo.verifying_key(), other.kid(), now, 0), Err(Refusal::BadSignature));
    }

    #[test]
    fn invalid_pem_is_an_error_not_a_panic() {
        for pem in ["", "garbage", "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----", DEMO_PUBLIC_KEY] {
            assert!(KeySigner::from_pem(pem).is_err());
        }
        // A P-256 key is the wrong curve for ES512.
        let p256 = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgqWObr3GR9tgHzc/F
rIkUwA7Ket4zj6hh0A+C5Ln+CG6hRANCAAQpDAOkPRkcw/hAq7RQTORtFN2ROkAO
BEFrWXIQNSFIZhOCav/ZUleIVIzez4Yeqsw12j8qBpOFuuq+58x1Q/D7
-----END PRIVATE KEY-----";
        assert!(KeySigner::from_pem(p256).is_err());
    }
}
