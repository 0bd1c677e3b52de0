//! The resident's phone number, verified by WeChat: the mini-program's `getPhoneNumber` code is
//! exchanged with `getuserphonenumber` (passing the caller's openid, so WeChat checks the code
//! is theirs), stored encrypted with a keyed hash for lookup, and shown only masked. Appeals
//! may use it as their contact: see [`verified_phone`] and [`users_by_phone`].
use actix_web::web;
use chrono::{DateTime, Utc};
use entity::users;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::login::map_wechat_error;
use super::Caller;
use crate::config::Secret;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::wechat::client::WechatError;
use crate::wechat::platform::Idempotent;

/// What else becomes the caller's once their number is verified, in the same transaction: the
/// channels capability implements it (appeals the office registered under that number are
/// claimed) and `startup` wires it in, so auth never imports channels.
#[async_trait::async_trait]
pub trait PhoneClaims: Send + Sync {
    /// Returns the ids of what was claimed.
    async fn claim(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        cipher: &crate::crypto::DataCipher,
        user_id: i64,
        phone: &str,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<i64>>;
}

#[derive(Deserialize, ToSchema)]
pub struct PhoneRequest {
    /// The code of the mini-program's `getPhoneNumber` button event (single use, 5 minutes).
    #[schema(min_length = 1, max_length = 128)]
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct PhoneView {
    /// e.g. `138****5678`.
    pub phone_masked: String,
    pub verified_at: DateTime<Utc>,
}

/// A verified number: the digits (never logged) and the keyed hash other records can match.
pub struct VerifiedPhone {
    pub number: Secret,
    pub hash: String,
}

/// The digits that identify a number: `+86 138-0013-8000` and `13800138000` are one number.
pub fn normalise(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("86") {
        Some(rest) if rest.len() == 11 => rest.to_string(),
        _ => digits,
    }
}

/// `13800138000` → `138****8000`; shorter numbers keep at most their last four digits.
/// (The board's masking finds numbers inside text; this one is given a bare number, and auth
/// must not depend on the board.)
pub fn mask(digits: &str) -> String {
    let n = digits.chars().count();
    let keep_tail = n.saturating_sub(4).min(4);
    let keep_head = if n == 11 { 3 } else { 0 };
    digits
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i < keep_head || i >= n - keep_tail {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// The keyed lookup hash of a number as written anywhere (an appeal's contact field, …).
pub fn phone_hash(state: &AppState, phone: &str) -> String {
    state.cipher.lookup_hash(&normalise(phone))
}

/// Exchanges the code and stores the number on the caller.
pub async fn verify(
    state: &AppState,
    claims: &dyn PhoneClaims,
    user_id: i64,
    code: &str,
) -> AppResult<PhoneView> {
    let code = code.trim();
    if code.is_empty() || code.chars().count() > 128 {
        return Err(AppError::validation("code", "must be 1 to 128 characters"));
    }
    let user = users::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::InvalidToken)?;
    let body = serde_json::json!({ "code": code, "openid": user.openid });
    // A code is single-use, so the call is not idempotent: a -1 is not retried blindly.
    let answer = state
        .platform
        .call(
            "getuserphonenumber",
            "/wxa/business/getuserphonenumber",
            &body,
            Idempotent::No,
        )
        .await
        .map_err(|e| match e {
            WechatError::InvalidCode(_) => AppError::validation(
                "code",
                "the phone code is invalid, used or not yours; tap the button again",
            ),
            other => map_wechat_error(other),
        })?;
    let info = &answer["phone_info"];
    let raw = info["purePhoneNumber"]
        .as_str()
        .or_else(|| info["phoneNumber"].as_str())
        .unwrap_or("");
    let number = normalise(raw);
    if !(5..=20).contains(&number.len()) {
        return Err(map_wechat_error(WechatError::Unavailable(
            "answer without a phone number".into(),
        )));
    }
    let now = state.clock.now();
    let enc = state.cipher.encrypt(&number).map_err(AppError::internal)?;
    let w = crate::db::begin_write(state).await?;
    users::ActiveModel {
        id: Set(user.id),
        phone_enc: Set(Some(enc)),
        phone_hash: Set(Some(state.cipher.lookup_hash(&number))),
        phone_verified_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(&w.txn)
    .await?;
    let claimed = claims
        .claim(&w.txn, &state.cipher, user_id, &number, now)
        .await?;
    w.commit().await?;
    tracing::info!(user_id, claimed = claimed.len(), "phone number verified");
    Ok(PhoneView {
        phone_masked: mask(&number),
        verified_at: now,
    })
}

/// The caller's verified number, for features that use it as a contact.
pub async fn verified_phone(state: &AppState, user_id: i64) -> AppResult<Option<VerifiedPhone>> {
    let Some(user) = users::Entity::find_by_id(user_id).one(&state.db).await? else {
        return Ok(None);
    };
    let (Some(enc), Some(hash)) = (user.phone_enc, user.phone_hash) else {
        return Ok(None);
    };
    let number = state.cipher.decrypt(&enc).map_err(AppError::internal)?;
    Ok(Some(VerifiedPhone { number, hash }))
}

/// Users whose verified number is `phone` (as written anywhere).
pub async fn users_by_phone(state: &AppState, phone: &str) -> AppResult<Vec<i64>> {
    Ok(users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::PhoneHash.eq(phone_hash(state, phone)))
        .into_tuple::<i64>()
        .all(&state.db)
        .await?)
}

/// Verify your phone number with WeChat (`getPhoneNumber`'s code); answered masked. Appeals
/// can then use it as their contact.
#[utoipa::path(post, path = "/api/v1/me/phone", tag = "auth",
    request_body = PhoneRequest,
    responses((status = 200, body = PhoneView),
        (status = 422, description = "`validation_failed`: the code is invalid, used or not yours", body = ErrorBody),
        (status = 429, description = "`wechat_rate_limited`", body = ErrorBody),
        (status = 502, description = "`wechat_error`", body = ErrorBody),
        (status = 503, description = "`wechat_unavailable` or `wechat_not_configured`", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn verify_phone(
    caller: Caller,
    state: web::Data<AppState>,
    claims: web::Data<std::sync::Arc<dyn PhoneClaims>>,
    body: ApiJson<PhoneRequest>,
) -> AppResult<web::Json<PhoneView>> {
    Ok(web::Json(
        verify(
            &state,
            claims.get_ref().as_ref(),
            caller.user_id,
            &body.0.code,
        )
        .await?,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_normalise_to_their_digits() {
        assert_eq!(super::normalise("+86 138-0013-8000"), "13800138000");
        assert_eq!(super::normalise("13800138000"), "13800138000");
        assert_eq!(super::normalise("0851-1234567"), "08511234567");
        assert_eq!(super::mask("13800138000"), "138****8000");
        assert_eq!(super::mask("08511234567"), "085****4567");
        assert_eq!(super::mask("12345"), "****5");
    }
}
