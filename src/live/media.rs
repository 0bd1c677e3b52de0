//! Media-plane credentials: TURN REST-API credentials for coturn and
//! Tencent TRTC UserSig (TLS signature v2).

use std::io::{Read, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use hmac::digest::core_api::BlockSizeUser;
use hmac::digest::{Digest, Key, KeyInit};
use hmac::{Mac, SimpleHmac};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use sha1::Sha1;
use sha2::Sha256;

/// TLS signature version emitted and accepted by [`trtc_user_sig`].
const TLS_VERSION: &str = "2.0";

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("zlib: {0}")]
    Zlib(#[from] std::io::Error),
    #[error("base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("malformed user sig: {0}")]
    Malformed(&'static str),
    #[error("user sig is for identifier {found:?}, expected {expected:?}")]
    IdentifierMismatch { expected: String, found: String },
    #[error("user sig is for sdkappid {found}, expected {expected}")]
    SdkAppIdMismatch { expected: u64, found: u64 },
    #[error("user sig expired at {expired_at}, now {now}")]
    Expired { expired_at: i64, now: i64 },
    #[error("user sig signature mismatch")]
    BadSignature,
    #[error("privilege map is for room {found}, expected {expected}")]
    RoomMismatch { expected: u32, found: u32 },
}

/// Every right in a TRTC room: create, enter, send and receive audio, video and screen sharing.
pub const ALL_PRIVILEGES: u32 = 255;

/// The privilege map (`TLS.userbuf`) of a room-bound signature, as TRTC reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomPrivileges {
    pub user_id: String,
    pub sdk_app_id: u32,
    pub room_id: u32,
    /// Unix seconds after which TRTC refuses the map.
    pub expires_at: u32,
    pub privileges: u32,
}

/// One entry of `RTCConfiguration.iceServers` (WebRTC `RTCIceServer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IceServer {
    /// `RTCIceServer.urls` may be a single string or a list; accept both.
    #[serde(deserialize_with = "one_or_many")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Keyed HMAC without a fallible constructor: HMAC accepts keys of any
