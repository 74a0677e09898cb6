//! The social context: readers, their profiles, who follows or blocks whom, and the feed.

use uuid::Uuid;

use crate::{
    command::{commands, Service},
    subject::Aggregate,
};

/// The command service of accounts, profiles, follows and blocks.
pub struct SocialService;

impl Service for SocialService {
    const NAME: &'static str = "social";
}

commands!(SocialService {
    SignUp => "sign_up",
    SignIn => "sign_in",
    RefreshSession => "refresh_session",
    SignOut => "sign_out",
    ChangePassword => "change_password",
    UpdateProfile => "update_profile",
    Follow => "follow",
    Unfollow => "unfollow",
    Block => "block",
    Unblock => "unblock",
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

/// Where items written into a reader's feed are announced.
pub fn live_feed(namespace: &str, reader_id: Uuid) -> String {
    format!("{namespace}.live.feed.{reader_id}")
}

/// Where the activities of an account merged into feeds on read are announced.
pub fn live_activity(namespace: &str, actor_id: Uuid) -> String {
    format!("{namespace}.live.activity.{actor_id}")
}

/// What readers did to their accounts and to each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocialEvent {
    ReaderRegistered { reader_id: Uuid, handle: String, display_name: String },
    ProfileUpdated { reader_id: Uuid, display_name: String, bio: String },
    ReaderFollowed { follower_id: Uuid, followee_id: Uuid },
    ReaderUnfollowed { follower_id: Uuid, followee_id: Uuid },
    ReaderBlocked { blocker_id: Uuid, blocked_id: Uuid },
    ReaderUnblocked { blocker_id: Uuid, blocked_id: Uuid },
}
