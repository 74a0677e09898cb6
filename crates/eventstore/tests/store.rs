//! The event store against the real NATS server `make test` started, one namespace per test.

// A test's helpers panic on failure, like the test itself.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use chrono::Utc;
use futures::future::join_all;
use prost::Message as _;
use readstream_contracts::{
    ratings, Aggregate, Code, Decider, Envelope, Event, Metadata, RatingsEvent, Rejection, Stars,
};
use readstream_eventstore::{Appended, EventStore, StoreError, StreamSettings};
use uuid::Uuid;

async fn store() -> EventStore {
    store_in(&readstream_testkit::namespace()).await
}

/// A store of its own (a process of its own, with the histories it keeps) on `namespace`.
async fn store_in(namespace: &str) -> EventStore {
    let client = async_nats::connect(readstream_testkit::nats_url()).await.expect("NATS is running");
    EventStore::connect(client, namespace, StreamSettings::default()).await.expect("the stream is created")
}

/// A reader's rating of a book no other test touches.
fn some_rating() -> Aggregate {
    ratings::rating(Uuid::new_v4(), Uuid::new_v4())
}

fn meta(command_id: Uuid) -> Metadata {
    // The wire keeps microseconds.
    let occurred_at = chrono::DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).expect("now");
    Metadata { occurred_at, actor: None, command_id, correlation_id: command_id, import_job: None }
}

fn rated(stars: u8, previous_stars: Option<u8>) -> Event {
    let whole = |stars| Stars::whole(stars).expect("1 to 5 stars");
    Event::Ratings(RatingsEvent::BookRated {
        reader_id: Uuid::nil(),
        book_id: Uuid::max(),
        stars: whole(stars),
        previous_stars: previous_stars.map(whole),
    })
}

