//! Secret tokens: `scimd_<id>_<secret><checksum>`.
//!
//! - `id`: 16 base62 characters, the row's primary key (looked up by index);
//! - `secret`: 43 base62 characters = 256 bits from the OS CSPRNG;
//! - `checksum`: CRC32 of everything before it, 6 base62 characters, so that secret
//!   scanners can recognise a scimd token offline (as GitHub's tokens work).
//!
//! Only the SHA-256 of the secret is stored; a presented token is verified by comparing
//! digests in constant time.

use rand::rngs::OsRng;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const PREFIX: &str = "scimd_";
const ID_LEN: usize = 16;
const SECRET_LEN: usize = 43;
const CHECKSUM_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A freshly generated token: show `token` once, store `id` and `secret_sha256`.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub token: String,
    pub id: String,
    pub secret_sha256: String,
}

/// The parts of a well-formed presented token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedToken<'a> {
    pub id: &'a str,
    pub secret: &'a str,
}

fn random_base62(n: usize) -> String {
    let mut rng = OsRng;
    (0..n)
        .map(|_| BASE62[rng.gen_range(0..62)] as char)
        .collect()
}

fn checksum(body: &str) -> String {
    let mut n = u64::from(crc32fast::hash(body.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| b as char).collect()
}

/// SHA-256 of a secret, hex-encoded.
pub fn digest(secret: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let d = Sha256::digest(secret.as_bytes());
    let mut hex = String::with_capacity(2 * d.len());
    for b in d {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}

/// Generates a new token.
pub fn generate() -> NewToken {
    let id = random_base62(ID_LEN);
    let secret = random_base62(SECRET_LEN);
    let body = format!("{PREFIX}{id}_{secret}");
    let token = format!("{body}{}", checksum(&body));
    NewToken {
        token,
        secret_sha256: digest(&secret),
        id,
    }
}

fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Parses a presented token; `None` if it is not a well-formed scimd token (wrong prefix,
/// length, alphabet or checksum).
pub fn parse(token: &str) -> Option<ParsedToken<'_>> {
    let rest = token.strip_prefix(PREFIX)?;
    if rest.len() != ID_LEN + 1 + SECRET_LEN + CHECKSUM_LEN || !rest.is_char_boundary(ID_LEN) {
        return None;
    }
    let (id, rest) = rest.split_at(ID_LEN);
    let rest = rest.strip_prefix('_')?;
    let (secret, sum) = rest.split_at(SECRET_LEN);
    if !is_base62(id) || !is_base62(secret) || !is_base62(sum) {
        return None;
    }
    let body = &token[..token.len() - CHECKSUM_LEN];
    if checksum(body) != sum {
        return None;
    }
    Some(ParsedToken { id, secret })
}

/// Constant-time comparison of a presented secret with a stored digest.
pub fn verify(secret: &str, stored_sha256: &str) -> bool {
    digest(secret)
        .as_bytes()
        .ct_eq(stored_sha256.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_lowercase_hex_sha256() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn generated_tokens_parse_and_verify() {
        let t = generate();
        assert!(t.token.starts_with("scimd_"));
        assert_eq!(t.token.len(), 6 + 16 + 1 + 43 + 6);
        let p = parse(&t.token).expect("parses");
        assert_eq!(p.id, t.id);
        assert!(verify(p.secret, &t.secret_sha256));
        assert!(!verify("x", &t.secret_sha256));
        assert_ne!(generate().token, t.token);
    }

    #[test]
    fn rejects_malformed_tokens() {
        let t = generate().token;
        // A flipped character breaks the checksum.
        let mut bad = t.clone().into_bytes();
        let i = 30;
        bad[i] = if bad[i] == b'a' { b'b' } else { b'a' };
        assert!(parse(&String::from_utf8(bad).unwrap()).is_none());
        assert!(parse(&t[1..]).is_none());
        assert!(parse("scimd_").is_none());
        assert!(parse("").is_none());
        assert!(parse(&format!("{t}x")).is_none());
        assert!(parse("scimd_ééééééééé_").is_none());
    }

    #[test]
    fn secret_has_256_bits() {
        // 43 base62 characters carry 43·log2(62) ≈ 256.03 bits.
        assert!(SECRET_LEN as f64 * 62f64.log2() >= 256.0);
    }
}
