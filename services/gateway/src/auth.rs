//! Bearer access tokens: short JWTs (HS256) issued on sign-up, sign-in and refresh, naming the
//! reader a request acts for and the session they belong to. A token of an ended session is
//! refused before it expires ([`EndedSessions`]), and every token while this gateway cannot
//! tell which sessions ended.

use std::time::Duration;

use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use readstream_runtime::sessions::EndedSessions;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

const ISSUER: &str = "readstream";

/// The signed-in reader of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub reader_id: Uuid,
    /// The session the token belongs to: signing out ends it.
    pub session_id: Uuid,
    /// When the token ends, in seconds since the Unix epoch: a WebSocket opened with it closes then.
    pub expires_at: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    /// The session.
    sid: String,
    iss: String,
    iat: u64,
    exp: u64,
}

pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
    ended: EndedSessions,
}

impl Tokens {
    pub fn new(secret: &str, lifetime: Duration) -> Self {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        // The gateways that verify a token are the ones that issued it: no clock leeway, so a
        // token ends when it says (and when its WebSocket is closed).
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            lifetime,
            ended: EndedSessions::new(lifetime),
        }
    }

    /// The sessions whose tokens are refused.
    pub fn ended_sessions(&self) -> &EndedSessions {
        &self.ended
    }

    /// A token for `reader_id` in `session_id`, and when it ends (seconds since the Unix epoch).
    pub fn issue(&self, reader_id: Uuid, session_id: Uuid) -> Result<(String, u64), ApiError> {
        let expires_at = jsonwebtoken::get_current_timestamp() + self.lifetime.as_secs();
        Ok((self.issue_expiring(reader_id, session_id, expires_at)?, expires_at))
    }

    /// A token that ends at `expires_at` (seconds since the Unix epoch), which may be past.
    pub fn issue_expiring(&self, reader_id: Uuid, session_id: Uuid, expires_at: u64) -> Result<String, ApiError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: reader_id.to_string(),
            sid: session_id.to_string(),
            iss: ISSUER.to_owned(),
            iat: now,
            exp: expires_at,
        };
        jsonwebtoken::encode(&Header::default(), &claims, &self.encoding).map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Viewer, ApiError> {
        let invalid = || ApiError::new(readstream_contracts::Code::Unauthenticated, "the token is invalid or expired");
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|_| invalid())?;
        let reader_id = Uuid::parse_str(&data.claims.sub).map_err(|_| invalid())?;
        let session_id = Uuid::parse_str(&data.claims.sid).map_err(|_| invalid())?;
        self.ended.known()?;
        if self.ended.contains(session_id) {
            return Err(ApiError::new(
                readstream_contracts::Code::Unauthenticated,
                "the session of this token has ended; sign in again",
            ));
        }
        Ok(Viewer { reader_id, session_id, expires_at: data.claims.exp })
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
        let tokens = known_tokens();
        let (reader_id, session_id) = (Uuid::now_v7(), Uuid::now_v7());
        let (token, expires_at) = tokens.issue(reader_id, session_id).unwrap();
        let viewer = tokens.verify(&token).unwrap();
        assert_eq!((viewer.reader_id, viewer.session_id, viewer.expires_at), (reader_id, session_id, expires_at));
        assert!(viewer.expires_at.abs_diff(jsonwebtoken::get_current_timestamp() + 60) <= 1);
        let (forged, _) = Tokens::new("another secret", Duration::from_secs(60)).issue(reader_id, session_id).unwrap();
        assert!(tokens.verify(&forged).is_err());
        assert!(tokens.from_authorization(Some("Basic abc")).is_err());
        assert_eq!(tokens.from_authorization(None).unwrap(), None);
    }

    /// Tokens of a gateway that has read the ended sessions.
    fn known_tokens() -> Tokens {
        let tokens = Tokens::new("secret", Duration::from_secs(60));
        tokens.ended_sessions().watch_up();
        tokens
    }

    #[test]
    fn every_token_is_unavailable_until_the_ended_sessions_are_read() {
        let tokens = Tokens::new("secret", Duration::from_secs(60));
        let (token, _) = tokens.issue(Uuid::now_v7(), Uuid::now_v7()).unwrap();
        let refused = tokens.verify(&token).unwrap_err();
        assert_eq!(refused.code, readstream_contracts::Code::Unavailable);
        tokens.ended_sessions().watch_up();
        assert!(tokens.verify(&token).is_ok());
    }

    fn claims(reader_id: Uuid, exp: u64) -> Claims {
        let sid = Uuid::now_v7().to_string();
        Claims { sub: reader_id.to_string(), sid, iss: ISSUER.to_owned(), iat: exp.saturating_sub(60), exp }
    }

    #[test]
    fn a_token_of_an_ended_session_is_refused_and_one_without_a_session_too() {
        let tokens = known_tokens();
        let session_id = Uuid::now_v7();
        let (token, _) = tokens.issue(Uuid::now_v7(), session_id).unwrap();
        tokens.ended_sessions().end(session_id, jsonwebtoken::get_current_timestamp());
        assert!(tokens.verify(&token).is_err());
        #[derive(Serialize)]
        struct WithoutSession {
            sub: String,
            iss: String,
            exp: u64,
        }
        let exp = jsonwebtoken::get_current_timestamp() + 60;
        let claims = WithoutSession { sub: Uuid::now_v7().to_string(), iss: ISSUER.to_owned(), exp };
        let sessionless = jsonwebtoken::encode(&Header::default(), &claims, &tokens.encoding).unwrap();
        assert!(tokens.verify(&sessionless).is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let tokens = known_tokens();
        let past = jsonwebtoken::get_current_timestamp() - 3_600;
        let expired =
            jsonwebtoken::encode(&Header::default(), &claims(Uuid::now_v7(), past), &tokens.encoding).unwrap();
        assert!(tokens.verify(&expired).is_err());
    }

    #[test]
    fn an_unsigned_token_or_one_signed_another_way_is_refused() {
        use base64::Engine as _;
        let tokens = known_tokens();
        let future = jsonwebtoken::get_current_timestamp() + 3_600;
        let encode = |json: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
        };
        let payload = encode(&serde_json::to_value(claims(Uuid::now_v7(), future)).unwrap());
        for alg in ["none", "None", "NONE"] {
            let header = encode(&serde_json::json!({ "alg": alg, "typ": "JWT" }));
            assert!(tokens.verify(&format!("{header}.{payload}.")).is_err(), "alg {alg}");
        }
        let hs512 = Header::new(jsonwebtoken::Algorithm::HS512);
        let other = jsonwebtoken::encode(&hs512, &claims(Uuid::now_v7(), future), &tokens.encoding).unwrap();
        assert!(tokens.verify(&other).is_err(), "only HS256 is accepted");
    }
}
