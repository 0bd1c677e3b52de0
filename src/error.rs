//! One error type for every handler, one JSON shape for every error:
//! `{"error":{"code":"…","message":"…","field":"…"?}}`. Codes are stable snake_case strings
//! that clients may switch on; messages are for people. Infrastructure errors are logged with
//! their chain and shown to clients only as `internal_error`.
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::error_code::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("authentication required")]
    Unauthenticated,
    #[error("access token is invalid or expired")]
    InvalidToken,
    #[error("{message}")]
    Unauthorized { code: ErrorCode, message: String },
    #[error("your role may not do this")]
    Forbidden,
    #[error("{message}")]
    ForbiddenWith { code: ErrorCode, message: String },
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// A conflict with the record's current state, which the client needs to recover.
    #[error("{message}")]
    StateConflict {
        code: ErrorCode,
        message: String,
        state: String,
        version: Option<i32>,
    },
    #[error("request body is too large (limit {limit} bytes)")]
    PayloadTooLarge { limit: usize },
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    #[error("{message}")]
    TooManyRequests {
        code: ErrorCode,
        message: String,
        retry_after_secs: u64,
    },
    #[error("{message}")]
    Unavailable {
        code: ErrorCode,
        message: String,
        retry_after_secs: u64,
    },
    #[error("{message}")]
    BadGateway { code: ErrorCode, message: String },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `validation_failed`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field at fault, for `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For conflicts: the record's current state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// For conflicts: the record's current version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
    /// The optimistic version guard failed: someone changed the record since the caller read
    /// it. The answer carries the record's state and version so the client can reload.
    pub fn version_conflict(
        message: impl Into<String>,
        state: impl Into<String>,
        version: i32,
    ) -> Self {
        Self::StateConflict {
            code: ErrorCode::VersionConflict,
            message: message.into(),
            state: state.into(),
            version: Some(version),
        }
    }
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest { code, .. } => *code,
            Self::Validation { .. } => ErrorCode::ValidationFailed,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::InvalidToken => ErrorCode::InvalidToken,
            Self::Unauthorized { code, .. } => *code,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::ForbiddenWith { code, .. } => *code,
            Self::NotFound => ErrorCode::NotFound,
            Self::Conflict { code, .. } => *code,
            Self::StateConflict { code, .. } => *code,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::TooManyRequests { code, .. } => *code,
            Self::Unavailable { code, .. } => *code,
            Self::BadGateway { code, .. } => *code,
            Self::Internal(_) => ErrorCode::InternalError,
        }
    }

    fn body(&self) -> ErrorBody {
        let field = match self {
            Self::Validation { field, .. } => Some(field.clone()),
            _ => None,
        };
        let message = match self {
            Self::Validation { message, .. } => message.clone(),
            other => other.to_string(),
        };
        let (state, version) = match self {
            Self::StateConflict { state, version, .. } => (Some(state.clone()), *version),
            _ => (None, None),
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().as_str().to_string(),
                message,
                field,
                state,
                version,
            },
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Internal(e.into())
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

/// The broker (Redis) is down or not answering: every broker call is bounded, so the client
/// learns at once that it should retry shortly, instead of waiting or seeing a 500.
impl From<crate::broker::BrokerError> for AppError {
    fn from(e: crate::broker::BrokerError) -> Self {
        tracing::error!(error = %format!("{:#}", anyhow::Error::from(e)), "broker unavailable");
        Self::Unavailable {
            code: ErrorCode::BrokerUnavailable,
            message: "a shared service is briefly unavailable; try again in a moment".into(),
            retry_after_secs: BROKER_RETRY_AFTER_SECS,
        }
    }
}

impl AppError {
    /// One line per error answer: a client's mistake is routine (INFO, its code only: messages
    /// may quote what the client sent); a server fault is ERROR with its whole cause chain.
    fn log(&self) {
        let status = self.status_code();
        match self {
            // `{:#}` prints the whole cause chain; the client sees none of it.
            Self::Internal(e) => tracing::error!(error = %format!("{e:#}"), "internal error"),
            _ if status.is_server_error() => {
                tracing::error!(status = status.as_u16(), code = self.code().as_str(), error = %self, "server error")
            }
            _ => tracing::info!(
                status = status.as_u16(),
                code = self.code().as_str(),
                "client error"
            ),
        }
    }
}

/// What `Retry-After` says while the broker is unavailable; it reconnects within seconds.
pub const BROKER_RETRY_AFTER_SECS: u64 = 2;

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated | Self::InvalidToken | Self::Unauthorized { .. } => {
                StatusCode::UNAUTHORIZED
            }
            Self::Forbidden | Self::ForbiddenWith { .. } => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict { .. } | Self::StateConflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let mut res = HttpResponse::build(self.status_code());
        match self {
            Self::TooManyRequests {
                retry_after_secs, ..
            }
            | Self::Unavailable {
                retry_after_secs, ..
            } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::Unauthenticated | Self::InvalidToken => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        res.json(self.body())
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What answering with `e` writes to the log.
    fn logged(e: AppError) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let _ = e.error_response();
        });
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn client_errors_are_info_with_their_code_only() {
        let log = logged(AppError::validation(
            "contact_phone",
            "13812345678 is not a valid phone number",
        ));
        assert!(log.contains(" INFO "), "{log}");
        assert!(
            log.contains("validation_failed") && log.contains("422"),
            "{log}"
        );
        assert!(
            !log.contains("13812345678"),
            "messages may quote the client: {log}"
        );
        let log = logged(AppError::NotFound);
        assert!(log.contains(" INFO ") && log.contains("not_found"), "{log}");
    }

    #[test]
    fn server_errors_are_error_with_the_whole_chain() {
        let e = anyhow::anyhow!("connection refused").context("cannot reach the database");
        let log = logged(AppError::internal(e));
        assert!(log.contains(" ERROR "), "{log}");
        assert!(
            log.contains("cannot reach the database") && log.contains("connection refused"),
            "{log}"
        );
        let log = logged(AppError::BadGateway {
            code: ErrorCode::WechatError,
            message: "WeChat refused the app secret".into(),
        });
        assert!(
            log.contains(" ERROR ") && log.contains("wechat_error"),
            "{log}"
        );
    }
}
