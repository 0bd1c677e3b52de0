//! Hashing of stored tokens and codes, random tokens, and encryption of WeChat session keys at
//! rest. Shared: auth, live, the WeChat fake and the state use it.
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
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

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Sha256::digest(msg).into(),
    };
    mac.update(msg);
    mac.finalize().into_bytes().into()
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
    /// Key of [`DataCipher::lookup_hash`], derived from the data key so that no second secret
    /// must be configured, and distinct from it.
    lookup_key: [u8; 32],
}

impl std::fmt::Debug for DataCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataCipher([redacted])")
    }
}

impl DataCipher {
    pub fn new(key: &Secret) -> Result<Self, CryptoError> {
        let k = decode_key(key).ok_or(CryptoError::BadKey)?;
        let lookup_key = hmac_sha256(&k, b"minxin lookup hash v1");
        Ok(Self {
            cipher: Aes256Gcm::new(&k.into()),
            lookup_key,
        })
    }

    /// A keyed hash (HMAC-SHA256, hex) of a value stored encrypted, so that it can be found by
    /// equality without being readable; without the key a phone number's hash cannot be
    /// brute-forced from the few billion possible numbers.
    pub fn lookup_hash(&self, value: &str) -> String {
        hex::encode(hmac_sha256(&self.lookup_key, value.as_bytes()))
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
