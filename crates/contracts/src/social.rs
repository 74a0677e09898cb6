//! The social context: readers, their profiles, who follows or blocks whom, and the feed.

use uuid::Uuid;

use crate::{
    command::{commands, Service},
    subject::Aggregate,
    ImageId, Rejection,
};

/// The command service of accounts, profiles, follows and blocks.
pub struct SocialService;

impl Service for SocialService {
    const NAME: &'static str = "social";
}

commands!(SocialService, SocialRoutes {
    SignUp => sign_up(Metadata) -> SessionOpened,
    SignIn => sign_in(Metadata) -> SessionOpened,
    RefreshSession => refresh_session(Metadata) -> SessionOpened,
    SignOut => sign_out(Sender) -> SessionsEnded,
    ChangePassword => change_password(Sender) -> SessionsEnded,
    DeleteAccount => delete_account(Sender) -> SessionsEnded,
    SetReadingVisibility => set_reading_visibility(Sender) -> Identified,
    SetTimeZone => set_time_zone(Sender) -> Identified,
    GrantRole => grant_role(Sender) -> Identified,
    RevokeRole => revoke_role(Sender) -> Identified,
    UpdateProfile => update_profile(Sender) -> Identified,
    Follow => follow(Sender) -> Identified,
    Unfollow => unfollow(Sender) -> Identified,
    Block => block(Sender) -> Identified,
    Unblock => unblock(Sender) -> Identified,
    FollowAuthor => follow_author(Sender) -> Identified,
    UnfollowAuthor => unfollow_author(Sender) -> Identified,
    RecordImport => record_import(Sender) -> Recorded,
});

/// A reader's profile.
pub fn reader(reader_id: Uuid) -> Aggregate {
    Aggregate::new(format!("social.reader.{reader_id}"))
}

/// Follows and blocks between two readers, one subject for the pair whichever acts: a block
/// then ends the follows both ways in one message.
pub fn link(a: Uuid, b: Uuid) -> Aggregate {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    Aggregate::new(format!("social.link.{low}.{high}"))
}

/// Whether a reader follows an author: one subject per pair, so following many authors at once
/// never contends.
pub fn author_follow(reader_id: Uuid, author_id: Uuid) -> Aggregate {
    Aggregate::new(format!("social.author_follow.{reader_id}.{author_id}"))
}

/// A library import's progress, announced by the gateway running it to the readers following it.
pub fn live_import(namespace: &str, job_id: Uuid) -> String {
    format!("{namespace}.live.import.{job_id}")
}

/// Where the notifications projection says a reader got something new.
pub fn live_notifications(namespace: &str, reader_id: Uuid) -> String {
    format!("{namespace}.live.notifications.{reader_id}")
}

/// One library import of a reader: its summary, once.
pub fn library_import(reader_id: Uuid, job_id: Uuid) -> Aggregate {
    Aggregate::new(format!("social.import.{reader_id}.{job_id}"))
}

/// Where items written into a reader's feed are announced.
pub fn live_feed(namespace: &str, reader_id: Uuid) -> String {
    format!("{namespace}.live.feed.{reader_id}")
}

/// Every reader's `live_feed`, as one wildcard subject.
pub fn live_feeds(namespace: &str) -> String {
    format!("{namespace}.live.feed.*")
}

/// The wildcards a gateway receives through one NATS subscription each, for every reader at
/// once: the subjects each open feed follows for as long as it is open (`live_feed` and
/// `live_merged_followees`). Followed one by one, each open feed would hold two NATS
/// subscriptions and their tasks of its own.
pub fn live_wildcards(namespace: &str) -> [String; 2] {
    [live_feeds(namespace), format!("{namespace}.live.merged-followees.*")]
}

/// Where a reader's feed projection says which accounts merged on read they follow changed.
pub fn live_merged_followees(namespace: &str, reader_id: Uuid) -> String {
    format!("{namespace}.live.merged-followees.{reader_id}")
}

/// Where the activities of an account merged into feeds on read are announced.
pub fn live_activity(namespace: &str, actor_id: Uuid) -> String {
    format!("{namespace}.live.activity.{actor_id}")
}

