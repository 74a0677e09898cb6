//! The read models' contracts: what the projector writes and the gateway reads, in one place.
//! Each read model has a module: its kinds, as enums with one database mapping
//! ([`text_kind!`]: a kind stored as text is written and read through its enum, never as a
//! string literal), its rows and its reads, batched ([`Database`]'s loaders) or not. Every
//! statement of the crate (the files under `queries/`, the loaders' inline queries, the lists
//! of reviews) is planned by `tests/plans.rs` over a large generated data set: none may scan a
//! table that grows with the readers.

pub mod catalog;
pub mod discovery;
pub mod export;
pub mod feed;
pub mod goals;
pub mod images;
pub mod imports;
pub mod lists;
pub mod merges;
pub mod notifications;
pub mod operations;
pub mod pages;
pub mod ratings;
pub mod readers;
pub mod reading;
pub mod recommendations;
pub mod reviews;
pub mod search;
pub mod series;
pub mod shelves;
pub mod social;

use std::sync::Arc;

/// The batched reads' one handle: the gateway keeps one DataLoader over it per request, so
/// lookups of the same kind are batched into one query. Each module adds the loads of its own
/// rows (`async_graphql::dataloader::Loader`); none of them knows a GraphQL type.
pub struct Database(pub sqlx::PgPool);

/// A batched load's failure, shared by every field that waited on the batch.
pub type Failure = Arc<sqlx::Error>;

/// Binds an enum to the text a column stores for it, both ways, as its one database mapping:
/// it encodes and decodes as Postgres `text` (and `text[]`), and text no variant names fails to
/// decode.
macro_rules! text_kind {
    ($kind:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $kind {
            /// Every kind.
            pub const ALL: &'static [$kind] = &[$($kind::$variant),+];

            /// The text the database stores for it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($kind::$variant => $text),+
                }
            }

            /// The kind stored as `text`.
            pub fn from_text(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($kind::$variant),)+
                    _ => None,
                }
            }
        }

        impl sqlx::Type<sqlx::Postgres> for $kind {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl sqlx::postgres::PgHasArrayType for $kind {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for $kind {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $kind {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                $kind::from_text(text).ok_or_else(|| format!("{text:?} is no {}", stringify!($kind)).into())
            }
        }
    };
}
pub(crate) use text_kind;

#[cfg(test)]
mod tests {
    use super::{
        catalog::NodeKind,
        feed::ActivityKind,
        imports::{ImportFormat, ImportStatus},
        merges::MergeKind,
        readers::ReadingVisibility,
        shelves::{self, ShelfStatus},
    };

    #[test]
    fn every_kind_reads_back_as_itself_and_no_two_share_a_text() {
        fn round_trip<K: Copy + PartialEq + std::fmt::Debug>(
            all: &[K],
            text: fn(K) -> &'static str,
            parse: fn(&str) -> Option<K>,
        ) {
            let mut texts: Vec<_> = all.iter().map(|k| text(*k)).collect();
            texts.sort_unstable();
            texts.dedup();
            assert_eq!(texts.len(), all.len());
            for kind in all {
                assert_eq!(parse(text(*kind)), Some(*kind));
            }
            assert_eq!(parse("no such kind"), None);
        }
        round_trip(ActivityKind::ALL, ActivityKind::as_str, ActivityKind::from_text);
        round_trip(ShelfStatus::ALL, ShelfStatus::as_str, ShelfStatus::from_text);
        round_trip(MergeKind::ALL, MergeKind::as_str, MergeKind::from_text);
        round_trip(ReadingVisibility::ALL, ReadingVisibility::as_str, ReadingVisibility::from_text);
        round_trip(ImportFormat::ALL, ImportFormat::as_str, ImportFormat::from_text);
        round_trip(ImportStatus::ALL, ImportStatus::as_str, ImportStatus::from_text);
        round_trip(NodeKind::ALL, NodeKind::as_str, NodeKind::from_text);
        round_trip(shelves::ReadingStep::ALL, shelves::ReadingStep::as_str, shelves::ReadingStep::from_text);
    }

    /// The few kinds SQL writes out rather than binds, because they are the predicate of a
    /// partial index a generic plan matches only against the same literal: the import claim's
    /// `import_jobs_waiting` and the finished reads' `reading_timeline_finished`.
    #[test]
    fn the_kinds_partial_indexes_name_are_the_enums_texts() {
        assert_eq!([ImportStatus::Queued.as_str(), ImportStatus::Running.as_str()], ["QUEUED", "RUNNING"]);
        assert_eq!(shelves::ReadingStep::Finished.as_str(), "finished");
    }

    #[test]
    fn every_step_but_progress_moves_a_book_and_only_removing_takes_it_off_every_shelf() {
        use shelves::ReadingStep;
        for step in ReadingStep::ALL {
            let shelving = step.shelving();
            assert_eq!(shelving.is_none(), *step == ReadingStep::Progress, "{step:?}");
            assert_eq!(shelving == Some(None), *step == ReadingStep::Removed, "{step:?}");
        }
    }
}
