//! The read models the projector keeps: the one list of them. Each has its own checkpoint row
//! (`projection_checkpoints.name`), announces its position on its own subject, and can be
//! rebuilt on its own; the gateway waits for exactly the ones a field reads.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadModel {
    /// Books, authors and who wrote what.
    Catalog,
    /// Readers' profiles, follows and blocks.
    Readers,
    /// Each reader's rating and each book's rating figures.
    Ratings,
    /// Shelves, reading progress and each book's shelf counts.
    Shelves,
    /// Reviews, their likes and comments.
    Reviews,
    /// Activities and each reader's feed.
    Feed,
    /// What others did that concerns each reader.
    Notifications,
    /// What readers say books are: genres from their shelves, moods, pace and content warnings.
    Discovery,
    /// Which books readers enjoy together, and each reader's taste.
    Recommendations,
    /// Readers' lists of books, ranked by votes.
    Lists,
}

impl ReadModel {
    pub const ALL: [Self; 10] = [
        Self::Catalog,
        Self::Readers,
        Self::Ratings,
        Self::Shelves,
        Self::Reviews,
        Self::Feed,
        Self::Notifications,
        Self::Discovery,
        Self::Recommendations,
        Self::Lists,
    ];

    /// Its name in `projection_checkpoints`, in subjects and in `REBUILD_PROJECTIONS`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Catalog => "catalog",
            Self::Readers => "readers",
            Self::Ratings => "ratings",
            Self::Shelves => "shelves",
            Self::Reviews => "reviews",
            Self::Feed => "feed",
            Self::Notifications => "notifications",
            Self::Discovery => "discovery",
            Self::Recommendations => "recommendations",
            Self::Lists => "lists",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|model| model.name() == name)
    }

    /// Its place in `ALL`, for tables indexed by read model.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ReadModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::ReadModel;

    #[test]
    fn every_read_model_is_found_by_its_name_at_its_index() {
        for (index, model) in ReadModel::ALL.into_iter().enumerate() {
            assert_eq!(ReadModel::from_name(model.name()), Some(model));
            assert_eq!(model.index(), index);
        }
        assert_eq!(ReadModel::from_name("shelf"), None);
    }
}
