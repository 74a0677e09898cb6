//! The one mapping of every failure to a GraphQL error with `extensions.code`.
//! Internal detail is logged here and never sent to the client.

use async_graphql::ErrorExtensions;
use readstream_contracts::{proto::commands::v1 as pb, Code};
use readstream_runtime::{bus, db};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub field: Option<String>,
    /// For `RATE_LIMITED`: seconds until the client may ask again (`extensions.retryAfter`).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None, retry_after_secs: None }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self {
            code: Code::InvalidArgument,
            message: message.into(),
            field: Some(field.to_owned()),
            retry_after_secs: None,
        }
    }

    /// Too many requests: the client may ask again after `retry_after`.
    pub fn rate_limited(what: &str, retry_after: std::time::Duration) -> Self {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self {
            retry_after_secs: Some(secs.max(1)),
            ..Self::new(Code::RateLimited, format!("too many {what}; try again in {} s", secs.max(1)))
        }
    }

    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(Code::LimitExceeded, message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(Code::Unauthenticated, "sign in first: send `Authorization: Bearer <token>`")
    }

    /// Logs the cause; the client learns only that something failed inside.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(Code::Internal, "internal error")
    }

    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "dependency unavailable");
        Self::new(Code::Unavailable, "a service is unavailable; try again")
    }
}

impl From<readstream_contracts::Rejection> for ApiError {
    fn from(rejection: readstream_contracts::Rejection) -> Self {
        Self {
            code: rejection.code,
            message: rejection.message,
            field: rejection.field.map(str::to_owned),
            retry_after_secs: rejection.retry_after_secs.map(u64::from),
        }
    }
}

impl From<pb::Rejected> for ApiError {
    fn from(rejected: pb::Rejected) -> Self {
        Self {
            code: Code::from(rejected.code()),
            message: rejected.message,
            field: Some(rejected.field).filter(|f| !f.is_empty()),
            retry_after_secs: Some(u64::from(rejected.retry_after_secs)).filter(|secs| *secs > 0),
        }
    }
}

impl From<bus::BusError> for ApiError {
    fn from(err: bus::BusError) -> Self {
        readstream_contracts::Rejection::from(err).into()
    }
}

impl From<&sqlx::Error> for ApiError {
    fn from(err: &sqlx::Error) -> Self {
        let rejection = db::failure(err);
        Self::new(rejection.code, rejection.message)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::from(&err)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        async_graphql::Error::new(err.message).extend_with(|_, extensions| {
            extensions.set("code", err.code.as_str());
            if let Some(field) = err.field {
                extensions.set("field", field);
            }
            if let Some(secs) = err.retry_after_secs {
                extensions.set("retryAfter", secs);
            }
        })
    }
}

impl From<ApiError> for async_graphql::ServerError {
    fn from(err: ApiError) -> Self {
        async_graphql::Error::from(err).into_server_error(Default::default())
    }
}