/// What readers did to their accounts and to each other.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type")]
pub enum SocialEvent {
    ReaderRegistered {
        reader_id: Uuid,
        handle: String,
        display_name: String,
    },
    ProfileUpdated {
        reader_id: Uuid,
        display_name: String,
        bio: String,
    },
    /// The reader's picture from now on; `None`: removed.
    AvatarChanged {
        reader_id: Uuid,
        avatar: Option<ImageId>,
    },
    ReaderFollowed {
        follower_id: Uuid,
        followee_id: Uuid,
    },
    ReaderUnfollowed {
        follower_id: Uuid,
        followee_id: Uuid,
    },
    ReaderBlocked {
        blocker_id: Uuid,
        blocked_id: Uuid,
    },
    ReaderUnblocked {
        blocker_id: Uuid,
        blocked_id: Uuid,
    },
    /// On the reader's own subject; the admin who granted it is the envelope's actor.
    RoleGranted {
        reader_id: Uuid,
        role: Role,
    },
    RoleRevoked {
        reader_id: Uuid,
        role: Role,
    },
    /// On the reader's own subject: where "today" is for them.
    TimeZoneChanged {
        reader_id: Uuid,
        time_zone: TimeZone,
    },
    /// On the reader's own subject.
    ReadingVisibilityChanged {
        reader_id: Uuid,
        visibility: Visibility,
    },
    /// The reader deleted their account: last on their own subject. Their key is destroyed, so
    /// every personal field they wrote reads as empty from then on.
    ReaderDeleted {
        reader_id: Uuid,
    },
    /// A sign-up claimed its handle but its registration was never recorded: first and last on
    /// the reader's subject, so a late registration is refused, and the handle is free again.
    SignUpExpired {
        reader_id: Uuid,
    },
    /// A reader follows an author of the catalog, on the pair's own subject.
    AuthorFollowed {
        reader_id: Uuid,
        author_id: Uuid,
    },
    AuthorUnfollowed {
        reader_id: Uuid,
        author_id: Uuid,
    },
    /// A library import is done: `books` got something new from the file.
    LibraryImported {
        reader_id: Uuid,
        job_id: Uuid,
        books: u32,
        source: String,
    },
    /// A library import failed, as its job recorded: news to the reader alone.
    LibraryImportFailed {
        reader_id: Uuid,
        job_id: Uuid,
        reason: String,
    },
}

/// The time zone a reader's days are in: an IANA name ("Europe/Lisbon", "UTC"), as Postgres's
/// `pg_timezone_names` lists them. Its spelling is checked here; that it names a zone, by the
/// service that records it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct TimeZone(String);

impl TimeZone {
    /// The longest name accepted (the longest IANA name has 32 characters).
    pub const MAX_LENGTH: usize = 64;

    pub fn utc() -> Self {
        TimeZone("UTC".to_owned())
    }

    /// A name spelled as IANA's are: letters, digits, `/`, `_`, `+`, `-`, no empty part.
    pub fn parse(field: &'static str, name: &str) -> Result<Self, Rejection> {
        let spelled = !name.is_empty()
            && name.len() <= Self::MAX_LENGTH
            && name.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-'))
            });
        if !spelled {
            return Err(Rejection::invalid(field, "a time zone is an IANA name, such as Europe/Lisbon"));
        }
        Ok(TimeZone(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who sees a reader's shelves, progress and reading history (the anonymous counts of a book
/// count everyone regardless).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Visibility {
    #[default]
    Everyone,
    /// The readers who follow them.
    Followers,
    OnlyMe,
}

impl Visibility {
    pub const ALL: [Visibility; 3] = [Visibility::Everyone, Visibility::Followers, Visibility::OnlyMe];

    pub fn name(self) -> &'static str {
        match self {
            Visibility::Everyone => "EVERYONE",
            Visibility::Followers => "FOLLOWERS",
            Visibility::OnlyMe => "ONLY_ME",
        }
    }

    pub fn from_name(name: &str) -> Option<Visibility> {
        Visibility::ALL.into_iter().find(|visibility| visibility.name() == name)
    }
}

/// What a reader may do beyond their own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Adds to and edits the shared catalog.
    Librarian,
    /// Grants and revokes roles.
    Admin,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Librarian, Role::Admin];

    pub fn name(self) -> &'static str {
        match self {
            Role::Librarian => "LIBRARIAN",
            Role::Admin => "ADMIN",
        }
    }

    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == name)
    }
}

/// The roles a reader holds, folded from the events on their subject: what every command
/// service checks, never a token's claims.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Roles(std::collections::BTreeSet<Role>);

impl Roles {
    pub fn of<'a>(events: impl IntoIterator<Item = &'a SocialEvent>) -> Self {
        events.into_iter().fold(Self::default(), Self::evolve)
    }

    pub fn evolve(mut self, event: &SocialEvent) -> Self {
        match event {
            SocialEvent::RoleGranted { role, .. } => {
                self.0.insert(*role);
            }
            SocialEvent::RoleRevoked { role, .. } => {
                self.0.remove(role);
            }
            _ => {}
        }
        self
    }

    pub fn holds(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_what_was_granted_and_not_since_revoked() {
        let reader_id = Uuid::now_v7();
        let events = [
            SocialEvent::RoleGranted { reader_id, role: Role::Librarian },
            SocialEvent::RoleGranted { reader_id, role: Role::Admin },
            SocialEvent::ProfileUpdated { reader_id, display_name: "Ana".into(), bio: String::new() },
            SocialEvent::RoleRevoked { reader_id, role: Role::Admin },
        ];
        let roles = Roles::of(&events);
        assert!(roles.holds(Role::Librarian) && !roles.holds(Role::Admin));
        assert_eq!(roles.iter().collect::<Vec<_>>(), [Role::Librarian]);
    }
}
