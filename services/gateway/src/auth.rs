//! Bearer JWTs (HS256): issued on sign-up and sign-in, naming the reader a request acts for.

use std::time::Duration;

use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

const ISSUER: &str = "readstream";

/// The signed-in reader of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub reader_id: Uuid,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    iat: u64,
    exp: u64,
}

pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
}

impl Tokens {
    pub fn new(secret: &str, lifetime: Duration) -> Self {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            lifetime,
        }
    }

    pub fn issue(&self, reader_id: Uuid) -> Result<String, ApiError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims =
            Claims { sub: reader_id.to_string(), iss: ISSUER.to_owned(), iat: now, exp: now + self.lifetime.as_secs() };
        jsonwebtoken::encode(&Header::default(), &claims, &self.encoding).map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Viewer, ApiError> {
        let invalid = || ApiError::new(readstream_contracts::Code::Unauthenticated, "the token is invalid or expired");
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|_| invalid())?;
        let reader_id = Uuid::parse_str(&data.claims.sub).map_err(|_| invalid())?;
        Ok(Viewer { reader_id })
    }

    /// The viewer named by an `Authorization: Bearer <token>` value; `None` without one.
    pub fn from_authorization(&self, value: Option<&str>) -> Result<Option<Viewer>, ApiError> {
        let Some(value) = value else { return Ok(None) };
        let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).ok_or_else(|| {
            ApiError::new(readstream_contracts::Code::Unauthenticated, "use `Authorization: Bearer <token>`")
        })?;
        self.verify(token.trim()).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_reader_and_a_forged_one_is_refused() {
        let tokens = Tokens::new("secret", Duration::from_secs(60));
        let reader_id = Uuid::now_v7();
        let token = tokens.issue(reader_id).unwrap();
        assert_eq!(tokens.verify(&token).unwrap(), Viewer { reader_id });
        let forged = Tokens::new("another secret", Duration::from_secs(60)).issue(reader_id).unwrap();
        assert!(tokens.verify(&forged).is_err());
        assert!(tokens.from_authorization(Some("Basic abc")).is_err());
        assert_eq!(tokens.from_authorization(None).unwrap(), None);
    }
}
