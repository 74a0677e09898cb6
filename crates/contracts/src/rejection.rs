//! A command's coded refusal: the one shape every domain error maps to.

use crate::proto::commands::v1 as pb;

/// Why a command was refused; each maps to a GraphQL `extensions.code` of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    Conflict,
    Unauthenticated,
    PermissionDenied,
    /// Too many requests from this client or reader: wait `retryAfter` seconds.
    RateLimited,
    /// A bound on the work one request or connection may cause was reached; the message says
    /// which bound and how to go on.
    LimitExceeded,
    /// Nothing was changed (no service answered, the store was out of reach): safe to retry.
    Unavailable,
    Internal,
    /// Sent, but the outcome is unknown: retry with the same idempotency key to learn it.
    DeadlineExceeded,
}

impl Code {
    pub const ALL: [Code; 11] = [
        Code::InvalidArgument,
        Code::NotFound,
        Code::AlreadyExists,
        Code::Conflict,
        Code::Unauthenticated,
        Code::PermissionDenied,
        Code::RateLimited,
        Code::LimitExceeded,
        Code::Unavailable,
        Code::Internal,
        Code::DeadlineExceeded,
    ];

    /// The code clients see as `name` in `extensions.code`.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|code| code.as_str() == name)
    }

    /// The name clients see in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::Conflict => "CONFLICT",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::RateLimited => "RATE_LIMITED",
            Code::LimitExceeded => "LIMIT_EXCEEDED",
            Code::Unavailable => "UNAVAILABLE",
            Code::Internal => "INTERNAL",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        }
    }

    /// Whether the same request may succeed later as it is (nothing reached a service, the
    /// outcome is unknown, or too many at once): what a batch job retries instead of recording.
    pub fn is_transient(self) -> bool {
        matches!(self, Code::Unavailable | Code::DeadlineExceeded | Code::Internal | Code::RateLimited)
    }
}

impl From<Code> for pb::Code {
    fn from(code: Code) -> Self {
        match code {
            Code::InvalidArgument => pb::Code::InvalidArgument,
            Code::NotFound => pb::Code::NotFound,
            Code::AlreadyExists => pb::Code::AlreadyExists,
            Code::Conflict => pb::Code::Conflict,
            Code::Unauthenticated => pb::Code::Unauthenticated,
            Code::PermissionDenied => pb::Code::PermissionDenied,
            Code::RateLimited => pb::Code::RateLimited,
            Code::LimitExceeded => pb::Code::LimitExceeded,
            Code::Unavailable => pb::Code::Unavailable,
            Code::Internal => pb::Code::Internal,
            Code::DeadlineExceeded => pb::Code::DeadlineExceeded,
        }
    }
}

impl From<pb::Code> for Code {
    fn from(code: pb::Code) -> Self {
        match code {
            pb::Code::InvalidArgument => Code::InvalidArgument,
            pb::Code::NotFound => Code::NotFound,
            pb::Code::AlreadyExists => Code::AlreadyExists,
            pb::Code::Conflict => Code::Conflict,
            pb::Code::Unauthenticated => Code::Unauthenticated,
            pb::Code::PermissionDenied => Code::PermissionDenied,
            pb::Code::RateLimited => Code::RateLimited,
            pb::Code::LimitExceeded => Code::LimitExceeded,
            pb::Code::Unavailable => Code::Unavailable,
            pb::Code::Internal | pb::Code::Unspecified => Code::Internal,
            pb::Code::DeadlineExceeded => Code::DeadlineExceeded,
        }
    }
}

/// A refused command: its code, a message safe to show a client, and the argument at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: Code,
    pub message: String,
    pub field: Option<&'static str>,
    /// For `RATE_LIMITED`: when to ask again, in seconds.
    pub retry_after_secs: Option<u32>,
}

impl Rejection {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None, retry_after_secs: None }
    }

    /// Too many tries: ask again after `retry_after` (rounded up to whole seconds).
    pub fn rate_limited(message: impl Into<String>, retry_after: std::time::Duration) -> Self {
        let secs = retry_after.as_secs().saturating_add(u64::from(retry_after.subsec_nanos() > 0)).max(1);
        Self {
            retry_after_secs: Some(u32::try_from(secs).unwrap_or(u32::MAX)),
            ..Self::new(Code::RateLimited, message)
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self { code: Code::InvalidArgument, message: message.into(), field: Some(field), retry_after_secs: None }
    }

    pub fn not_found(field: &'static str, message: impl Into<String>) -> Self {
        Self { code: Code::NotFound, message: message.into(), field: Some(field), retry_after_secs: None }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl From<Rejection> for pb::Rejected {
    fn from(rejection: Rejection) -> Self {
        pb::Rejected {
            code: pb::Code::from(rejection.code).into(),
            message: rejection.message,
            field: rejection.field.unwrap_or_default().to_owned(),
            retry_after_secs: rejection.retry_after_secs.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_read_back_by_its_name() {
        for code in Code::ALL {
            assert_eq!(Code::from_name(code.as_str()), Some(code));
        }
        assert_eq!(Code::from_name("not_found"), None);
    }
}
