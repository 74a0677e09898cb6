//! Personal data in an append-only log: crypto-shredding.
//!
//! The log can never be edited, yet a reader who deletes their account must leave nothing
//! readable behind. So each event's personal fields (a reader's own words: handle, display
//! name, bio, notes, custom shelf names, review and comment bodies) are moved out of the event
//! and encrypted with a key of the reader they belong to ([`seal`]); the key lives outside the
//! log and is destroyed on deletion. [`open`] puts them back with the key, or leaves them
//! empty without it. Everything else (ids, stars, dates, shelves) stays in the clear, so the
//! anonymous counts fold the same with or without the key.

use std::collections::HashMap;

use prost::Message;
use ring::{
    aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN},
    rand::{SecureRandom, SystemRandom},
};
use uuid::Uuid;

use crate::{proto::events::v1 as pb, WireError};

/// The length of a reader's key, in bytes.
pub const KEY_LEN: usize = 32;

/// One reader's key: ChaCha20-Poly1305, 256 bits.
pub struct ReaderKey(LessSafeKey);

impl ReaderKey {
    /// Fresh key bytes from the operating system's generator.
    pub fn generate() -> Result<[u8; KEY_LEN], SealError> {
        let mut bytes = [0; KEY_LEN];
        SystemRandom::new().fill(&mut bytes).map_err(|_| SealError::Random)?;
        Ok(bytes)
    }

    /// The key these bytes are, if they are one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let key = UnboundKey::new(&CHACHA20_POLY1305, bytes).ok()?;
        Some(Self(LessSafeKey::new(key)))
    }
}

impl std::fmt::Debug for ReaderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReaderKey(..)")
    }
}

/// The keys at hand, by reader; a reader missing here has no key (any more).
pub type Keys = HashMap<Uuid, ReaderKey>;

/// A reader id as the wire spells it.
fn owner_id(value: &str) -> Result<Uuid, WireError> {
    Uuid::parse_str(value).map_err(|_| WireError::Invalid { field: "owner", expected: "UUID", value: value.to_owned() })
}

/// Moves the personal fields out of `body` into a body of the same kind holding only them,
/// with the reader they belong to; `None` when the event has none (or all are empty).
fn split(body: &mut pb::event::Body) -> Option<(String, pb::event::Body)> {
    use pb::event::Body;
    let mut any = false;
    let mut take = |text: &mut String| {
        any |= !text.is_empty();
        std::mem::take(text)
    };
    let (owner, personal) = match body {
        Body::ReaderRegistered(e) => (
            &e.reader_id,
            Body::ReaderRegistered(pb::ReaderRegistered {
                handle: take(&mut e.handle),
                display_name: take(&mut e.display_name),
                ..Default::default()
            }),
        ),
        Body::ProfileUpdated(e) => (
            &e.reader_id,
            Body::ProfileUpdated(pb::ProfileUpdated {
                display_name: take(&mut e.display_name),
                bio: take(&mut e.bio),
                ..Default::default()
            }),
        ),
        Body::AvatarChanged(e) => {
            (&e.reader_id, Body::AvatarChanged(pb::AvatarChanged { avatar: take(&mut e.avatar), ..Default::default() }))
        }
        Body::ProgressUpdated(e) => {
            (&e.reader_id, Body::ProgressUpdated(pb::ProgressUpdated { note: take(&mut e.note), ..Default::default() }))
        }
        Body::ReadingAbandoned(e) => (
            &e.reader_id,
            Body::ReadingAbandoned(pb::ReadingAbandoned { note: take(&mut e.note), ..Default::default() }),
        ),
        Body::AddedToShelf(e) => {
            (&e.reader_id, Body::AddedToShelf(pb::AddedToShelf { shelf: take(&mut e.shelf), ..Default::default() }))
        }
        Body::RemovedFromShelf(e) => (
            &e.reader_id,
            Body::RemovedFromShelf(pb::RemovedFromShelf { shelf: take(&mut e.shelf), ..Default::default() }),
        ),
        Body::ReviewPublished(e) => {
            (&e.reader_id, Body::ReviewPublished(pb::ReviewPublished { body: take(&mut e.body), ..Default::default() }))
        }
        Body::ReviewEdited(e) => {
            (&e.reader_id, Body::ReviewEdited(pb::ReviewEdited { body: take(&mut e.body), ..Default::default() }))
        }
        Body::ListCreated(e) => (
            &e.owner_id,
            Body::ListCreated(pb::ListCreated {
                title: take(&mut e.title),
                description: take(&mut e.description),
                ..Default::default()
            }),
        ),
        Body::ListEdited(e) => (
            &e.owner_id,
            Body::ListEdited(pb::ListEdited {
                title: take(&mut e.title),
                description: take(&mut e.description),
                ..Default::default()
            }),
        ),
        Body::ReviewCommented(e) => (
            &e.commenter_id,
            Body::ReviewCommented(pb::ReviewCommented { body: take(&mut e.body), ..Default::default() }),
        ),
        // No reader's own words: ids, stars, dates, shelves, the catalog's public text. Each
        // event is named, so a new one does not compile until it is placed here or above.
        Body::AuthorAdded(_)
        | Body::AuthorEdited(_)
        | Body::AuthorFollowed(_)
        | Body::AuthorMerged(_)
        | Body::AuthorProfileLinked(_)
        | Body::AuthorProfileUnlinked(_)
        | Body::AuthorUnfollowed(_)
        | Body::BookAdded(_)
        | Body::BookEdited(_)
        | Body::BookMerged(_)
        | Body::BookCoverChanged(_)
        | Body::AuthorPhotoChanged(_)
        | Body::SeriesAdded(_)
        | Body::SeriesEdited(_)
        | Body::BookPlacedInSeries(_)
        | Body::BookRemovedFromSeries(_)
        | Body::BookRated(_)
        | Body::BookRatedV2(_)
        | Body::BookDescribed(_)
        | Body::ListDeleted(_)
        | Body::ListHidden(_)
        | Body::BookListed(_)
        | Body::BookUnlisted(_)
        | Body::ListVoteCast(_)
        | Body::ListVoteWithdrawn(_)
        | Body::CommentDeleted(_)
        | Body::EditionAdded(_)
        | Body::EditionChosen(_)
        | Body::LibraryImported(_)
        | Body::LibraryImportFailed(_)
        | Body::RatingCleared(_)
        | Body::RatingClearedV2(_)
        | Body::ReadingGoalRemoved(_)
        | Body::ReadingGoalSet(_)
        | Body::TimeZoneChanged(_)
        | Body::ReaderBlocked(_)
        | Body::ReaderDeleted(_)
        | Body::ReaderFollowed(_)
        | Body::ReaderUnblocked(_)
        | Body::ReaderUnfollowed(_)
        | Body::ReadingFinished(_)
        | Body::ReadingPaused(_)
        | Body::ReadingStarted(_)
        | Body::ReadingVisibilityChanged(_)
        | Body::RemovedFromShelves(_)
        | Body::ReviewLiked(_)
        | Body::ReviewUnliked(_)
        | Body::ReviewWithdrawn(_)
        | Body::RoleGranted(_)
        | Body::RoleRevoked(_)
        | Body::SignUpExpired(_)
        | Body::WantToRead(_) => return None,
    };
    // An event whose personal fields are all empty has nothing to seal (and needs no key).
    any.then(|| (owner.clone(), personal))
}

