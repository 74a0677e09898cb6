//! The social deciders: a reader's registration and profile, their roles, and the follows and
//! blocks between two readers. Pure: no I/O, tested given/when/then.

use readstream_contracts::{
    input::{self, Text},
    social::{Role, Roles, TimeZone, Visibility},
    Code, Decider, ImageId, Rejection, SocialEvent,
};
use uuid::Uuid;

pub const MAX_DISPLAY_NAME: usize = 100;
pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 1_024;

pub const MAX_BIO: usize = 2_000;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reader {
    pub registered: bool,
    /// The sign-up claimed its handle but was never recorded, and was given up on.
    pub sign_up_expired: bool,
    /// The reader deleted their account: nothing more is decided for them.
    pub deleted: bool,
    pub display_name: String,
    pub bio: String,
    pub avatar: Option<ImageId>,
    pub reading_visibility: Visibility,
    /// UTC until they say.
    pub time_zone: Option<TimeZone>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUp {
    pub reader_id: Uuid,
    pub handle: String,
    pub display_name: String,
    pub password: String,
}

/// A display name as stored: one line, normalized, nothing that disguises it.
pub fn display_name(name: &str) -> Result<String, Rejection> {
    input::text("displayName", name, Text::Name, 1, MAX_DISPLAY_NAME)
}

/// Checks everything about a sign-up that needs no I/O, before the password is hashed.
pub fn validate_sign_up(command: &SignUp) -> Result<(), Rejection> {
    input::handle(&command.handle)?;
    display_name(&command.display_name)?;
    validate_password("password", &command.password)
}

/// A new password has `MIN_PASSWORD` to `MAX_PASSWORD` characters, `field` names the argument.
pub fn validate_password(field: &'static str, password: &str) -> Result<(), Rejection> {
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&password.chars().count()) {
        return Err(Rejection::invalid(field, format!("a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderCommand {
    SignUp(SignUp),
    /// Changes the public profile; what is left out stays, and `avatar: Some(None)` removes
    /// the picture.
    UpdateProfile {
        reader_id: Uuid,
        display_name: Option<String>,
        bio: Option<String>,
        avatar: Option<Option<ImageId>>,
    },
    /// Who sees the reader's shelves, progress and reading history.
    SetReadingVisibility {
        reader_id: Uuid,
        visibility: Visibility,
    },
    /// The time zone the reader's days are in (one the service found Postgres to know).
    SetTimeZone {
        reader_id: Uuid,
        time_zone: TimeZone,
    },
    /// Deletes the account (its password checked by the service). Deleting it again changes
    /// nothing, so a retry can finish what a lost reply left undone.
    DeleteAccount {
        reader_id: Uuid,
    },
    /// Gives up on a sign-up that claimed its handle long ago but was never recorded. A reader
    /// recorded meanwhile stays (nothing is appended); otherwise `SignUpExpired` closes the
    /// subject to the late registration, whichever of the two is appended first.
    ExpireSignUp {
        reader_id: Uuid,
    },
}

impl Reader {
    /// A reader commands can change: registered, and not deleted.
    pub fn active(&self) -> Result<(), Rejection> {
        match (self.registered, self.deleted) {
            (true, false) => Ok(()),
            (false, _) => Err(Rejection::not_found("readerId", "no such reader")),
            (true, true) => Err(Rejection::not_found("readerId", "this account was deleted")),
        }
    }
}

impl Decider for Reader {
    type Command = ReaderCommand;
    type Facts = ();
    type Event = SocialEvent;
    type Error = Rejection;

    fn decide(&self, command: &ReaderCommand, _: &()) -> Result<Vec<SocialEvent>, Rejection> {
        match command {
            // The event carries the public profile only; the password never enters the log.
            ReaderCommand::SignUp(sign_up) => {
                validate_sign_up(sign_up)?;
                if self.registered {
                    return Err(Rejection::new(Code::AlreadyExists, "this reader is already registered"));
                }
                if self.sign_up_expired {
                    return Err(Rejection::new(
                        Code::Conflict,
                        "this sign-up expired before it was recorded; sign up again with a new idempotency key",
                    ));
                }
                Ok(vec![SocialEvent::ReaderRegistered {
                    reader_id: sign_up.reader_id,
                    handle: sign_up.handle.clone(),
                    display_name: display_name(&sign_up.display_name)?,
                }])
            }
            ReaderCommand::UpdateProfile { reader_id, display_name, bio, avatar } => {
                self.active()?;
                let display_name = match display_name {
                    Some(name) => self::display_name(name)?,
                    None => self.display_name.clone(),
                };
                let bio = match bio {
                    Some(bio) => input::text("bio", bio, Text::Long, 0, MAX_BIO)?,
                    None => self.bio.clone(),
                };
                let mut events = Vec::new();
                if display_name != self.display_name || bio != self.bio {
                    events.push(SocialEvent::ProfileUpdated { reader_id: *reader_id, display_name, bio });
                }
                if let Some(avatar) = avatar.as_ref().filter(|avatar| **avatar != self.avatar) {
                    events.push(SocialEvent::AvatarChanged { reader_id: *reader_id, avatar: avatar.clone() });
                }
                Ok(events)
            }
            ReaderCommand::SetReadingVisibility { reader_id, visibility } => {
                self.active()?;
                if *visibility == self.reading_visibility {
                    return Ok(vec![]);
                }
                Ok(vec![SocialEvent::ReadingVisibilityChanged { reader_id: *reader_id, visibility: *visibility }])
            }
            ReaderCommand::SetTimeZone { reader_id, time_zone } => {
                self.active()?;
                if self.time_zone.as_ref().unwrap_or(&TimeZone::utc()) == time_zone {
                    return Ok(vec![]);
                }
                Ok(vec![SocialEvent::TimeZoneChanged { reader_id: *reader_id, time_zone: time_zone.clone() }])
            }
            ReaderCommand::DeleteAccount { reader_id } => match self.active() {
                Ok(()) => Ok(vec![SocialEvent::ReaderDeleted { reader_id: *reader_id }]),
                Err(_) if self.deleted => Ok(vec![]),
                Err(rejection) => Err(rejection),
            },
            ReaderCommand::ExpireSignUp { reader_id } => {
                if self.registered || self.sign_up_expired {
                    return Ok(vec![]);
                }
                Ok(vec![SocialEvent::SignUpExpired { reader_id: *reader_id }])
            }
        }
    }

    fn evolve(mut self, event: &SocialEvent) -> Self {
        match event {
            SocialEvent::ReaderRegistered { display_name, .. } => {
                self.registered = true;
                self.display_name = display_name.clone();
            }
            SocialEvent::ProfileUpdated { display_name, bio, .. } => {
                self.display_name = display_name.clone();
                self.bio = bio.clone();
            }
            SocialEvent::AvatarChanged { avatar, .. } => self.avatar = avatar.clone(),
            SocialEvent::ReadingVisibilityChanged { visibility, .. } => self.reading_visibility = *visibility,
            SocialEvent::TimeZoneChanged { time_zone, .. } => self.time_zone = Some(time_zone.clone()),
            // What they wrote is unreadable now: forget it here too.
            SocialEvent::ReaderDeleted { .. } => {
                self.deleted = true;
                self.display_name.clear();
                self.bio.clear();
                self.avatar = None;
            }
            SocialEvent::SignUpExpired { .. } => self.sign_up_expired = true,
            // Follows and blocks live on the pair's link, authors' follows on their own
            // subjects; roles are `ReaderRoles`'.
            SocialEvent::AuthorFollowed { .. }
            | SocialEvent::AuthorUnfollowed { .. }
            | SocialEvent::LibraryImported { .. }
            | SocialEvent::LibraryImportFailed { .. }
            | SocialEvent::ReaderFollowed { .. }
            | SocialEvent::ReaderUnfollowed { .. }
            | SocialEvent::ReaderBlocked { .. }
            | SocialEvent::ReaderUnblocked { .. }
            | SocialEvent::RoleGranted { .. }
            | SocialEvent::RoleRevoked { .. } => {}
        }
        self
    }
}

/// A reader's roles, on the reader's own subject.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReaderRoles {
    pub registered: bool,
    pub deleted: bool,
    pub roles: Roles,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleCommand {
    Grant { reader_id: Uuid, role: Role },
    Revoke { reader_id: Uuid, role: Role },
}

/// Whether the reader who asks is an admin: by a role in the log, or named by configuration
/// (`READSTREAM_ADMIN`, how the first admin comes to be), looked up before deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActorIsAdmin(pub bool);

impl Decider for ReaderRoles {
    type Command = RoleCommand;
    type Facts = ActorIsAdmin;
    type Event = SocialEvent;
    type Error = Rejection;

    fn decide(&self, command: &RoleCommand, facts: &ActorIsAdmin) -> Result<Vec<SocialEvent>, Rejection> {
        if !facts.0 {
            return Err(Rejection::new(Code::PermissionDenied, "only an admin grants and revokes roles"));
        }
        if !self.registered {
            return Err(Rejection::not_found("readerId", "no such reader"));
        }
        if self.deleted {
            return Err(Rejection::not_found("readerId", "this account was deleted"));
        }
        match *command {
            RoleCommand::Grant { reader_id, role } if !self.roles.holds(role) => {
                Ok(vec![SocialEvent::RoleGranted { reader_id, role }])
            }
            RoleCommand::Revoke { reader_id, role } if self.roles.holds(role) => {
                Ok(vec![SocialEvent::RoleRevoked { reader_id, role }])
            }
            // Granting a role held, or revoking one not held, changes nothing.
            RoleCommand::Grant { .. } | RoleCommand::Revoke { .. } => Ok(vec![]),
        }
    }

    fn evolve(mut self, event: &SocialEvent) -> Self {
        match event {
            SocialEvent::ReaderRegistered { .. } => self.registered = true,
            SocialEvent::ReaderDeleted { .. } => self.deleted = true,
            _ => {}
        }
        self.roles = self.roles.evolve(event);
        self
    }
}

/// Who follows and who blocks whom, between two readers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Link {
    follows: std::collections::BTreeSet<(Uuid, Uuid)>,
    blocks: std::collections::BTreeSet<(Uuid, Uuid)>,
}

impl Link {
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

/// `actor` acts on `other`, who must exist (looked up before deciding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkFacts {
    pub actor: Uuid,
    pub other: Uuid,
    pub other_exists: bool,
}

impl Decider for Link {
    type Command = LinkCommand;
    type Facts = LinkFacts;
    type Event = SocialEvent;
    type Error = Rejection;

    fn decide(&self, command: &LinkCommand, facts: &LinkFacts) -> Result<Vec<SocialEvent>, Rejection> {
        let LinkFacts { actor, other, other_exists } = *facts;
        if actor == other {
            return Err(Rejection::invalid("readerId", "that is you"));
        }
        if !other_exists {
            return Err(Rejection::not_found("readerId", "no such reader"));
        }
        match command {
            LinkCommand::Follow => {
                if self.blocks(other, actor) {
                    return Err(Rejection::new(Code::PermissionDenied, "this reader has blocked you"));
                }
                if self.blocks(actor, other) {
                    return Err(Rejection::invalid("readerId", "you have blocked this reader; unblock them first"));
                }
                if self.follows(actor, other) {
                    return Err(Rejection::new(Code::AlreadyExists, "you follow this reader already"));
                }
                Ok(vec![SocialEvent::ReaderFollowed { follower_id: actor, followee_id: other }])
            }
            LinkCommand::Unfollow => {
                if !self.follows(actor, other) {
                    return Err(Rejection::not_found("readerId", "you do not follow this reader"));
                }
                Ok(vec![SocialEvent::ReaderUnfollowed { follower_id: actor, followee_id: other }])
            }
            LinkCommand::Block => {
                if self.blocks(actor, other) {
                    return Ok(vec![]);
                }
                // A block ends the follows both ways, in the same message.
                let mut events = Vec::new();
                for (follower_id, followee_id) in [(actor, other), (other, actor)] {
                    if self.follows(follower_id, followee_id) {
                        events.push(SocialEvent::ReaderUnfollowed { follower_id, followee_id });
                    }
                }
                events.push(SocialEvent::ReaderBlocked { blocker_id: actor, blocked_id: other });
                Ok(events)
            }
            LinkCommand::Unblock => {
                if !self.blocks(actor, other) {
                    return Err(Rejection::not_found("readerId", "you have not blocked this reader"));
                }
                Ok(vec![SocialEvent::ReaderUnblocked { blocker_id: actor, blocked_id: other }])
            }
        }
    }

    fn evolve(mut self, event: &SocialEvent) -> Self {
        match *event {
            SocialEvent::ReaderFollowed { follower_id, followee_id } => {
                self.follows.insert((follower_id, followee_id));
            }
            SocialEvent::ReaderUnfollowed { follower_id, followee_id } => {
                self.follows.remove(&(follower_id, followee_id));
            }
            SocialEvent::ReaderBlocked { blocker_id, blocked_id } => {
                self.blocks.insert((blocker_id, blocked_id));
            }
            SocialEvent::ReaderUnblocked { blocker_id, blocked_id } => {
                self.blocks.remove(&(blocker_id, blocked_id));
            }
            // A profile's, its roles' and its privacy's events live on the reader's own subject.
            SocialEvent::ReaderRegistered { .. }
            | SocialEvent::ProfileUpdated { .. }
            | SocialEvent::AvatarChanged { .. }
            | SocialEvent::ReadingVisibilityChanged { .. }
            | SocialEvent::TimeZoneChanged { .. }
            | SocialEvent::RoleGranted { .. }
            | SocialEvent::RoleRevoked { .. }
            | SocialEvent::ReaderDeleted { .. }
            | SocialEvent::SignUpExpired { .. }
            | SocialEvent::AuthorFollowed { .. }
            | SocialEvent::AuthorUnfollowed { .. }
            | SocialEvent::LibraryImported { .. }
            | SocialEvent::LibraryImportFailed { .. } => {}
        }
        self
    }
}

/// Whether a reader follows an author, on the pair's own subject.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AuthorFollow {
    pub following: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorFollowCommand {
    Follow,
    Unfollow,
}

/// Who asks, which author, and whether the catalog has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorFollowFacts {
    pub reader_id: Uuid,
    pub author_id: Uuid,
    pub author_exists: bool,
}

impl Decider for AuthorFollow {
    type Command = AuthorFollowCommand;
    type Facts = AuthorFollowFacts;
    type Event = SocialEvent;
    type Error = Rejection;

    /// As with readers: following twice is `ALREADY_EXISTS`, unfollowing whom one does not
    /// follow `NOT_FOUND`.
    fn decide(&self, command: &AuthorFollowCommand, facts: &AuthorFollowFacts) -> Result<Vec<SocialEvent>, Rejection> {
        let AuthorFollowFacts { reader_id, author_id, author_exists } = *facts;
        match command {
            AuthorFollowCommand::Follow => {
                if !author_exists {
                    return Err(Rejection::not_found("authorId", "no such author"));
                }
                if self.following {
                    return Err(Rejection::new(Code::AlreadyExists, "you follow this author already"));
                }
                Ok(vec![SocialEvent::AuthorFollowed { reader_id, author_id }])
            }
            AuthorFollowCommand::Unfollow => {
                if !self.following {
                    return Err(Rejection::not_found("authorId", "you do not follow this author"));
                }
                Ok(vec![SocialEvent::AuthorUnfollowed { reader_id, author_id }])
            }
        }
    }

    fn evolve(self, event: &SocialEvent) -> Self {
        match event {
            SocialEvent::AuthorFollowed { .. } => AuthorFollow { following: true },
            SocialEvent::AuthorUnfollowed { .. } => AuthorFollow { following: false },
            _ => self,
        }
    }
}

/// One library import's summary: recorded once, whoever retries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LibraryImport {
    pub recorded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordImport {
    pub reader_id: Uuid,
    pub job_id: Uuid,
    pub books: u32,
    pub source: String,
    /// Why the job failed; `None` when it finished.
    pub failure: Option<String>,
}

/// The longest failure reason recorded (the rest is cut at a character boundary).
pub const MAX_IMPORT_FAILURE: usize = 500;

impl Decider for LibraryImport {
    type Command = RecordImport;
    type Facts = ();
    type Event = SocialEvent;
    type Error = Rejection;

    /// Recording its end again (finished or failed) changes nothing; an import that brought
    /// nothing new is no news.
    fn decide(&self, command: &RecordImport, _: &()) -> Result<Vec<SocialEvent>, Rejection> {
        if !matches!(command.source.as_str(), "GOODREADS" | "STORYGRAPH") {
            return Err(Rejection::invalid("source", "source is GOODREADS or STORYGRAPH"));
        }
        if self.recorded {
            return Ok(vec![]);
        }
        let RecordImport { reader_id, job_id, books, source, failure } = command.clone();
        match failure {
            Some(reason) => {
                let reason: String = reason.chars().take(MAX_IMPORT_FAILURE).collect();
                Ok(vec![SocialEvent::LibraryImportFailed { reader_id, job_id, reason }])
            }
            None if books == 0 => Ok(vec![]),
            None => Ok(vec![SocialEvent::LibraryImported { reader_id, job_id, books, source }]),
        }
    }

    fn evolve(self, event: &SocialEvent) -> Self {
        let ended = matches!(event, SocialEvent::LibraryImported { .. } | SocialEvent::LibraryImportFailed { .. });
        Self { recorded: self.recorded || ended }
    }
}

#[cfg(test)]
mod tests {
    use readstream_testkit::decider::given;

    use super::*;

    /// Makes one field of a valid command invalid.
    type Spoil = fn(&mut SignUp);

    const ANA: Uuid = Uuid::from_u128(1);
    const BEN: Uuid = Uuid::from_u128(2);

    fn ana() -> SignUp {
        SignUp {
            reader_id: ANA,
            handle: "ana_reads".into(),
            display_name: " Ana ".into(),
            password: "correct horse battery".into(),
        }
    }

    fn registered() -> SocialEvent {
        SocialEvent::ReaderRegistered { reader_id: ANA, handle: "ana_reads".into(), display_name: "Ana".into() }
    }

    #[test]
    fn when_signing_up_then_registered_with_the_public_profile_only() {
        let events = given::<Reader>([]).when(ReaderCommand::SignUp(ana()), ()).then_events();
        assert_eq!(events, vec![registered()]);
        assert!(!format!("{events:?}").contains("horse"));
    }

    #[test]
    fn when_signing_up_with_bad_fields_then_invalid_argument_naming_the_field() {
        let cases: [(Spoil, &str); 7] = [
            (|c| c.handle = "ab".into(), "handle"),
            (|c| c.display_name = "a\u{0}b".into(), "displayName"),
            (|c| c.display_name = "ana\u{202E}nimda".into(), "displayName"),
            (|c| c.handle = "has space".into(), "handle"),
            (|c| c.handle = "x".repeat(31), "handle"),
            (|c| c.display_name = "  ".into(), "displayName"),
            (|c| c.password = "short".into(), "password"),
        ];
        for (spoil, field) in cases {
            let mut command = ana();
            spoil(&mut command);
            given::<Reader>([])
                .when(ReaderCommand::SignUp(command), ())
                .then_refused(Code::InvalidArgument, Some(field));
        }
    }

    #[test]
    fn given_a_reader_when_choosing_who_sees_their_reading_then_changed_once() {
        let only_me = ReaderCommand::SetReadingVisibility { reader_id: ANA, visibility: Visibility::OnlyMe };
        let changed = SocialEvent::ReadingVisibilityChanged { reader_id: ANA, visibility: Visibility::OnlyMe };
        given::<Reader>([registered()]).when(only_me.clone(), ()).then([changed.clone()]);
        given::<Reader>([registered(), changed]).when(only_me.clone(), ()).then([]);
        let everyone = ReaderCommand::SetReadingVisibility { reader_id: ANA, visibility: Visibility::Everyone };
        given::<Reader>([registered()]).when(everyone, ()).then([]);
        given::<Reader>([]).when(only_me, ()).then_refused(Code::NotFound, Some("readerId"));
    }

    #[test]
    fn given_a_reader_when_setting_a_time_zone_then_changed_once_and_utc_is_where_they_started() {
        let zone = |name| TimeZone::parse("timeZone", name).expect("an IANA name");
        let lisbon = ReaderCommand::SetTimeZone { reader_id: ANA, time_zone: zone("Europe/Lisbon") };
        let changed = SocialEvent::TimeZoneChanged { reader_id: ANA, time_zone: zone("Europe/Lisbon") };
        given::<Reader>([registered()]).when(lisbon.clone(), ()).then([changed.clone()]);
        given::<Reader>([registered(), changed.clone()]).when(lisbon.clone(), ()).then([]);
        let utc = ReaderCommand::SetTimeZone { reader_id: ANA, time_zone: TimeZone::utc() };
        given::<Reader>([registered()]).when(utc.clone(), ()).then([]);
        given::<Reader>([registered(), changed])
            .when(utc, ())
            .then([SocialEvent::TimeZoneChanged { reader_id: ANA, time_zone: TimeZone::utc() }]);
        given::<Reader>([]).when(lisbon, ()).then_refused(Code::NotFound, Some("readerId"));
    }

    #[test]
    fn time_zones_are_spelled_as_iana_names() {
        for name in ["UTC", "Europe/Lisbon", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "America/Port-au-Prince"] {
            assert!(TimeZone::parse("timeZone", name).is_ok(), "{name}");
        }
        let long = "A".repeat(65);
        for name in
            ["", "/", "Europe/", "../etc/passwd", "Europe/./Lisbon", "Europe Lisbon", "Ünïcode", "a;DROP", &long]
        {
            let refused = TimeZone::parse("timeZone", name).map(|_| ()).map_err(|r| (r.code, r.field));
            assert_eq!(refused, Err((Code::InvalidArgument, Some("timeZone"))), "{name:?}");
        }
    }

    #[test]
    fn given_a_reader_when_an_admin_grants_a_role_then_granted_once_and_revoked_once() {
        let grant = RoleCommand::Grant { reader_id: ANA, role: Role::Librarian };
        let revoke = RoleCommand::Revoke { reader_id: ANA, role: Role::Librarian };
        let granted = SocialEvent::RoleGranted { reader_id: ANA, role: Role::Librarian };
        given::<ReaderRoles>([registered()]).when(grant, ActorIsAdmin(true)).then([granted.clone()]);
        given::<ReaderRoles>([registered(), granted.clone()]).when(grant, ActorIsAdmin(true)).then([]);
        given::<ReaderRoles>([registered(), granted.clone()])
            .when(revoke, ActorIsAdmin(true))
            .then([SocialEvent::RoleRevoked { reader_id: ANA, role: Role::Librarian }]);
        given::<ReaderRoles>([registered()]).when(revoke, ActorIsAdmin(true)).then([]);
    }

    #[test]
    fn when_anyone_but_an_admin_grants_a_role_or_the_reader_is_unknown_then_refused() {
        let grant = RoleCommand::Grant { reader_id: ANA, role: Role::Admin };
        given::<ReaderRoles>([registered()])
            .when(grant, ActorIsAdmin(false))
            .then_refused(Code::PermissionDenied, None);
        given::<ReaderRoles>([]).when(grant, ActorIsAdmin(true)).then_refused(Code::NotFound, Some("readerId"));
    }

    #[test]
    fn given_a_reader_when_deleting_the_account_then_deleted_once_and_nothing_more_is_decided() {
        let delete = ReaderCommand::DeleteAccount { reader_id: ANA };
        let deleted = SocialEvent::ReaderDeleted { reader_id: ANA };
        given::<Reader>([registered()]).when(delete.clone(), ()).then([deleted.clone()]);
        given::<Reader>([registered(), deleted.clone()]).when(delete.clone(), ()).then([]);
        given::<Reader>([]).when(delete, ()).then_refused(Code::NotFound, Some("readerId"));
        given::<Reader>([registered(), deleted.clone()])
            .when(update(None, Some("back again")), ())
            .then_refused(Code::NotFound, Some("readerId"));
        given::<Reader>([registered(), deleted.clone()])
            .when(ReaderCommand::SignUp(ana()), ())
            .then_refused(Code::AlreadyExists, None);
        given::<ReaderRoles>([registered(), deleted])
            .when(RoleCommand::Grant { reader_id: ANA, role: Role::Librarian }, ActorIsAdmin(true))
            .then_refused(Code::NotFound, Some("readerId"));
    }

    #[test]
    fn given_a_registered_reader_when_signing_up_again_then_already_exists() {
        given::<Reader>([registered()]).when(ReaderCommand::SignUp(ana()), ()).then_refused(Code::AlreadyExists, None);
    }

    #[test]
    fn given_a_sign_up_never_recorded_when_it_expires_then_a_late_registration_is_refused() {
        let expire = ReaderCommand::ExpireSignUp { reader_id: ANA };
        let expired = SocialEvent::SignUpExpired { reader_id: ANA };
        given::<Reader>([]).when(expire.clone(), ()).then([expired.clone()]);
        given::<Reader>([expired.clone()]).when(expire, ()).then([]);
        given::<Reader>([expired.clone()]).when(ReaderCommand::SignUp(ana()), ()).then_refused(Code::Conflict, None);
        given::<Reader>([expired]).when(update(Some("Ana"), None), ()).then_refused(Code::NotFound, Some("readerId"));
    }

    #[test]
    fn given_a_recorded_reader_when_its_sign_up_expires_then_nothing_changes() {
        given::<Reader>([registered()]).when(ReaderCommand::ExpireSignUp { reader_id: ANA }, ()).then([]);
    }

    fn update(display_name: Option<&str>, bio: Option<&str>) -> ReaderCommand {
        ReaderCommand::UpdateProfile {
            reader_id: ANA,
            display_name: display_name.map(Into::into),
            bio: bio.map(Into::into),
            avatar: None,
        }
    }

    #[test]
    fn an_avatar_is_set_replaced_and_removed_and_the_same_one_again_appends_nothing() {
        let first = ImageId::of(b"first");
        let second = ImageId::of(b"second");
        let avatar = |avatar: Option<&ImageId>| ReaderCommand::UpdateProfile {
            reader_id: ANA,
            display_name: None,
            bio: None,
            avatar: Some(avatar.cloned()),
        };
        let changed = |avatar: Option<&ImageId>| SocialEvent::AvatarChanged { reader_id: ANA, avatar: avatar.cloned() };
        given::<Reader>([registered()]).when(avatar(Some(&first)), ()).then([changed(Some(&first))]);
        given::<Reader>([registered(), changed(Some(&first))]).when(avatar(Some(&first)), ()).then([]);
        given::<Reader>([registered(), changed(Some(&first))])
            .when(avatar(Some(&second)), ())
            .then([changed(Some(&second))]);
        given::<Reader>([registered(), changed(Some(&first))]).when(avatar(None), ()).then([changed(None)]);
        given::<Reader>([registered()]).when(avatar(None), ()).then([]);
        given::<Reader>([registered(), changed(Some(&first)), SocialEvent::ReaderDeleted { reader_id: ANA }])
            .when(avatar(Some(&second)), ())
            .then_refused(Code::NotFound, Some("readerId"));
        let both = ReaderCommand::UpdateProfile {
            reader_id: ANA,
            display_name: None,
            bio: Some("Reads history.".into()),
            avatar: Some(Some(first.clone())),
        };
        given::<Reader>([registered()]).when(both, ()).then([
            SocialEvent::ProfileUpdated { reader_id: ANA, display_name: "Ana".into(), bio: "Reads history.".into() },
            changed(Some(&first)),
        ]);
    }

    #[test]
    fn a_profile_update_keeps_what_is_left_out_and_a_no_op_appends_nothing() {
        given::<Reader>([registered()]).when(update(None, Some("Reads history.")), ()).then([
            SocialEvent::ProfileUpdated { reader_id: ANA, display_name: "Ana".into(), bio: "Reads history.".into() },
        ]);
        given::<Reader>([registered()]).when(update(Some(" Ana "), None), ()).then([]);
        given::<Reader>([registered()])
            .when(update(Some(""), None), ())
            .then_refused(Code::InvalidArgument, Some("displayName"));
        given::<Reader>([]).when(update(Some("Ana"), None), ()).then_refused(Code::NotFound, Some("readerId"));
    }

    #[test]
    fn a_profile_that_could_not_be_stored_or_disguises_a_name_is_refused() {
        for (name, bio, field) in [
            (Some("a\u{0}b"), None, "displayName"),
            (Some("A\u{200B}na"), None, "displayName"),
            (Some("two\nlines"), None, "displayName"),
            (None, Some("nul \u{0} in a bio"), "bio"),
            (None, Some("\u{FFFF}"), "bio"),
        ] {
            given::<Reader>([registered()])
                .when(update(name, bio), ())
                .then_refused(Code::InvalidArgument, Some(field));
        }
        given::<Reader>([registered()]).when(update(Some("Jose\u{301}"), Some("Line one\nline two")), ()).then([
            SocialEvent::ProfileUpdated {
                reader_id: ANA,
                display_name: "Jos\u{e9}".into(),
                bio: "Line one\nline two".into(),
            },
        ]);
    }

    fn facts(actor: Uuid, other: Uuid) -> LinkFacts {
        LinkFacts { actor, other, other_exists: true }
    }

    fn followed(follower_id: Uuid, followee_id: Uuid) -> SocialEvent {
        SocialEvent::ReaderFollowed { follower_id, followee_id }
    }

    fn blocked(blocker_id: Uuid, blocked_id: Uuid) -> SocialEvent {
        SocialEvent::ReaderBlocked { blocker_id, blocked_id }
    }

    #[test]
    fn following_yourself_twice_or_someone_who_blocked_you_is_refused() {
        given::<Link>([])
            .when(LinkCommand::Follow, facts(ANA, ANA))
            .then_refused(Code::InvalidArgument, Some("readerId"));
        let nobody = LinkFacts { other_exists: false, ..facts(ANA, BEN) };
        given::<Link>([]).when(LinkCommand::Follow, nobody).then_refused(Code::NotFound, Some("readerId"));
        given::<Link>([followed(ANA, BEN)])
            .when(LinkCommand::Follow, facts(ANA, BEN))
            .then_refused(Code::AlreadyExists, None);
        given::<Link>([blocked(BEN, ANA)])
            .when(LinkCommand::Follow, facts(ANA, BEN))
            .then_refused(Code::PermissionDenied, None);
        given::<Link>([]).when(LinkCommand::Unfollow, facts(ANA, BEN)).then_refused(Code::NotFound, Some("readerId"));
    }

    #[test]
    fn a_block_ends_the_follows_both_ways_at_once() {
        given::<Link>([followed(ANA, BEN), followed(BEN, ANA)]).when(LinkCommand::Block, facts(ANA, BEN)).then([
            SocialEvent::ReaderUnfollowed { follower_id: ANA, followee_id: BEN },
            SocialEvent::ReaderUnfollowed { follower_id: BEN, followee_id: ANA },
            blocked(ANA, BEN),
        ]);
        given::<Link>([blocked(ANA, BEN)]).when(LinkCommand::Block, facts(ANA, BEN)).then([]);
        given::<Link>([blocked(ANA, BEN)])
            .when(LinkCommand::Unblock, facts(ANA, BEN))
            .then([SocialEvent::ReaderUnblocked { blocker_id: ANA, blocked_id: BEN }]);
        assert_eq!(readstream_contracts::social::link(ANA, BEN), readstream_contracts::social::link(BEN, ANA));
    }

    #[test]
    fn given_an_author_when_followed_unfollowed_and_followed_again_then_each_once() {
        let facts = AuthorFollowFacts { reader_id: ANA, author_id: Uuid::from_u128(7), author_exists: true };
        let followed = SocialEvent::AuthorFollowed { reader_id: ANA, author_id: Uuid::from_u128(7) };
        let unfollowed = SocialEvent::AuthorUnfollowed { reader_id: ANA, author_id: Uuid::from_u128(7) };
        given::<AuthorFollow>([]).when(AuthorFollowCommand::Follow, facts).then([followed.clone()]);
        given::<AuthorFollow>([followed.clone()])
            .when(AuthorFollowCommand::Follow, facts)
            .then_refused(Code::AlreadyExists, None);
        given::<AuthorFollow>([followed.clone()]).when(AuthorFollowCommand::Unfollow, facts).then([unfollowed.clone()]);
        given::<AuthorFollow>([followed.clone(), unfollowed.clone()])
            .when(AuthorFollowCommand::Unfollow, facts)
            .then_refused(Code::NotFound, Some("authorId"));
        given::<AuthorFollow>([followed, unfollowed]).when(AuthorFollowCommand::Follow, facts).then_events();
    }

    #[test]
    fn when_following_an_unknown_author_then_not_found() {
        let facts = AuthorFollowFacts { reader_id: ANA, author_id: Uuid::from_u128(7), author_exists: false };
        given::<AuthorFollow>([])
            .when(AuthorFollowCommand::Follow, facts)
            .then_refused(Code::NotFound, Some("authorId"));
    }

    #[test]
    fn an_import_is_summed_up_once_and_only_when_it_brought_something() {
        let job_id = Uuid::from_u128(9);
        let record = |books| RecordImport { reader_id: ANA, job_id, books, source: "GOODREADS".into(), failure: None };
        let imported = SocialEvent::LibraryImported { reader_id: ANA, job_id, books: 312, source: "GOODREADS".into() };
        given::<LibraryImport>([]).when(record(312), ()).then([imported.clone()]);
        given::<LibraryImport>([imported]).when(record(312), ()).then([]);
        given::<LibraryImport>([]).when(record(0), ()).then([]);
        let elsewhere = RecordImport { source: "LIBRARYTHING".into(), ..record(3) };
        given::<LibraryImport>([]).when(elsewhere, ()).then_refused(Code::InvalidArgument, Some("source"));
    }

    #[test]
    fn a_failed_import_is_recorded_once_its_reason_cut_to_length_and_ends_the_job() {
        let job_id = Uuid::from_u128(9);
        let failed = |failure: &str| RecordImport {
            reader_id: ANA,
            job_id,
            books: 0,
            source: "STORYGRAPH".into(),
            failure: Some(failure.to_owned()),
        };
        let event = |reason: String| SocialEvent::LibraryImportFailed { reader_id: ANA, job_id, reason };
        given::<LibraryImport>([]).when(failed("no Authors column"), ()).then([event("no Authors column".into())]);
        given::<LibraryImport>([event("no Authors column".into())]).when(failed("again"), ()).then([]);
        let long = "é".repeat(MAX_IMPORT_FAILURE + 10);
        given::<LibraryImport>([]).when(failed(&long), ()).then([event("é".repeat(MAX_IMPORT_FAILURE))]);
    }
}