/// Each rating's previous stars, in order.
fn previous_stars(history: &[readstream_eventstore::Stored]) -> Vec<Option<u8>> {
    let events = history.iter().flat_map(|s| &s.envelope.events);
    events
        .map(|e| match e.event {
            Event::Ratings(RatingsEvent::BookRated { previous_stars, .. }) => previous_stars.map(|s| s.rounded()),
            ref other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn current_stars(history: &[readstream_eventstore::Stored]) -> Option<u8> {
    history.iter().flat_map(|s| &s.envelope.events).fold(None, |_, e| match e.event {
        Event::Ratings(RatingsEvent::BookRated { stars, .. }) => Some(stars.rounded()),
        _ => None,
    })
}

#[tokio::test]
async fn a_stale_expected_position_is_refused() {
    let store = store().await;
    let rating = some_rating();
    let first = Envelope::new(meta(Uuid::new_v4()), vec![rated(3, None)]);
    let position = match store.append(&rating, 0, &first).await {
        Ok(Appended::New(position)) => position,
        other => panic!("expected a new message, got {other:?}"),
    };
    let stale = Envelope::new(meta(Uuid::new_v4()), vec![rated(4, None)]);
    let refused = store.append(&rating, 0, &stale).await;
    assert!(matches!(refused, Err(StoreError::WrongExpectedPosition { expected: 0, .. })), "{refused:?}");
    let next = Envelope::new(meta(Uuid::new_v4()), vec![rated(4, Some(3))]);
    assert!(matches!(store.append(&rating, position, &next).await, Ok(Appended::New(_))));
    let history = store.load(&rating).await.expect("loads");
    assert_eq!(history.iter().map(|s| &s.envelope).collect::<Vec<_>>(), vec![&first, &next]);
}

#[tokio::test]
async fn the_same_command_id_twice_is_one_event() {
    let store = store().await;
    let rating = some_rating();
    let command_id = Uuid::new_v4();
    let run = || store.execute(&rating, meta(command_id), |history| Ok(vec![rated(5, current_stars(history))]));
    let first = run().await.expect("stored").expect("accepted");
    let second = run().await.expect("stored").expect("accepted");
    assert_eq!(first, second, "the retry is answered as the first time");
    assert_eq!(store.load(&rating).await.expect("loads").len(), 1);

    // The same id sent straight to the stream is deduplicated by JetStream itself.
    let envelope = Envelope::new(meta(command_id), vec![rated(5, None)]);
    match store.append(&rating, first.position, &envelope).await {
        Ok(Appended::Duplicate(position)) => assert_eq!(position, first.position),
        // NATS 2.12 checks the expected position before the id: the caller reloads and finds it.
        Err(StoreError::WrongExpectedPosition { .. }) => {}
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert_eq!(store.load(&rating).await.expect("loads").len(), 1);
}

#[tokio::test]
async fn concurrent_writers_of_one_aggregate_each_decide_on_the_latest_state() {
    let store = store().await;
    let rating = some_rating();
    let writers = (0..8u8).map(|i| {
        let (store, rating) = (store.clone(), rating.clone());
        async move {
            store
                .execute(&rating, meta(Uuid::new_v4()), |history| Ok(vec![rated(i % 5 + 1, current_stars(history))]))
                .await
        }
    });
    for outcome in join_all(writers).await {
        outcome.expect("stored").expect("accepted");
    }
    let history = store.load(&rating).await.expect("loads");
    assert_eq!(history.len(), 8, "no write was lost");
    let mut current = None;
    for stored in &history {
        match stored.envelope.events[..] {
            [readstream_contracts::RecordedEvent {
                event: Event::Ratings(RatingsEvent::BookRated { stars, previous_stars, .. }),
                ..
            }] => {
                assert_eq!(previous_stars, current, "each writer saw the write before it");
                current = Some(stars);
            }
            ref other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_stream_keeps_the_settings_the_design_relies_on() {
    let store = store().await;
    let rating = some_rating();
    let envelope = Envelope::new(meta(Uuid::new_v4()), vec![rated(1, None)]);
    let Ok(Appended::New(position)) = store.append(&rating, 0, &envelope).await else {
        panic!("not stored");
    };
    let mut stream = store.jetstream().get_stream(store.stream_name()).await.expect("stream");
    let config = stream.info().await.expect("info").config.clone();
    assert!(config.deny_delete && config.deny_purge && config.allow_atomic_publish);
    assert!(config.duplicate_window >= std::time::Duration::from_secs(120));
    assert!(stream.delete_message(position).await.is_err(), "the log must refuse deletes");
    assert!(stream.purge().await.is_err(), "the log must refuse purges");
    assert!(store.exists(&rating).await.expect("reads"));
    assert!(!store.exists(&some_rating()).await.expect("reads"));
}

#[tokio::test]
async fn after_a_nats_restart_keys_are_watched_and_cached_again() {
    let nats = readstream_testkit::own_nats::OwnNats::start().expect("a NATS server");
    let client = async_nats::connect(nats.url()).await.expect("NATS is running");
    let store = EventStore::connect(client.clone(), &readstream_testkit::namespace(), StreamSettings::default())
        .await
        .expect("the stream is created");
    let reader = Uuid::new_v4();
    store.keys().for_sealing(reader).await.expect("made").expect("a key");
    assert!(store.keys().is_caching());

    // The watch's consumer lived in the server's memory: either the client makes it again, or
    // the watch ends and the cache, which could then miss a destruction, is emptied and off
    // until a new watch runs. Either way a destruction after the restart is seen, and keys are
    // cached again.
    nats.kill().expect("killed");
    nats.start_again().expect("started again");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while client.connection_state() != async_nats::connection::State::Connected {
        assert!(std::time::Instant::now() < deadline, "no reconnect");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    loop {
        match store.keys().destroy(reader).await {
            Ok(()) => break,
            // JetStream may still be recovering its streams.
            Err(err) => assert!(std::time::Instant::now() < deadline, "not destroyed: {err}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let destroyed = std::time::Instant::now();
    while !matches!(store.keys().get(reader).await, Ok(None)) {
        assert!(destroyed.elapsed() < std::time::Duration::from_secs(15), "a destroyed key was still served");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    while !store.keys().is_caching() {
        assert!(std::time::Instant::now() < deadline, "the keys were never watched again");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_processes_taking_turns_on_one_aggregate_each_decide_on_the_others_last_write() {
    let namespace = readstream_testkit::namespace();
    let (a, b) = (store_in(&namespace).await, store_in(&namespace).await);
    let rating = some_rating();
    // Each keeps the history it last saw, which the other's write has made stale.
    for (stars, store) in (1..=5).zip([&a, &b, &a, &b, &a]) {
        store
            .execute(&rating, meta(Uuid::new_v4()), |history| Ok(vec![rated(stars, current_stars(history))]))
            .await
            .expect("stored")
            .expect("accepted");
    }
    let history = b.load(&rating).await.expect("loads");
    assert_eq!(previous_stars(&history), [None, Some(1), Some(2), Some(3), Some(4)]);
}

#[tokio::test]
async fn a_refusal_is_decided_on_the_latest_history_not_on_the_one_a_process_kept() {
    let namespace = readstream_testkit::namespace();
    let (a, b) = (store_in(&namespace).await, store_in(&namespace).await);
    let rating = some_rating();
    // Re-rating needs an earlier rating: refused on an empty history.
    let rerate = |store: EventStore, rating: Aggregate| async move {
        store
            .execute(&rating, meta(Uuid::new_v4()), |history| match current_stars(history) {
                Some(stars) => Ok(vec![rated(stars % 5 + 1, Some(stars))]),
                None => Err(Rejection::new(Code::NotFound, "nothing to re-rate")),
            })
            .await
            .expect("read")
    };
    assert!(rerate(a.clone(), rating.clone()).await.is_err(), "nothing rated yet");
    b.execute(&rating, meta(Uuid::new_v4()), |_| Ok(vec![rated(4, None)])).await.expect("stored").expect("rated");
    rerate(a.clone(), rating.clone()).await.expect("a, which kept the empty history, sees b's rating");
    assert_eq!(previous_stars(&a.load(&rating).await.expect("loads")), [None, Some(4)]);
}

#[tokio::test]
async fn a_command_retried_through_another_process_is_answered_as_the_first_time() {
    let namespace = readstream_testkit::namespace();
    let (a, b) = (store_in(&namespace).await, store_in(&namespace).await);
    let rating = some_rating();
    a.execute(&rating, meta(Uuid::new_v4()), |_| Ok(vec![rated(3, None)])).await.expect("stored").expect("rated");
    let retried = Uuid::new_v4();
    let first = b
        .execute(&rating, meta(retried), |history| Ok(vec![rated(4, current_stars(history))]))
        .await
        .expect("stored")
        .expect("rated");
    let again = a
        .execute(&rating, meta(retried), |history| Ok(vec![rated(4, current_stars(history))]))
        .await
        .expect("stored")
        .expect("answered");
    assert_eq!(again, first);
    assert_eq!(a.load(&rating).await.expect("loads").len(), 2, "the retry appended nothing");
}

#[tokio::test]
async fn a_history_longer_than_one_read_is_read_whole_and_in_order() {
    let store = store().await;
    let rating = some_rating();
    // Appended straight to the stream, pipelined: three reads' worth.
    let subject = store.subject(&rating);
    let mut acks = Vec::new();
    for i in 0..2_500u32 {
        let envelope = Envelope::new(meta(Uuid::new_v4()), vec![rated((i % 5 + 1) as u8, None)]);
        let payload = readstream_contracts::proto::events::v1::Envelope::from(&envelope).encode_to_vec();
        acks.push(store.jetstream().publish(subject.clone(), payload.into()).await.expect("sent"));
    }
    for ack in acks {
        ack.await.expect("stored");
    }
    let history = store.load(&rating).await.expect("loads");
    assert_eq!(history.len(), 2_500);
    assert!(history.windows(2).all(|pair| pair[0].position < pair[1].position));
    let accepted = store
        .execute(&rating, meta(Uuid::new_v4()), |history| Ok(vec![rated(1, current_stars(history))]))
        .await
        .expect("stored")
        .expect("rated");
    let history = store.load(&rating).await.expect("loads");
    assert_eq!(history.last().map(|s| s.position), Some(accepted.position));
    assert_eq!(previous_stars(&history).last(), Some(&Some(5)), "decided on the 2,500th rating");
}

/// A decider whose every rating tells how many came before it (its stars: that count mod 5, plus 1).
#[derive(Default)]
struct Counted(u8);

impl Decider for Counted {
    type Command = ();
    type Facts = ();
    type Event = RatingsEvent;
    type Error = Rejection;

    fn decide(&self, _: &(), _: &()) -> Result<Vec<RatingsEvent>, Rejection> {
        let stars = Stars::whole(self.0 % 5 + 1).expect("1 to 5 stars");
        Ok(vec![RatingsEvent::BookRated { reader_id: Uuid::nil(), book_id: Uuid::max(), stars, previous_stars: None }])
    }

    fn evolve(self, event: &RatingsEvent) -> Self {
        match event {
            RatingsEvent::BookRated { .. } => Counted(self.0 + 1),
            _ => self,
        }
    }
}

#[tokio::test]
async fn a_kept_state_is_evolved_by_every_message_whoever_appended_it() {
    let namespace = readstream_testkit::namespace();
    let (a, b) = (store_in(&namespace).await, store_in(&namespace).await);
    let rating = some_rating();
    for store in [&a, &a, &b, &a, &b, &b, &a] {
        store.decide::<Counted>(&rating, meta(Uuid::new_v4()), &(), &()).await.expect("stored").expect("accepted");
    }
    let history = a.load(&rating).await.expect("loads");
    let stars: Vec<Option<u8>> = history.iter().map(|stored| current_stars(std::slice::from_ref(stored))).collect();
    assert_eq!(stars, [1, 2, 3, 4, 5, 1, 2].map(Some), "each decided on a count of every rating before it");
}
