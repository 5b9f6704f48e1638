//! The one error type of the SCIM surface: RFC 7644 §3.12 status and `scimType` pairs.
//!
//! Every fallible domain or store function returns [`ScimError`]; the HTTP layer renders it
//! as a SCIM error body (`urn:ietf:params:scim:api:messages:2.0:Error`). Bad input is always a
//! 4xx with the right `scimType`; 500 is kept for real faults, whose detail is logged and not
//! shown to the client.

use std::fmt;

/// RFC 7644 §3.12 `scimType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

/// A SCIM error: HTTP status, optional `scimType`, human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
    /// Seconds a client should wait before retrying (429, 503).
    pub retry_after: Option<u64>,
}

pub type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
        }
    }

    fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::TooMany, detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }
    pub fn invalid_version(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidVers, detail)
    }
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            401,
            None,
            "Authentication failed: a valid bearer token is required",
        )
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, None, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }
    pub fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(405, None, detail)
    }
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(415, None, detail)
    }
    pub fn too_many_requests(detail: impl Into<String>, retry_after: u64) -> Self {
        let mut e = Self::new(429, None, detail);
        e.retry_after = Some(retry_after);
        e
    }
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(501, None, detail)
    }
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(503, None, detail)
    }
    /// A real fault. The detail is for the log; clients see a generic message.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(500, None, detail)
    }

    /// The detail a client may see (500 details stay in the log).
    pub fn public_detail(&self) -> &str {
        if self.status >= 500 && self.status != 501 && self.status != 503 {
            "Internal server error"
        } else {
            &self.detail
        }
    }

    /// The RFC 7644 §3.12 error body.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": self.status.to_string(),
            "detail": self.public_detail(),
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = serde_json::Value::String(t.as_str().to_string());
        }
        body
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scim_type {
            Some(t) => write!(f, "{} {}: {}", self.status, t.as_str(), self.detail),
            None => write!(f, "{}: {}", self.status, self.detail),
        }
    }
}

impl std::error::Error for ScimError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_scim_type_table() {
        let cases = [
            (ScimError::invalid_filter("x"), 400, Some("invalidFilter")),
            (ScimError::too_many("x"), 400, Some("tooMany")),
            (ScimError::invalid_path("x"), 400, Some("invalidPath")),
            (ScimError::no_target("x"), 400, Some("noTarget")),
            (ScimError::invalid_value("x"), 400, Some("invalidValue")),
            (ScimError::invalid_syntax("x"), 400, Some("invalidSyntax")),
            (ScimError::mutability("x"), 400, Some("mutability")),
            (ScimError::invalid_version("x"), 400, Some("invalidVers")),
            (ScimError::uniqueness("x"), 409, Some("uniqueness")),
            (ScimError::unauthorized(), 401, None),
            (ScimError::forbidden("x"), 403, None),
            (ScimError::not_found("x"), 404, None),
            (ScimError::precondition_failed("x"), 412, None),
            (ScimError::payload_too_large("x"), 413, None),
            (ScimError::too_many_requests("x", 1), 429, None),
            (ScimError::not_implemented("x"), 501, None),
        ];
        for (err, status, scim_type) in cases {
            let body = err.to_json();
            assert_eq!(body["status"], status.to_string(), "{err}");
            assert_eq!(body["scimType"].as_str(), scim_type, "{err}");
            assert_eq!(
                body["schemas"][0],
                "urn:ietf:params:scim:api:messages:2.0:Error"
            );
        }
    }

    #[test]
    fn internal_detail_is_not_shown() {
        let err = ScimError::internal("connection refused to 10.0.0.1");
        assert_eq!(err.to_json()["detail"], "Internal server error");
    }
}
