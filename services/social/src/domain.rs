//! The social decider: a reader's registration. Pure: no I/O, tested given/when/then.

use readstream_contracts::{Code, Event, Rejection};
use readstream_eventstore::Stored;
use uuid::Uuid;

pub const MIN_HANDLE: usize = 3;
pub const MAX_HANDLE: usize = 30;
pub const MAX_DISPLAY_NAME: usize = 100;
pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 1_024;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reader {
    pub registered: bool,
}

impl Reader {
    pub fn evolve(mut self, event: &Event) -> Self {
        if matches!(event, Event::ReaderRegistered { .. }) {
            self.registered = true;
        }
        self
    }

    pub fn fold(history: &[Stored]) -> Self {
        history.iter().flat_map(|s| &s.envelope.events).fold(Self::default(), |state, e| state.evolve(&e.event))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUp {
    pub reader_id: Uuid,
    pub handle: String,
    pub display_name: String,
    pub password: String,
}

/// Handles are what other readers type to find someone: ASCII letters, digits and `_`.
pub fn validate_handle(handle: &str) -> Result<(), Rejection> {
    let length = handle.chars().count();
    if !(MIN_HANDLE..=MAX_HANDLE).contains(&length) {
        return Err(Rejection::invalid("handle", format!("a handle has {MIN_HANDLE} to {MAX_HANDLE} characters")));
    }
    if !handle.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Rejection::invalid("handle", "a handle has only letters, digits and _"));
    }
    Ok(())
}

/// Checks everything about a sign-up that needs no I/O, before the password is hashed.
pub fn validate_sign_up(command: &SignUp) -> Result<(), Rejection> {
    validate_handle(&command.handle)?;
    let name = command.display_name.trim().chars().count();
    if name == 0 || name > MAX_DISPLAY_NAME {
        return Err(Rejection::invalid(
            "displayName",
            format!("a display name has 1 to {MAX_DISPLAY_NAME} characters"),
        ));
    }
    let password = command.password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&password) {
        return Err(Rejection::invalid(
            "password",
            format!("a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

/// The event carries the public profile only; the password never enters the log.
pub fn sign_up(state: &Reader, command: &SignUp) -> Result<Vec<Event>, Rejection> {
    validate_sign_up(command)?;
    if state.registered {
        return Err(Rejection::new(Code::AlreadyExists, "this reader is already registered"));
    }
    Ok(vec![Event::ReaderRegistered {
        reader_id: command.reader_id,
        handle: command.handle.clone(),
        display_name: command.display_name.trim().to_owned(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Makes one field of a valid command invalid.
    type Spoil = fn(&mut SignUp);

    fn ana() -> SignUp {
        SignUp {
            reader_id: Uuid::now_v7(),
            handle: "ana_reads".into(),
            display_name: " Ana ".into(),
            password: "correct horse battery".into(),
        }
    }

    #[test]
    fn when_signing_up_then_registered_with_the_public_profile_only() {
        let command = ana();
        let events = sign_up(&Reader::default(), &command);
        assert_eq!(
            events,
            Ok(vec![Event::ReaderRegistered {
                reader_id: command.reader_id,
                handle: "ana_reads".into(),
                display_name: "Ana".into()
            }])
        );
        assert!(!format!("{events:?}").contains("horse"));
    }

    #[test]
    fn when_signing_up_with_bad_fields_then_invalid_argument_naming_the_field() {
        let cases: [(Spoil, &str); 5] = [
            (|c| c.handle = "ab".into(), "handle"),
            (|c| c.handle = "has space".into(), "handle"),
            (|c| c.handle = "x".repeat(31), "handle"),
            (|c| c.display_name = "  ".into(), "displayName"),
            (|c| c.password = "short".into(), "password"),
        ];
        for (spoil, field) in cases {
            let mut command = ana();
            spoil(&mut command);
            let refusal = sign_up(&Reader::default(), &command).err();
            assert_eq!(refusal.map(|r| (r.code, r.field)), Some((Code::InvalidArgument, Some(field))));
        }
    }

    #[test]
    fn given_a_registered_reader_when_signing_up_again_then_already_exists() {
        let command = ana();
        let events = sign_up(&Reader::default(), &command).unwrap_or_default();
        let state = events.iter().fold(Reader::default(), Reader::evolve);
        assert_eq!(sign_up(&state, &command).err().map(|r| r.code), Some(Code::AlreadyExists));
    }
}
