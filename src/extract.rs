//! JSON bodies with errors a client can act on: malformed JSON is 400 `invalid_json`, a field of
//! the wrong type or missing is 422 naming the field, an oversize body is 413.
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::{AppError, ErrorCode};
use crate::state::AppState;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(64 * 1024, |s| s.settings.http.max_body_bytes);
        let is_json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let ct = ct.to_ascii_lowercase();
                ct.starts_with("application/json") || ct.contains("+json")
            })
            .unwrap_or(false);
        let declared_too_big = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > limit);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if declared_too_big {
                return Err(AppError::PayloadTooLarge { limit });
            }
            if !is_json {
                return Err(AppError::UnsupportedMediaType);
            }
            let bytes = body
                .await
                .map_err(|_| AppError::PayloadTooLarge { limit })?;
            if bytes.len() > limit {
                return Err(AppError::PayloadTooLarge { limit });
            }
            parse(&bytes).map(ApiJson)
        })
    }
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(classify)
}

/// Like [`parse`], from a JSON value already read (for bodies split into several parts, where
/// serde's `flatten` would lose the field path).
pub fn from_value<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(v).map_err(classify)
}

fn classify(e: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let field = e.path().to_string();
    let inner = e.into_inner();
    let message = strip_position(&inner.to_string());
    if inner.is_data() {
        // serde reports a missing field at its parent's path; name the field itself.
        let field = match missing_field(&message) {
            Some(name) if field == "." => name,
            Some(name) => format!("{field}.{name}"),
            None => field,
        };
        AppError::validation(field, message)
    } else {
        AppError::BadRequest {
            code: ErrorCode::InvalidJson,
            message: format!("request body is not valid JSON: {message}"),
        }
    }
}

/// serde reports a missing field at the parent path; pull its name from the message.
fn missing_field(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        code: String,
        n: Option<u8>,
    }

    #[test]
    fn classifies_errors() {
        match parse::<Body>(b"{\"code\":").unwrap_err() {
            AppError::BadRequest { code, .. } => assert_eq!(code, "invalid_json"),
            e => panic!("{e:?}"),
        }
        match parse::<Body>(b"{}").unwrap_err() {
            AppError::Validation { field, .. } => assert_eq!(field, "code"),
            e => panic!("{e:?}"),
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Outer {
            inner: Body,
        }
        match parse::<Outer>(b"{\"inner\":{}}").unwrap_err() {
            AppError::Validation { field, .. } => assert_eq!(field, "inner.code"),
            e => panic!("{e:?}"),
        }
        match parse::<Body>(b"{\"code\":\"x\",\"n\":300}").unwrap_err() {
            AppError::Validation { field, .. } => assert_eq!(field, "n"),
            e => panic!("{e:?}"),
        }
        assert!(parse::<Body>(b"{\"code\":\"x\"}").is_ok());
    }
}