/// The readers whose keys sealing `envelope` needs: the owners of non-empty personal fields.
pub fn owners(envelope: &pb::Envelope) -> Result<Vec<Uuid>, WireError> {
    let mut owners = Vec::new();
    for event in &envelope.events {
        let Some(mut body) = event.body.clone() else { continue };
        if let Some((owner, _)) = split(&mut body) {
            let owner = owner_id(&owner)?;
            if !owners.contains(&owner) {
                owners.push(owner);
            }
        }
    }
    Ok(owners)
}

/// The readers whose keys opening `envelope` needs.
pub fn sealed_owners(envelope: &pb::Envelope) -> Result<Vec<Uuid>, WireError> {
    let mut owners = Vec::new();
    for sealed in envelope.events.iter().filter_map(|event| event.sealed.as_ref()) {
        let owner = owner_id(&sealed.owner)?;
        if !owners.contains(&owner) {
            owners.push(owner);
        }
    }
    Ok(owners)
}

/// Why personal fields could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// A personal field belongs to a reader with no key: they deleted their account.
    #[error("reader {0} has no key: the account was deleted")]
    NoKey(Uuid),
    #[error("the operating system's random generator failed")]
    Random,
    #[error("encrypting a personal part failed")]
    Encrypt,
}

/// Encrypts the personal fields of every event in `envelope` with their reader's key from
/// `keys`, each with a fresh random nonce and the event id as associated data.
pub fn seal(envelope: &mut pb::Envelope, keys: &Keys) -> Result<(), SealError> {
    let random = SystemRandom::new();
    for event in &mut envelope.events {
        let Some(body) = event.body.as_mut() else { continue };
        let Some((owner, personal)) = split(body) else { continue };
        let owner = Uuid::parse_str(&owner).map_err(|_| SealError::NoKey(Uuid::nil()))?;
        let key = keys.get(&owner).ok_or(SealError::NoKey(owner))?;
        let mut nonce = [0; NONCE_LEN];
        random.fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut ciphertext = pb::Event { body: Some(personal), ..Default::default() }.encode_to_vec();
        key.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(event.event_id.as_bytes()),
                &mut ciphertext,
            )
            .map_err(|_| SealError::Encrypt)?;
        event.sealed = Some(pb::Sealed { owner: owner.to_string(), nonce: nonce.to_vec(), ciphertext });
    }
    Ok(())
}

