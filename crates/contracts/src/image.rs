//! Images readers and librarians upload (avatars, covers, author photos): events name them by
//! their content, never carry their bytes.

use crate::{Rejection, WireError};

/// An image the gateway stored: the SHA-256 of its larger rendition, as 64 lowercase hex
/// digits. Two uploads of the same picture are one image, shared by whoever uses it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct ImageId(String);

impl ImageId {
    /// The id these digits are, if they are one.
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        digits.then(|| Self(text.to_owned()))
    }

    /// The id of these bytes.
    pub fn of(bytes: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        Self(digest.as_ref().iter().map(|byte| format!("{byte:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A command's image: empty for none (removing it), else an id.
    pub fn from_input(field: &'static str, text: &str) -> Result<Option<Self>, Rejection> {
        if text.is_empty() {
            return Ok(None);
        }
        Self::parse(text)
            .map(Some)
            .ok_or_else(|| Rejection::invalid(field, "not an image id (64 lowercase hex digits)"))
    }

    /// An event's image, as the wire spells it: empty for none.
    pub fn from_wire(field: &'static str, text: &str) -> Result<Option<Self>, WireError> {
        if text.is_empty() {
            return Ok(None);
        }
        Self::parse(text).map(Some).ok_or_else(|| WireError::Invalid {
            field,
            expected: "image id",
            value: text.to_owned(),
        })
    }

    /// How the wire spells `image`: empty for none.
    pub fn to_wire(image: Option<&Self>) -> String {
        image.map(|image| image.0.clone()).unwrap_or_default()
    }
}

impl std::fmt::Display for ImageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_64_lowercase_hex_digits() {
        let id = ImageId::of(b"a picture");
        assert_eq!(id.as_str().len(), 64);
        assert_eq!(ImageId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(ImageId::parse(&id.as_str().to_uppercase()), None);
        assert_eq!(ImageId::parse(&id.as_str()[1..]), None);
        assert_eq!(ImageId::parse(&format!("{}\0", &id.as_str()[1..])), None);
        assert_eq!(ImageId::from_input("avatar", ""), Ok(None));
        assert!(ImageId::from_input("avatar", "../../etc/passwd").is_err());
    }
}
