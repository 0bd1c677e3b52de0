//! Hashing of stored tokens and codes, random tokens, and encryption of WeChat session keys at
//! rest. Shared: auth, live, the WeChat fake and the state use it.
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::{decode_key, Secret};

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A random URL-safe token of `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("key must be base64 of exactly 32 bytes")]
    BadKey,
    #[error("ciphertext is malformed or was not made with this key")]
    Decrypt,
}

#[derive(Clone)]
pub struct DataCipher {
    cipher: Aes256Gcm,
    /// The keyed MAC of [`DataCipher::lookup_hash`]; its key is derived from the data key so no
    /// new secret is needed.
    lookup: Hmac<Sha256>,
}

impl std::fmt::Debug for DataCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataCipher([redacted])")
    }
}

impl DataCipher {
    pub fn new(key: &Secret) -> Result<Self, CryptoError> {
        let k = decode_key(key).ok_or(CryptoError::BadKey)?;
        let mut derive =
            <Hmac<Sha256> as Mac>::new_from_slice(&k).map_err(|_| CryptoError::BadKey)?;
        derive.update(b"minxin lookup hash v1");
        let lookup = <Hmac<Sha256> as Mac>::new_from_slice(&derive.finalize().into_bytes())
            .map_err(|_| CryptoError::BadKey)?;
        Ok(Self {
            cipher: Aes256Gcm::new(&k.into()),
            lookup,
        })
    }

    /// base64(nonce ‖ ciphertext); a fresh nonce every time.
    pub fn encrypt(&self, plain: &str) -> Result<String, CryptoError> {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .map_err(|_| CryptoError::Decrypt)?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(STANDARD.encode(out))
    }

    /// A keyed hash (HMAC-SHA256, hex) to find encrypted values by equality, e.g. a phone:
    /// without the key, a hash of a phone number could be reversed by trying all numbers.
    pub fn lookup_hash(&self, plain: &str) -> String {
        let mut mac = self.lookup.clone();
        mac.update(plain.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn decrypt(&self, sealed: &str) -> Result<Secret, CryptoError> {
        let raw = STANDARD.decode(sealed).map_err(|_| CryptoError::Decrypt)?;
        if raw.len() < 12 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = raw.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_and_detects_tampering() {
        let key = Secret::new(crate::config::random_b64(32));
        let c = DataCipher::new(&key).unwrap();
        let sealed = c.encrypt("session-key==").unwrap();
        assert!(!sealed.contains("session-key"));
        assert_eq!(c.decrypt(&sealed).unwrap().expose(), "session-key==");
        assert_ne!(sealed, c.encrypt("session-key==").unwrap(), "fresh nonce");
        let other = DataCipher::new(&Secret::new(crate::config::random_b64(32))).unwrap();
        assert!(other.decrypt(&sealed).is_err());
        assert!(c.decrypt("AAAA").is_err());
    }

    #[test]
    fn lookup_hashes_are_keyed_and_stable() {
        let c = DataCipher::new(&Secret::new(crate::config::random_b64(32))).unwrap();
        let other = DataCipher::new(&Secret::new(crate::config::random_b64(32))).unwrap();
        assert_eq!(c.lookup_hash("13812345678"), c.lookup_hash("13812345678"));
        assert_ne!(c.lookup_hash("13812345678"), c.lookup_hash("13812345679"));
        assert_ne!(
            c.lookup_hash("13812345678"),
            other.lookup_hash("13812345678")
        );
        assert_ne!(c.lookup_hash("13812345678"), sha256_hex("13812345678"));
    }

    #[test]
    fn rejects_short_keys() {
        assert!(DataCipher::new(&Secret::new("c2hvcnQ=")).is_err());
    }
}
