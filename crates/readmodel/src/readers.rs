//! Readers: each reader's public profile and choices (`readers`).

use crate::text_kind;

/// Who sees a reader's reading (`readers.reading_visibility`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadingVisibility {
    Everyone,
    Followers,
    /// Their reading is theirs alone: no feed, shelf or page shows it to anyone else.
    OnlyMe,
}

text_kind!(ReadingVisibility { Everyone => "EVERYONE", Followers => "FOLLOWERS", OnlyMe => "ONLY_ME" });