/// length, so we normalise the key to one block per RFC 2104 (hash if
/// longer, zero-pad) and use the infallible fixed-size `new`. The result is
/// identical to `new_from_slice` and avoids an unwrap in non-test code.
fn keyed_hmac<D: Digest + BlockSizeUser>(key: &[u8]) -> SimpleHmac<D> {
    let mut block = Key::<SimpleHmac<D>>::default();
    if key.len() > block.len() {
        let hashed = D::digest(key);
        let n = hashed.len().min(block.len());
        block[..n].copy_from_slice(&hashed[..n]);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    <SimpleHmac<D> as KeyInit>::new(&block)
}

fn hmac_b64<D: Digest + BlockSizeUser>(key: &[u8], msg: &[u8]) -> String {
    let mut mac = keyed_hmac::<D>(key);
    mac.update(msg);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// coturn `use-auth-secret` credentials: username `"{expiry}:{user}"`,
/// credential `base64(HMAC-SHA1(secret, username))`.
pub fn turn_credentials(
    secret: &str,
    user: &str,
    now_unix: i64,
    ttl_secs: i64,
    urls: &[String],
) -> IceServer {
    let expiry = now_unix.saturating_add(ttl_secs);
    let username = format!("{expiry}:{user}");
    let credential = hmac_b64::<Sha1>(secret.as_bytes(), username.as_bytes());
    IceServer {
        urls: urls.to_vec(),
        username: Some(username),
        credential: Some(credential),
    }
}

/// The string Tencent signs; the field order is fixed by the protocol.
fn tls_content(
    user_id: &str,
    sdk_app_id: u64,
    time: i64,
    expire: i64,
    userbuf: Option<&str>,
) -> String {
    let mut s = format!(
        "TLS.identifier:{user_id}\nTLS.sdkappid:{sdk_app_id}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    if let Some(buf) = userbuf {
        s.push_str("TLS.userbuf:");
        s.push_str(buf);
        s.push('\n');
    }
    s
}

/// Tencent TRTC/IM UserSig (TLSSigAPIv2 `genUserSig`): good for any room of the app.
pub fn trtc_user_sig(
    sdk_app_id: u64,
    key: &str,
    user_id: &str,
    now_unix: i64,
    expire_secs: i64,
) -> Result<String, MediaError> {
    sign(sdk_app_id, key, user_id, now_unix, expire_secs, None)
}

/// A UserSig bound to one room (TLSSigAPIv2 `genPrivateMapKey`): the signed `TLS.userbuf`
/// carries the privilege map (user, app, room, expiry, rights), so TRTC admits the holder to
/// that room only. Used both as the UserSig and as the `privateMapKey` of `enterRoom`.
pub fn trtc_private_map_key(
    sdk_app_id: u64,
    key: &str,
    user_id: &str,
    room_id: u32,
    privileges: u32,
    now_unix: i64,
    expire_secs: i64,
) -> Result<String, MediaError> {
    let app = u32::try_from(sdk_app_id)
        .map_err(|_| MediaError::InvalidArgument("sdk_app_id does not fit 32 bits"))?;
    let expires_at = u32::try_from(now_unix.saturating_add(expire_secs))
        .map_err(|_| MediaError::InvalidArgument("expiry does not fit 32 bits"))?;
    let account_len = u16::try_from(user_id.len())
        .map_err(|_| MediaError::InvalidArgument("user_id is too long"))?;
    // Layout fixed by TRTC: version 0, account length and account, then big-endian
    // sdkappid, room id, expiry, privilege map and account type (0).
    let mut buf = Vec::with_capacity(23 + user_id.len());
    buf.push(0u8);
    buf.extend_from_slice(&account_len.to_be_bytes());
    buf.extend_from_slice(user_id.as_bytes());
    for word in [app, room_id, expires_at, privileges, 0] {
        buf.extend_from_slice(&word.to_be_bytes());
    }
    sign(sdk_app_id, key, user_id, now_unix, expire_secs, Some(&buf))
}

/// Reads a privilege map (the bytes of `TLS.userbuf`).
pub fn parse_privilege_map(buf: &[u8]) -> Result<RoomPrivileges, MediaError> {
    let bad = || MediaError::Malformed("TLS.userbuf");
    let (&version, rest) = buf.split_first().ok_or_else(bad)?;
    if version != 0 || rest.len() < 2 {
        return Err(bad());
    }
    let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
    let rest = &rest[2..];
    if rest.len() != len + 20 {
        return Err(bad());
    }
    let user_id = std::str::from_utf8(&rest[..len]).map_err(|_| bad())?;
    let word = |i: usize| {
        let at = len + 4 * i;
        u32::from_be_bytes([rest[at], rest[at + 1], rest[at + 2], rest[at + 3]])
    };
    Ok(RoomPrivileges {
        user_id: user_id.to_owned(),
        sdk_app_id: word(0),
        room_id: word(1),
        expires_at: word(2),
        privileges: word(3),
    })
}

fn sign(
    sdk_app_id: u64,
    key: &str,
    user_id: &str,
    now_unix: i64,
    expire_secs: i64,
    userbuf: Option<&[u8]>,
) -> Result<String, MediaError> {
    if user_id.is_empty() {
        return Err(MediaError::InvalidArgument("user_id is empty"));
    }
    if key.is_empty() {
        return Err(MediaError::InvalidArgument("key is empty"));
    }
    if expire_secs <= 0 {
        return Err(MediaError::InvalidArgument("expire_secs must be positive"));
    }
    let userbuf = userbuf.map(|b| STANDARD.encode(b));
    let content = tls_content(
        user_id,
        sdk_app_id,
        now_unix,
        expire_secs,
        userbuf.as_deref(),
    );
    let sig = hmac_b64::<Sha256>(key.as_bytes(), content.as_bytes());
    let mut doc = serde_json::json!({
        "TLS.ver": TLS_VERSION,
        "TLS.identifier": user_id,
        "TLS.sdkappid": sdk_app_id,
        "TLS.expire": expire_secs,
        "TLS.time": now_unix,
        "TLS.sig": sig,
    });
    if let Some(buf) = userbuf {
        doc["TLS.userbuf"] = Value::String(buf);
    }
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
    enc.write_all(&serde_json::to_vec(&doc)?)?;
    let compressed = enc.finish()?;
    Ok(to_url_alphabet(&STANDARD.encode(compressed)))
}

// Tencent's own URL-safe variant; not RFC 4648 base64url.
fn to_url_alphabet(b64: &str) -> String {
    b64.chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

fn from_url_alphabet(sig: &str) -> String {
    sig.trim()
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect()
}

/// Upper bound on the inflated document; real sigs are a few hundred bytes,
/// so this only guards against zlib bombs in untrusted input.
const MAX_INFLATED: u64 = 64 * 1024;

/// Decodes a UserSig into its JSON document without checking the signature.
pub fn decode_trtc_user_sig(sig: &str) -> Result<Value, MediaError> {
    let compressed = STANDARD.decode(from_url_alphabet(sig))?;
    let mut json = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut json)?;
    if json.len() as u64 > MAX_INFLATED {
        return Err(MediaError::Malformed("inflated document too large"));
    }
    let value: Value = serde_json::from_slice(&json)?;
    if !value.is_object() {
        return Err(MediaError::Malformed("not a JSON object"));
    }
    Ok(value)
}

fn field<'a>(doc: &'a Value, name: &'static str) -> Result<&'a Value, MediaError> {
    doc.get(name).ok_or(MediaError::Malformed(name))
}

fn str_field<'a>(doc: &'a Value, name: &'static str) -> Result<&'a str, MediaError> {
    field(doc, name)?
        .as_str()
        .ok_or(MediaError::Malformed(name))
}

fn i64_field(doc: &Value, name: &'static str) -> Result<i64, MediaError> {
    field(doc, name)?
        .as_i64()
        .ok_or(MediaError::Malformed(name))
}

/// The checks of Tencent's `verifyUserSig`; returns the decoded document.
fn verify_doc(
    sdk_app_id: u64,
    key: &str,
    user_id: &str,
    sig: &str,
    now_unix: i64,
) -> Result<Value, MediaError> {
    let doc = decode_trtc_user_sig(sig)?;
    if str_field(&doc, "TLS.ver")? != TLS_VERSION {
        return Err(MediaError::Malformed("TLS.ver"));
    }
    let identifier = str_field(&doc, "TLS.identifier")?;
    if identifier != user_id {
        return Err(MediaError::IdentifierMismatch {
            expected: user_id.to_owned(),
            found: identifier.to_owned(),
        });
    }
    let found_app = field(&doc, "TLS.sdkappid")?
        .as_u64()
        .ok_or(MediaError::Malformed("TLS.sdkappid"))?;
    if found_app != sdk_app_id {
        return Err(MediaError::SdkAppIdMismatch {
            expected: sdk_app_id,
            found: found_app,
        });
    }
    let time = i64_field(&doc, "TLS.time")?;
    let expire = i64_field(&doc, "TLS.expire")?;
    let expired_at = time.saturating_add(expire);
    if now_unix > expired_at {
        return Err(MediaError::Expired {
            expired_at,
            now: now_unix,
        });
    }
    let userbuf = match doc.get("TLS.userbuf") {
        Some(v) => Some(v.as_str().ok_or(MediaError::Malformed("TLS.userbuf"))?),
        None => None,
    };
    let claimed = STANDARD
        .decode(str_field(&doc, "TLS.sig")?)
        .map_err(|_| MediaError::Malformed("TLS.sig"))?;
    let content = tls_content(identifier, found_app, time, expire, userbuf);
    let mut mac = keyed_hmac::<Sha256>(key.as_bytes());
    mac.update(content.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&claimed)
        .map_err(|_| MediaError::BadSignature)?;
    Ok(doc)
}

/// Checks a UserSig as Tencent's `verifyUserSig` does: identity, app id,
/// expiry (`time + expire`) and the HMAC over the signed fields.
pub fn verify_trtc_user_sig(
    sdk_app_id: u64,
    key: &str,
    user_id: &str,
    sig: &str,
    now_unix: i64,
) -> Result<(), MediaError> {
    verify_doc(sdk_app_id, key, user_id, sig, now_unix).map(|_| ())
}

/// Checks a room-bound signature as TRTC does on `enterRoom`: the signature itself
/// ([`verify_trtc_user_sig`]), then its privilege map: same user and app, this room, not
/// expired. Returns the map.
pub fn verify_trtc_private_map_key(
    sdk_app_id: u64,
    key: &str,
    user_id: &str,
    room_id: u32,
    sig: &str,
    now_unix: i64,
) -> Result<RoomPrivileges, MediaError> {
    let doc = verify_doc(sdk_app_id, key, user_id, sig, now_unix)?;
    let buf = STANDARD
        .decode(str_field(&doc, "TLS.userbuf")?)
        .map_err(|_| MediaError::Malformed("TLS.userbuf"))?;
    let map = parse_privilege_map(&buf)?;
    if map.user_id != user_id {
        return Err(MediaError::IdentifierMismatch {
            expected: user_id.to_owned(),
            found: map.user_id,
        });
    }
    if u64::from(map.sdk_app_id) != sdk_app_id {
        return Err(MediaError::SdkAppIdMismatch {
            expected: sdk_app_id,
            found: u64::from(map.sdk_app_id),
        });
    }
    if map.room_id != room_id {
        return Err(MediaError::RoomMismatch {
            expected: room_id,
            found: map.room_id,
        });
    }
    if now_unix > i64::from(map.expires_at) {
        return Err(MediaError::Expired {
            expired_at: i64::from(map.expires_at),
            now: now_unix,
        });
    }
    Ok(map)
}

#[cfg(test)]
// Workspace lints deny unwrap/expect; they are fine in tests.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const APP: u64 = 1_400_000_000;
    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    const T0: i64 = 1_700_000_000;

    fn urls() -> Vec<String> {
        vec![
            "turn:turn.example.org:3478?transport=udp".to_owned(),
            "turns:turn.example.org:5349".to_owned(),
        ]
    }

    // Vectors computed with python3 hmac/hashlib/base64.
    #[test]
    fn turn_known_vector() {
        let s = turn_credentials("coturn-shared-secret", "resident42", T0, 86_400, &urls());
        assert_eq!(s.username.as_deref(), Some("1700086400:resident42"));
        assert_eq!(
            s.credential.as_deref(),
            Some("VsESMyW6JXS7Aq74E72bNzuqCQI=")
        );
        assert_eq!(s.urls, urls());
    }

    #[test]
    fn turn_long_secret_is_hashed_like_hmac() {
        let secret = "k".repeat(100);
        let s = turn_credentials(&secret, "7", 1_700_000_000, 3600, &[]);
        assert_eq!(s.username.as_deref(), Some("1700003600:7"));
        assert_eq!(
            s.credential.as_deref(),
            Some("EEXO74IJfXTwiTY1ufJddICHYug=")
        );
    }

    #[test]
    fn keyed_hmac_matches_new_from_slice() {
        for len in [0usize, 1, 20, 63, 64, 65, 200] {
            let key = vec![0xA5u8; len];
            let mut a = keyed_hmac::<Sha256>(&key);
            let mut b = <SimpleHmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
            a.update(b"msg");
            b.update(b"msg");
            assert_eq!(
                a.finalize().into_bytes(),
                b.finalize().into_bytes(),
                "len {len}"
            );
        }
    }

    #[test]
    fn ice_server_serde_camel_case() {
        let s = turn_credentials("s", "u", 0, 10, &urls());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["urls"][1], "turns:turn.example.org:5349");
        assert_eq!(v["username"], "10:u");
        assert!(v["credential"].is_string());

        let stun = IceServer {
            urls: vec!["stun:stun.example.org".into()],
            username: None,
            credential: None,
        };
        assert_eq!(
            serde_json::to_string(&stun).unwrap(),
            r#"{"urls":["stun:stun.example.org"]}"#
        );
        let single: IceServer =
            serde_json::from_str(r#"{"urls":"stun:stun.example.org"}"#).unwrap();
        assert_eq!(single, stun);
        let back: IceServer = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn trtc_sig_field_matches_python_vector() {
        let sig = trtc_user_sig(APP, KEY, "resident_42", T0, 86_400).unwrap();
        let doc = decode_trtc_user_sig(&sig).unwrap();
        assert_eq!(
            doc["TLS.sig"],
            "Qp9TaeSuqz2/gBzs4098eZkz3zkxJFakP6bW4kkiHL0="
        );
        assert_eq!(doc["TLS.ver"], "2.0");
        assert_eq!(doc["TLS.identifier"], "resident_42");
        assert_eq!(doc["TLS.sdkappid"], APP);
        assert_eq!(doc["TLS.time"], T0);
        assert_eq!(doc["TLS.expire"], 86_400);
    }

    // Vector computed with python3 (struct/hmac/base64) following TLSSigAPIv2's
    // genPrivateMapKey layout.
    #[test]
    fn private_map_key_matches_python_vector() {
        let sig = trtc_private_map_key(APP, KEY, "resident_42", 10_000, ALL_PRIVILEGES, T0, 86_400)
            .unwrap();
        let doc = decode_trtc_user_sig(&sig).unwrap();
        assert_eq!(
            doc["TLS.userbuf"],
            "AAALcmVzaWRlbnRfNDJTck4AAAAnEGVVQoAAAAD/AAAAAA=="
        );
        assert_eq!(
            doc["TLS.sig"],
            "PjKKImJUi7KTzD9TZYTZa3lqqQfPdwWFFjfzUGctRxM="
        );
    }

    #[test]
    fn private_map_key_binds_user_app_room_and_expiry() {
        let sig = trtc_private_map_key(APP, KEY, "alice", 77, ALL_PRIVILEGES, T0, 600).unwrap();
        // Still a valid UserSig for the user.
        verify_trtc_user_sig(APP, KEY, "alice", &sig, T0).unwrap();
        let map = verify_trtc_private_map_key(APP, KEY, "alice", 77, &sig, T0 + 600).unwrap();
        assert_eq!(
            map,
            RoomPrivileges {
                user_id: "alice".into(),
                sdk_app_id: APP as u32,
                room_id: 77,
                expires_at: (T0 + 600) as u32,
                privileges: ALL_PRIVILEGES,
            }
        );
        let other_room = verify_trtc_private_map_key(APP, KEY, "alice", 78, &sig, T0).unwrap_err();
        assert!(
            matches!(
                other_room,
                MediaError::RoomMismatch {
                    expected: 78,
                    found: 77
                }
            ),
            "{other_room}"
        );
        let late = verify_trtc_private_map_key(APP, KEY, "alice", 77, &sig, T0 + 601).unwrap_err();
        assert!(matches!(late, MediaError::Expired { .. }), "{late}");
        // A plain UserSig carries no privilege map: no room at all.
        let plain = trtc_user_sig(APP, KEY, "alice", T0, 600).unwrap();
        assert!(verify_trtc_private_map_key(APP, KEY, "alice", 77, &plain, T0).is_err());
        assert!(parse_privilege_map(&[0, 0]).is_err());
        assert!(parse_privilege_map(&[]).is_err());
    }

    #[test]
    fn trtc_sig_is_url_safe() {
        for user in ["a", "resident_42", "someone-with-a-longer-id_0123456789"] {
            let sig = trtc_user_sig(APP, KEY, user, T0, 600).unwrap();
            assert!(!sig.contains(['+', '/', '=']), "{sig}");
        }
    }

    #[test]
    fn trtc_round_trip_verifies() {
        let sig = trtc_user_sig(APP, KEY, "alice", T0, 3600).unwrap();
        verify_trtc_user_sig(APP, KEY, "alice", &sig, T0).unwrap();
        verify_trtc_user_sig(APP, KEY, "alice", &sig, T0 + 3600).unwrap();
    }

    // Sig produced by a python re-implementation of TLSSigAPIv2 (json.dumps +
    // zlib.compress), to check interop with Tencent's encoding.
    #[test]
    fn trtc_verifies_python_generated_sig() {
        let sig = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkilKLwQLxJkYwBcUp2YkFBZkpQGlDEwMogMqlVhRkFqUCZSzMTOCCJZm5ICFDczTFxZnpICsCCyxDElODSwurjPTTnaqKTQwsLVKjsquMq7IrvNwSswPMksJNsrMzPXwMbJVqAXcvNFI_";
        verify_trtc_user_sig(APP, KEY, "resident_42", sig, T0 + 10).unwrap();
    }

    #[test]
    fn trtc_wrong_key_rejected() {
        let sig = trtc_user_sig(APP, KEY, "alice", T0, 3600).unwrap();
        let err = verify_trtc_user_sig(APP, "other-key", "alice", &sig, T0).unwrap_err();
        assert!(matches!(err, MediaError::BadSignature), "{err}");
    }

    #[test]
    fn trtc_expired_rejected() {
        let sig = trtc_user_sig(APP, KEY, "alice", T0, 3600).unwrap();
        let err = verify_trtc_user_sig(APP, KEY, "alice", &sig, T0 + 3601).unwrap_err();
        assert!(
            matches!(err, MediaError::Expired { expired_at, .. } if expired_at == T0 + 3600),
            "{err}"
        );
    }

    #[test]
    fn trtc_wrong_user_rejected() {
        let sig = trtc_user_sig(APP, KEY, "alice", T0, 3600).unwrap();
        let err = verify_trtc_user_sig(APP, KEY, "bob", &sig, T0).unwrap_err();
        assert!(
            matches!(err, MediaError::IdentifierMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn trtc_wrong_app_rejected() {
        let sig = trtc_user_sig(APP, KEY, "alice", T0, 3600).unwrap();
        let err = verify_trtc_user_sig(APP + 1, KEY, "alice", &sig, T0).unwrap_err();
        assert!(matches!(err, MediaError::SdkAppIdMismatch { .. }), "{err}");
    }

    #[test]
    fn trtc_tampered_fields_rejected() {
        // Re-encode with a longer expiry but the original HMAC.
        let sig = trtc_user_sig(APP, KEY, "alice", T0, 60).unwrap();
        let mut doc = decode_trtc_user_sig(&sig).unwrap();
        doc["TLS.expire"] = serde_json::json!(999_999);
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&serde_json::to_vec(&doc).unwrap()).unwrap();
        let forged = to_url_alphabet(&STANDARD.encode(enc.finish().unwrap()));
        let err = verify_trtc_user_sig(APP, KEY, "alice", &forged, T0 + 120).unwrap_err();
        assert!(matches!(err, MediaError::BadSignature), "{err}");
    }

    #[test]
    fn trtc_garbage_rejected() {
        assert!(matches!(
            decode_trtc_user_sig("not base64 !!"),
            Err(MediaError::Base64(_))
        ));
        let not_zlib = to_url_alphabet(&STANDARD.encode(b"plain bytes"));
        assert!(matches!(
            decode_trtc_user_sig(&not_zlib),
            Err(MediaError::Zlib(_))
        ));
        assert!(verify_trtc_user_sig(APP, KEY, "alice", "", T0).is_err());
    }

    #[test]
    fn trtc_invalid_arguments() {
        assert!(matches!(
            trtc_user_sig(APP, KEY, "", T0, 60),
            Err(MediaError::InvalidArgument(_))
        ));
        assert!(matches!(
            trtc_user_sig(APP, "", "a", T0, 60),
            Err(MediaError::InvalidArgument(_))
        ));
        assert!(matches!(
            trtc_user_sig(APP, KEY, "a", T0, 0),
            Err(MediaError::InvalidArgument(_))
        ));
    }
}