/// Decrypts every sealed part whose reader's key is in `keys` back into its event; without the
/// key the personal fields stay empty. A part that does not decrypt under its key is corrupt.
pub fn open(envelope: &mut pb::Envelope, keys: &Keys) -> Result<(), WireError> {
    for event in &mut envelope.events {
        let Some(sealed) = event.sealed.take() else { continue };
        let Some(key) = keys.get(&owner_id(&sealed.owner)?) else { continue };
        let corrupt = |why: &str| WireError::Invalid {
            field: "sealed",
            expected: "personal fields sealed with their reader's key",
            value: format!("event {}: {why}", event.event_id),
        };
        let nonce = Nonce::try_assume_unique_for_key(&sealed.nonce).map_err(|_| corrupt("bad nonce"))?;
        let mut ciphertext = sealed.ciphertext;
        let plaintext = key
            .0
            .open_in_place(nonce, Aad::from(event.event_id.as_bytes()), &mut ciphertext)
            .map_err(|_| corrupt("does not decrypt"))?;
        // The plaintext is an event holding only the personal fields: merging it fills them in.
        event.merge(&*plaintext).map_err(WireError::Decode)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{reviews::review_id, Envelope, Event, Metadata, ReviewsEvent, SocialEvent};

    /// The wire keeps microseconds.
    fn meta(reader_id: Uuid) -> Metadata {
        Metadata {
            occurred_at: chrono::DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap(),
            actor: Some(reader_id),
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            import_job: None,
        }
    }

    fn envelope(reader_id: Uuid, book_id: Uuid) -> Envelope {
        Envelope::new(
            meta(reader_id),
            vec![
                Event::Social(SocialEvent::ProfileUpdated {
                    reader_id,
                    display_name: "Ana Lucia".into(),
                    bio: "Reads Russian novels on the night bus.".into(),
                }),
                Event::Reviews(ReviewsEvent::ReviewPublished {
                    review_id: review_id(reader_id, book_id),
                    reader_id,
                    book_id,
                    body: "Unforgettable winter in Petersburg".into(),
                    contains_spoilers: false,
                    written_on: chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
                }),
            ],
        )
    }

    fn keys(reader_id: Uuid) -> Keys {
        Keys::from([(reader_id, ReaderKey::from_bytes(&ReaderKey::generate().unwrap()).unwrap())])
    }

    #[test]
    fn sealed_fields_are_unreadable_in_the_bytes_and_come_back_with_the_key() {
        let (reader_id, book_id) = (Uuid::now_v7(), Uuid::now_v7());
        let plain = envelope(reader_id, book_id);
        let keys = keys(reader_id);
        let mut wire = pb::Envelope::from(&plain);
        assert_eq!(owners(&wire).unwrap(), [reader_id]);
        seal(&mut wire, &keys).unwrap();
        let bytes = wire.encode_to_vec();
        for secret in ["Ana Lucia", "night bus", "Petersburg"] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} is readable");
        }
        let mut read = pb::Envelope::decode(&*bytes).unwrap();
        assert_eq!(sealed_owners(&read).unwrap(), [reader_id]);
        open(&mut read, &keys).unwrap();
        assert_eq!(Envelope::try_from(read).unwrap(), plain);
    }

    #[test]
    fn without_the_key_personal_fields_are_empty_and_the_rest_is_intact() {
        let (reader_id, book_id) = (Uuid::now_v7(), Uuid::now_v7());
        let mut wire = pb::Envelope::from(&envelope(reader_id, book_id));
        seal(&mut wire, &keys(reader_id)).unwrap();
        open(&mut wire, &Keys::new()).unwrap();
        let events: Vec<Event> = Envelope::try_from(wire).unwrap().events.into_iter().map(|e| e.event).collect();
        assert_eq!(
            events[0],
            Event::Social(SocialEvent::ProfileUpdated { reader_id, display_name: String::new(), bio: String::new() })
        );
        let Event::Reviews(ReviewsEvent::ReviewPublished { body, book_id: kept, .. }) = &events[1] else {
            panic!("not a review: {events:?}")
        };
        assert_eq!((body.as_str(), *kept), ("", book_id));
    }

    #[test]
    fn sealing_needs_the_owners_key_and_a_part_cannot_move_to_another_event() {
        let (reader_id, book_id) = (Uuid::now_v7(), Uuid::now_v7());
        let mut wire = pb::Envelope::from(&envelope(reader_id, book_id));
        assert!(matches!(seal(&mut wire.clone(), &Keys::new()), Err(SealError::NoKey(id)) if id == reader_id));
        let keys = keys(reader_id);
        seal(&mut wire, &keys).unwrap();
        let (profile, review) = (wire.events[0].sealed.take(), wire.events[1].sealed.take());
        (wire.events[0].sealed, wire.events[1].sealed) = (review, profile);
        assert!(matches!(open(&mut wire, &keys), Err(WireError::Invalid { field: "sealed", .. })));
    }

    #[test]
    fn events_without_personal_text_need_no_key() {
        let reader_id = Uuid::now_v7();
        let plain = Envelope::new(
            meta(reader_id),
            vec![Event::Social(SocialEvent::ProfileUpdated {
                reader_id,
                display_name: String::new(),
                bio: String::new(),
            })],
        );
        let mut wire = pb::Envelope::from(&plain);
        assert!(owners(&wire).unwrap().is_empty());
        seal(&mut wire, &Keys::new()).unwrap();
        assert_eq!(Envelope::try_from(wire).unwrap(), plain);
    }
}
