//! The social decider: a reader's registration. Pure: no I/O, tested given/when/then.

use readstream_contracts::{Code, Event, Rejection};
use readstream_eventstore::Stored;
use uuid::Uuid;

pub const MIN_HANDLE: usize = 3;
pub const MAX_HANDLE: usize = 30;
pub const MAX_DISPLAY_NAME: usize = 100;
pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 1_024;

pub const MAX_BIO: usize = 2_000;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reader {
    pub registered: bool,
    pub display_name: String,
    pub bio: String,
}

impl Reader {
    pub fn evolve(mut self, event: &Event) -> Self {
        match event {
            Event::ReaderRegistered { display_name, .. } => {
                self.registered = true;
                self.display_name = display_name.clone();
            }
            Event::ProfileUpdated { display_name, bio, .. } => {
                self.display_name = display_name.clone();
                self.bio = bio.clone();
            }
            _ => {}
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

/// Changes the public profile; what is left out stays, and no change appends nothing.
pub fn update_profile(
    state: &Reader,
    reader_id: Uuid,
    display_name: Option<String>,
    bio: Option<String>,
) -> Result<Vec<Event>, Rejection> {
    if !state.registered {
        return Err(Rejection::not_found("readerId", "no such reader"));
    }
    let display_name = display_name.map(|n| n.trim().to_owned()).unwrap_or_else(|| state.display_name.clone());
    let name = display_name.chars().count();
    if name == 0 || name > MAX_DISPLAY_NAME {
        return Err(Rejection::invalid(
            "displayName",
            format!("a display name has 1 to {MAX_DISPLAY_NAME} characters"),
        ));
    }
    let bio = bio.map(|b| b.trim().to_owned()).unwrap_or_else(|| state.bio.clone());
    if bio.chars().count() > MAX_BIO {
        return Err(Rejection::invalid("bio", format!("a bio has at most {MAX_BIO} characters")));
    }
    if display_name == state.display_name && bio == state.bio {
        return Ok(vec![]);
    }
    Ok(vec![Event::ProfileUpdated { reader_id, display_name, bio }])
}

/// Who follows and who blocks whom, between two readers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Link {
    follows: std::collections::BTreeSet<(Uuid, Uuid)>,
    blocks: std::collections::BTreeSet<(Uuid, Uuid)>,
}

impl Link {
    pub fn evolve(mut self, event: &Event) -> Self {
        match *event {
            Event::ReaderFollowed { follower_id, followee_id } => {
                self.follows.insert((follower_id, followee_id));
            }
            Event::ReaderUnfollowed { follower_id, followee_id } => {
                self.follows.remove(&(follower_id, followee_id));
            }
            Event::ReaderBlocked { blocker_id, blocked_id } => {
                self.blocks.insert((blocker_id, blocked_id));
            }
            Event::ReaderUnblocked { blocker_id, blocked_id } => {
                self.blocks.remove(&(blocker_id, blocked_id));
            }
            _ => {}
        }
        self
    }

    pub fn fold(history: &[Stored]) -> Self {
        history.iter().flat_map(|s| &s.envelope.events).fold(Self::default(), |state, e| state.evolve(&e.event))
    }

    pub fn follows(&self, follower: Uuid, followee: Uuid) -> bool {
        self.follows.contains(&(follower, followee))
    }

    pub fn blocks(&self, blocker: Uuid, blocked: Uuid) -> bool {
        self.blocks.contains(&(blocker, blocked))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkCommand {
    Follow,
    Unfollow,
    Block,
    Unblock,
}

/// `actor` acts on `other`, who must exist (`other_exists`, looked up before deciding).
pub fn decide_link(
    state: &Link,
    command: LinkCommand,
    actor: Uuid,
    other: Uuid,
    other_exists: bool,
) -> Result<Vec<Event>, Rejection> {
    if actor == other {
        return Err(Rejection::invalid("readerId", "that is you"));
    }
    if !other_exists {
        return Err(Rejection::not_found("readerId", "no such reader"));
    }
    match command {
        LinkCommand::Follow => {
            if state.blocks(other, actor) {
                return Err(Rejection::new(Code::PermissionDenied, "this reader has blocked you"));
            }
            if state.blocks(actor, other) {
                return Err(Rejection::invalid("readerId", "you have blocked this reader; unblock them first"));
            }
            if state.follows(actor, other) {
                return Err(Rejection::new(Code::AlreadyExists, "you follow this reader already"));
            }
            Ok(vec![Event::ReaderFollowed { follower_id: actor, followee_id: other }])
        }
        LinkCommand::Unfollow => {
            if !state.follows(actor, other) {
                return Err(Rejection::not_found("readerId", "you do not follow this reader"));
            }
            Ok(vec![Event::ReaderUnfollowed { follower_id: actor, followee_id: other }])
        }
        LinkCommand::Block => {
            if state.blocks(actor, other) {
                return Ok(vec![]);
            }
            // A block ends the follows both ways, in the same message.
            let mut events = Vec::new();
            for (follower_id, followee_id) in [(actor, other), (other, actor)] {
                if state.follows(follower_id, followee_id) {
                    events.push(Event::ReaderUnfollowed { follower_id, followee_id });
                }
            }
            events.push(Event::ReaderBlocked { blocker_id: actor, blocked_id: other });
            Ok(events)
        }
        LinkCommand::Unblock => {
            if !state.blocks(actor, other) {
                return Err(Rejection::not_found("readerId", "you have not blocked this reader"));
            }
            Ok(vec![Event::ReaderUnblocked { blocker_id: actor, blocked_id: other }])
        }
    }
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

    fn link(commands: &[(LinkCommand, Uuid, Uuid)]) -> Link {
        commands.iter().fold(Link::default(), |state, (command, actor, other)| {
            let events = decide_link(&state, *command, *actor, *other, true).unwrap();
            events.iter().fold(state, Link::evolve)
        })
    }

    #[test]
    fn following_yourself_twice_or_someone_who_blocked_you_is_refused() {
        let (ana, ben) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let code = |r: Result<Vec<Event>, Rejection>| r.err().map(|r| r.code);
        assert_eq!(
            code(decide_link(&Link::default(), LinkCommand::Follow, ana, ana, true)),
            Some(Code::InvalidArgument)
        );
        assert_eq!(code(decide_link(&Link::default(), LinkCommand::Follow, ana, ben, false)), Some(Code::NotFound));
        let following = link(&[(LinkCommand::Follow, ana, ben)]);
        assert_eq!(code(decide_link(&following, LinkCommand::Follow, ana, ben, true)), Some(Code::AlreadyExists));
        let blocked = link(&[(LinkCommand::Block, ben, ana)]);
        assert_eq!(code(decide_link(&blocked, LinkCommand::Follow, ana, ben, true)), Some(Code::PermissionDenied));
        assert_eq!(code(decide_link(&Link::default(), LinkCommand::Unfollow, ana, ben, true)), Some(Code::NotFound));
    }

    #[test]
    fn a_block_ends_the_follows_both_ways_at_once() {
        let (ana, ben) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mutual = link(&[(LinkCommand::Follow, ana, ben), (LinkCommand::Follow, ben, ana)]);
        let events = decide_link(&mutual, LinkCommand::Block, ana, ben, true).unwrap();
        assert_eq!(
            events,
            vec![
                Event::ReaderUnfollowed { follower_id: ana, followee_id: ben },
                Event::ReaderUnfollowed { follower_id: ben, followee_id: ana },
                Event::ReaderBlocked { blocker_id: ana, blocked_id: ben },
            ]
        );
        let state = events.iter().fold(mutual, Link::evolve);
        assert_eq!(decide_link(&state, LinkCommand::Block, ana, ben, true), Ok(vec![]));
        assert!(decide_link(&state, LinkCommand::Unblock, ana, ben, true).is_ok());
        assert_eq!(readstream_contracts::social::link(ana, ben), readstream_contracts::social::link(ben, ana));
    }

    #[test]
    fn a_profile_update_keeps_what_is_left_out_and_a_no_op_appends_nothing() {
        let reader_id = Uuid::from_u128(1);
        let state = Reader { registered: true, display_name: "Ana".into(), bio: String::new() };
        let events = update_profile(&state, reader_id, None, Some("Reads history.".into())).unwrap();
        assert_eq!(
            events,
            vec![Event::ProfileUpdated { reader_id, display_name: "Ana".into(), bio: "Reads history.".into() }]
        );
        assert_eq!(update_profile(&state, reader_id, Some(" Ana ".into()), None), Ok(vec![]));
        assert!(update_profile(&state, reader_id, Some("".into()), None).is_err());
    }
}
