//! The ratings projection against the real NATS and Postgres `make test` started: each test
//! gets its own database (`#[sqlx::test]`) and namespace.

// A test's helpers panic on failure, like the test itself.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use prost::Message;
use readstream_contracts::{
    proto::live::v1 as live, ratings, subject::projection_position, ClearedStars, Envelope, Event, Metadata,
    RatingsEvent, ReadModel, Stars,
};
use readstream_eventstore::{EventStore, Stored, StreamSettings};
use readstream_projection::{Delivered, LiveUpdate, Projection, Runner};
use readstream_projector::ratings::Ratings;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

async fn store() -> (async_nats::Client, EventStore) {
    let client = async_nats::connect(readstream_testkit::nats_url()).await.expect("NATS is running");
    let store = EventStore::connect(client.clone(), &readstream_testkit::namespace(), StreamSettings::default())
        .await
        .expect("stream");
    (client, store)
}

fn runner(pool: &PgPool, client: &async_nats::Client, store: &EventStore) -> Runner<Ratings> {
    let ratings = Ratings { namespace: store.namespace().to_owned() };
    Runner::new(ratings, pool.clone(), store.clone(), client.clone())
}

/// The ratings projection, applying at most `.1` messages in one transaction.
struct InBatchesOf(Ratings, usize);

impl Projection for InBatchesOf {
    fn read_model(&self) -> ReadModel {
        self.0.read_model()
    }

    fn tables(&self) -> &'static [&'static str] {
        self.0.tables()
    }

    fn max_batch(&self) -> usize {
        self.1
    }

    async fn apply(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        self.0.apply(tx, batch).await
    }

    async fn forget_reader(&self, tx: &mut PgConnection, reader_id: Uuid) -> Result<(), sqlx::Error> {
        self.0.forget_reader(tx, reader_id).await
    }
}

/// Appends one first rating of `book` by each of `readers` fresh readers, stars cycling 1..5;
/// returns their positions in stream order.
async fn rate(store: &EventStore, book: Uuid, readers: usize) -> Vec<u64> {
    let appends = (0..readers).map(|i| async move {
        let reader_id = Uuid::now_v7();
        let meta = Metadata {
            occurred_at: Utc::now(),
            actor: Some(reader_id),
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            import_job: None,
        };
        let event = Event::Ratings(RatingsEvent::BookRated {
            reader_id,
            book_id: book,
            stars: Stars::whole((i % 5 + 1) as u8).expect("1 to 5 stars"),
            previous_stars: None,
        });
        let outcome = store.execute(&ratings::rating(reader_id, book), meta, |_| Ok(vec![event.clone()])).await;
        outcome.expect("stored").expect("accepted").position
    });
    let mut positions: Vec<u64> = futures::stream::iter(appends).buffer_unordered(200).collect().await;
    positions.sort_unstable();
    positions
}

/// The stored messages at these positions, as the projector receives them.
async fn read(store: &EventStore, positions: &[u64]) -> Vec<Delivered> {
    let stream = store.jetstream().get_stream(store.stream_name()).await.expect("stream");
    let mut history = Vec::new();
    for &position in positions {
        let message = stream.get_raw_message(position).await.expect("message");
        let envelope = Envelope::decode(&message.payload).expect("envelope");
        history.push(Delivered::new(message.subject.as_str(), Stored { position, envelope }));
    }
    history
}

/// A book's count, sum in quarter stars, and histogram.
async fn figures(pool: &PgPool, book: Uuid) -> (i64, i64, [i64; 5]) {
    let row = sqlx::query!(
        "SELECT ratings_count, quarter_stars_sum, stars_1, stars_2, stars_3, stars_4, stars_5
         FROM book_ratings WHERE book_id = $1",
        book
    )
    .fetch_one(pool)
    .await
    .expect("book_ratings row");
    (row.ratings_count, row.quarter_stars_sum, [row.stars_1, row.stars_2, row.stars_3, row.stars_4, row.stars_5])
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn redelivering_a_committed_batch_changes_nothing(pool: PgPool) {
    let (client, store) = store().await;
    let book = Uuid::now_v7();
    let history = read(&store, &rate(&store, book, 10).await).await;
    let runner = runner(&pool, &client, &store);

    let (first, rest) = history.split_at(6);
    assert_eq!(runner.apply_batch(first.to_vec()).await.expect("applied"), first[5].position);
    assert_eq!(figures(&pool, book).await, expected(first));

    // The same batch again, then one overlapping the committed part: only what is new counts.
    assert_eq!(runner.apply_batch(first.to_vec()).await.expect("applied"), first[5].position);
    assert_eq!(figures(&pool, book).await, expected(first));
    assert_eq!(runner.apply_batch(history.clone()).await.expect("applied"), history[9].position);
    assert_eq!(figures(&pool, book).await, (10, 4 * 30, [2, 2, 2, 2, 2]));
    assert_eq!(runner.apply_batch(rest.to_vec()).await.expect("applied"), history[9].position);
    assert_eq!(figures(&pool, book).await, (10, 4 * 30, [2, 2, 2, 2, 2]));
    assert_eq!(runner.checkpoint().await.expect("checkpoint"), history[9].position);
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn one_batch_takes_a_changed_rating_from_a_rated_book_and_gives_an_unrated_book_its_first(pool: PgPool) {
    let (client, store) = store().await;
    let (rated, unrated) = (Uuid::now_v7(), Uuid::now_v7());
    let (ana, ben) = (Uuid::now_v7(), Uuid::now_v7());
    let runner = runner(&pool, &client, &store);
    let first = rate_as(&store, ana, rated, 5, None).await;
    runner.apply_batch(read(&store, &[first]).await).await.expect("applied");

    // The rated book's delta takes a star from its 5s (negative, on a row that exists); the
    // unrated book has no row until this batch.
    let changed = rate_as(&store, ana, rated, 3, Some(5)).await;
    let other = rate_as(&store, ben, unrated, 4, None).await;
    assert_eq!(runner.apply_batch(read(&store, &[changed, other]).await).await.expect("applied"), other);

    assert_eq!(figures(&pool, rated).await, (1, 4 * 3, [0, 0, 1, 0, 0]));
    assert_eq!(figures(&pool, unrated).await, (1, 4 * 4, [0, 0, 0, 1, 0]));
    assert!(dead_letters(&pool).await.is_empty());
}

/// The figures first ratings add up to, counted straight from the events.
fn expected(batch: &[Delivered]) -> (i64, i64, [i64; 5]) {
    let mut figures = (0, 0, [0; 5]);
    for event in batch.iter().flat_map(|d| d.envelope.as_ref().expect("readable").events.iter()) {
        if let Event::Ratings(RatingsEvent::BookRated { stars, previous_stars: None, .. }) = event.event {
            figures.0 += 1;
            figures.1 += i64::from(stars.quarters());
            figures.2[usize::from(stars.rounded()) - 1] += 1;
        }
    }
    figures
}

/// Waits for the projection to announce `target`, reading the checkpoint first.
async fn wait_for(runner: &Runner<Ratings>, notices: &mut async_nats::Subscriber, target: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while runner.checkpoint().await.expect("checkpoint") < target {
        let notice =
            tokio::time::timeout_at(deadline, notices.next()).await.expect("projection stalled").expect("subscribed");
        if live::ProjectionPosition::decode(notice.payload).expect("notice").position >= target {
            break;
        }
    }
}

/// A subscription to `subject` that the server has: nothing published after this returns is
/// missed.
async fn subscribed(client: &async_nats::Client, subject: String) -> async_nats::Subscriber {
    let subscription = client.subscribe(subject).await.expect("subscribe");
    client.flush().await.expect("flush");
    subscription
}

/// Runs the projection from its checkpoint until it has applied `last`, then stops it.
async fn run_until(pool: &PgPool, client: &async_nats::Client, store: &EventStore, last: u64) {
    let mut notices = subscribed(client, projection_position(store.namespace(), ReadModel::Ratings)).await;
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(runner(pool, client, store).run(shutdown.clone()));
    wait_for(&runner(pool, client, store), &mut notices, last).await;
    shutdown.cancel();
    run.await.expect("stopped cleanly").expect("no fatal error");
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn a_projector_stopped_mid_run_and_restarted_ends_with_exact_counts(pool: PgPool) {
    let (client, store) = store().await;
    let book = Uuid::now_v7();
    let last = *rate(&store, book, 5_000).await.last().expect("events");
    let mut notices = subscribed(&client, projection_position(store.namespace(), ReadModel::Ratings)).await;

    let shutdown = CancellationToken::new();
    let first_run = tokio::spawn(runner(&pool, &client, &store).run(shutdown.clone()));
    notices.next().await.expect("the first batch committed");
    shutdown.cancel();
    first_run.await.expect("stopped cleanly").expect("no fatal error");
    let stopped_at = runner(&pool, &client, &store).checkpoint().await.expect("checkpoint");
    assert!(stopped_at > 0);

    let shutdown = CancellationToken::new();
    let second_run = tokio::spawn(runner(&pool, &client, &store).run(shutdown.clone()));
    wait_for(&runner(&pool, &client, &store), &mut notices, last).await;
    shutdown.cancel();
    second_run.await.expect("stopped cleanly").expect("no fatal error");

    assert_eq!(figures(&pool, book).await, (5_000, 4 * 15_000, [1_000; 5]));
    let ratings: i64 = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM ratings WHERE book_id = $1"#, book)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(ratings, 5_000);
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn a_replay_comes_in_batches_within_its_projections_limit_announced_in_order_each_update_first(pool: PgPool) {
    let (client, store) = store().await;
    let book = Uuid::now_v7();
    let last = *rate(&store, book, 5_000).await.last().expect("events");
    // One subscription for both subjects: NATS keeps their order as published.
    let mut announced = subscribed(&client, readstream_contracts::subject::every_live(store.namespace())).await;
    let (book_subject, position_subject) = (
        readstream_contracts::ratings::live_book_ratings(store.namespace(), book),
        projection_position(store.namespace(), ReadModel::Ratings),
    );
    let shutdown = CancellationToken::new();
    let most = 2_000;
    let ratings = InBatchesOf(Ratings { namespace: store.namespace().to_owned() }, most);
    // The checkpoint's row held, the runner's first batch waits while it reads the stream ahead:
    // once the server has delivered twice `most`, more than `most` are waiting for one batch.
    let mut holder = pool.begin().await.expect("a transaction");
    sqlx::query("SELECT position FROM projection_checkpoints WHERE name = 'ratings' FOR UPDATE")
        .execute(&mut *holder)
        .await
        .expect("the checkpoint's row held");
    let run = tokio::spawn(Runner::new(ratings, pool.clone(), store.clone(), client.clone()).run(shutdown.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let stream = store.jetstream().get_stream(store.stream_name()).await.expect("the stream");
    loop {
        let consumers: Vec<_> = stream.consumers().collect().await;
        let delivered = consumers.into_iter().flatten().map(|info| info.delivered.stream_sequence).max();
        if delivered >= Some(2 * most as u64) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the runner read the stream in time");
        tokio::task::yield_now().await;
    }
    holder.rollback().await.expect("the row let go");
    let (mut batches, mut updated_to, mut previous) = (0, None::<u64>, 0);
    loop {
        let message =
            tokio::time::timeout_at(deadline, announced.next()).await.expect("announced in time").expect("subscribed");
        if message.subject.as_str() == book_subject {
            let update = live::BookRatingsChanged::decode(message.payload).expect("an update");
            assert!(updated_to.is_none(), "two updates of one book in one batch");
            updated_to = Some(update.position);
        } else if message.subject.as_str() == position_subject {
            let position = live::ProjectionPosition::decode(message.payload).expect("a notice").position;
            // Every batch here rates the book: its update came first, at the batch's position.
            assert_eq!(updated_to.take(), Some(position), "the update precedes its batch's position");
            assert!(position > previous, "positions announced in order: {previous}, then {position}");
            assert!(position - previous <= most as u64, "a batch of {} messages, beyond {most}", position - previous);
            (batches, previous) = (batches + 1, position);
            if position == last {
                break;
            }
        }
    }
    shutdown.cancel();
    run.await.expect("stopped cleanly").expect("no fatal error");
    assert!(batches >= 3, "5,000 messages in batches of at most {most}, {batches} announced");
    assert_eq!(figures(&pool, book).await.0, 5_000);
}

/// Records an event of `reader`'s rating of `book`; returns its position.
async fn record(store: &EventStore, reader_id: Uuid, book_id: Uuid, event: Event) -> u64 {
    let meta = Metadata {
        occurred_at: Utc::now(),
        actor: Some(reader_id),
        command_id: Uuid::new_v4(),
        correlation_id: Uuid::new_v4(),
        import_job: None,
    };
    let outcome = store.execute(&ratings::rating(reader_id, book_id), meta, |_| Ok(vec![event.clone()])).await;
    outcome.expect("stored").expect("accepted").position
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn quarter_stars_add_up_exactly_and_a_version_1_clear_takes_away_what_the_rating_added(pool: PgPool) {
    let (client, store) = store().await;
    let book = Uuid::now_v7();
    let (ana, ben) = (Uuid::now_v7(), Uuid::now_v7());
    let runner = runner(&pool, &client, &store);
    let quarters = |quarters| Stars::from_quarters(quarters).expect("4 to 20 quarters");
    let rated = |reader_id, stars, previous_stars| {
        Event::Ratings(RatingsEvent::BookRated { reader_id, book_id: book, stars: quarters(stars), previous_stars })
    };
    // 3.75 and 3.25: 28 quarters, one in the 4 bucket and one in the 3.
    let first = record(&store, ana, book, rated(ana, 15, None)).await;
    let second = record(&store, ben, book, rated(ben, 13, None)).await;
    runner.apply_batch(read(&store, &[first, second]).await).await.expect("applied");
    assert_eq!(figures(&pool, book).await, (2, 28, [0, 0, 1, 1, 0]));

    // A clear as version 1 wrote it: 3.75 rounded to 4. The row of Ana's rating says 3.75.
    let rounded = ClearedStars::Rounded(4);
    let event = Event::Ratings(RatingsEvent::RatingCleared { reader_id: ana, book_id: book, previous_stars: rounded });
    let clear = record(&store, ana, book, event).await;
    runner.apply_batch(read(&store, &[clear]).await).await.expect("applied");
    assert_eq!(figures(&pool, book).await, (1, 13, [0, 0, 1, 0, 0]));

    // Version 2 carries the exact stars: the book is back to nothing at all.
    let exact = ClearedStars::Exact(quarters(13));
    let event = Event::Ratings(RatingsEvent::RatingCleared { reader_id: ben, book_id: book, previous_stars: exact });
    let clear = record(&store, ben, book, event).await;
    runner.apply_batch(read(&store, &[clear]).await).await.expect("applied");
    assert_eq!(figures(&pool, book).await, (0, 0, [0; 5]));
    assert!(dead_letters(&pool).await.is_empty());
}

/// Records `reader`'s rating of `book` as `stars` (after `previous`); returns its position.
async fn rate_as(store: &EventStore, reader_id: Uuid, book_id: Uuid, stars: u8, previous_stars: Option<u8>) -> u64 {
    let whole = |stars| Stars::whole(stars).expect("1 to 5 stars");
    let event = Event::Ratings(RatingsEvent::BookRated {
        reader_id,
        book_id,
        stars: whole(stars),
        previous_stars: previous_stars.map(whole),
    });
    record(store, reader_id, book_id, event).await
}

/// The dead letters of the ratings projection: (position, error), oldest first.
async fn dead_letters(pool: &PgPool) -> Vec<(u64, String)> {
    sqlx::query!("SELECT position, error FROM dead_letters WHERE projection = 'ratings' ORDER BY position")
        .fetch_all(pool)
        .await
        .expect("dead letters")
        .into_iter()
        .map(|row| (row.position as u64, row.error))
        .collect()
}

/// Makes the database refuse every rating of `book`: a fault in applying its messages.
async fn refuse_ratings_of(pool: &PgPool, book: Uuid) {
    sqlx::raw_sql(&format!(
        "CREATE FUNCTION refuse_book() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.book_id = '{book}' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
         CREATE TRIGGER refuse_book BEFORE INSERT OR UPDATE ON ratings FOR EACH ROW EXECUTE FUNCTION refuse_book();"
    ))
    .execute(pool)
    .await
    .expect("trigger");
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn a_message_that_cannot_be_applied_is_dead_lettered_and_the_rest_of_its_batch_goes_on(pool: PgPool) {
    let (client, store) = store().await;
    let (poisoned, healthy, reader) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    refuse_ratings_of(&pool, poisoned).await;
    let first = rate_as(&store, reader, poisoned, 2, None).await;
    let healthy_positions = rate(&store, healthy, 5).await;
    // A later rating on the failed message's subject must wait behind it, not overtake it.
    let second = rate_as(&store, reader, poisoned, 4, Some(2)).await;
    let positions: Vec<u64> = [vec![first], healthy_positions, vec![second]].concat();
    let batch = read(&store, &positions).await;
    let runner = runner(&pool, &client, &store);

    assert_eq!(runner.apply_batch(batch).await.expect("applied"), second, "the checkpoint moves past both");
    assert_eq!(figures(&pool, healthy).await, (5, 4 * 15, [1; 5]), "the rest of the batch is applied");
    let letters = dead_letters(&pool).await;
    assert_eq!(letters.iter().map(|l| l.0).collect::<Vec<_>>(), [first, second]);
    assert!(letters[0].1.contains("refused by the test"), "{letters:?}");
    assert!(letters[1].1.starts_with("held back"), "{letters:?}");

    // Retrying before the fix changes nothing but the count of attempts.
    assert_eq!(runner.retry_dead_letters().await.expect("retried"), 0);
    assert_eq!(dead_letters(&pool).await.len(), 2);

    sqlx::raw_sql("DROP TRIGGER refuse_book ON ratings").execute(&pool).await.expect("fixed");
    assert_eq!(runner.retry_dead_letters().await.expect("retried"), 2);
    assert!(dead_letters(&pool).await.is_empty());
    assert_eq!(figures(&pool, poisoned).await, (1, 4 * 4, [0, 0, 0, 1, 0]), "applied in stream order");
    assert_eq!(runner.checkpoint().await.expect("checkpoint"), second);
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn a_message_that_is_not_an_envelope_is_dead_lettered_not_skipped(pool: PgPool) {
    let (client, store) = store().await;
    let book = Uuid::now_v7();
    let subject = store.subject(&ratings::rating(Uuid::now_v7(), book));
    let garbage = store.jetstream().publish(subject, vec![0xff, 0x01, 0x02].into()).await.expect("sent");
    let garbage = garbage.await.expect("stored").sequence;
    let last = *rate(&store, book, 5).await.last().expect("events");
    run_until(&pool, &client, &store, last).await;

    assert_eq!(figures(&pool, book).await, (5, 4 * 15, [1; 5]));
    let letters = dead_letters(&pool).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].0, garbage);
    assert!(letters[0].1.starts_with("cannot be read"), "{letters:?}");
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn a_checkpoint_beyond_the_stream_stops_the_projection_until_a_rebuild_recovers_it(pool: PgPool) {
    let (client, store) = store().await;
    let last = *rate(&store, Uuid::now_v7(), 1).await.last().expect("events");
    sqlx::query!("UPDATE projection_checkpoints SET position = $1 WHERE name = 'ratings'", (last + 100) as i64)
        .execute(&pool)
        .await
        .expect("checkpoint");

    let run = runner(&pool, &client, &store).run(CancellationToken::new());
    let err = tokio::time::timeout(Duration::from_secs(30), run).await.expect("stops at once").expect_err("refused");
    let message = err.to_string();
    assert!(message.contains(&format!("up to position {}", last + 100)), "{message}");
    assert!(message.contains("REBUILD_PROJECTIONS=ratings"), "{message}");
    assert_eq!(runner(&pool, &client, &store).checkpoint().await.expect("checkpoint"), last + 100, "nothing applied");

    // The way out it names: a rebuild, caught up at the stream's end, and the runner goes on.
    let rebuilt = runner(&pool, &client, &store).rebuild(CancellationToken::new());
    let rebuilt = tokio::time::timeout(Duration::from_secs(30), rebuilt).await.expect("rebuilt");
    assert_eq!(rebuilt.expect("rebuilt"), Some(last));
    assert_eq!(runner(&pool, &client, &store).checkpoint_within_stream().await.expect("within the stream"), last);
    let book = Uuid::now_v7();
    let next = *rate(&store, book, 5).await.last().expect("more events");
    run_until(&pool, &client, &store, next).await;
    assert_eq!(figures(&pool, book).await, (5, 4 * 15, [1; 5]), "nothing skipped after the rebuild");
}

async fn ratings_rows(pool: &PgPool, book: Uuid) -> i64 {
    sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM ratings WHERE book_id = $1"#, book)
        .fetch_one(pool)
        .await
        .expect("count")
}

/// Holds the ratings projection's checkpoint row, as its runner does with a batch in hand: a
/// rebuild catches up, then waits to swap its tables in until the transaction ends.
async fn hold_the_checkpoint(pool: &PgPool) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut holding = pool.begin().await.expect("a transaction");
    sqlx::query("SELECT position FROM projection_checkpoints WHERE name = 'ratings' FOR UPDATE")
        .execute(&mut *holding)
        .await
        .expect("the checkpoint row");
    holding
}

async fn rebuild_checkpoint(pool: &PgPool) -> Option<i64> {
    sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = 'ratings:rebuild'")
        .fetch_optional(pool)
        .await
        .expect("checkpoints")
}

async fn until_rebuilt_to(pool: &PgPool, last: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while rebuild_checkpoint(pool).await != Some(last as i64) {
        assert!(tokio::time::Instant::now() < deadline, "the rebuild did not reach {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The rebuild's own copy of a book's figures.
async fn fresh_figures(pool: &PgPool, book: Uuid) -> (i64, i64) {
    sqlx::query_as("SELECT ratings_count, quarter_stars_sum FROM rebuild_ratings.book_ratings WHERE book_id = $1")
        .bind(book)
        .fetch_one(pool)
        .await
        .expect("the fresh copy's row")
}

async fn rebuild_schemas(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname IN ('rebuild_ratings', 'retired_ratings')")
        .fetch_one(pool)
        .await
        .expect("schemas")
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn a_rebuild_fills_fresh_tables_while_the_old_ones_serve_and_swaps_them_in_once_caught_up(pool: PgPool) {
    let (client, store) = store().await;
    let book = Uuid::now_v7();
    let last = *rate(&store, book, 200).await.last().expect("events");
    let mut notices = subscribed(&client, projection_position(store.namespace(), ReadModel::Ratings)).await;
    let running = CancellationToken::new();
    let live = tokio::spawn(runner(&pool, &client, &store).run(running.clone()));
    wait_for(&runner(&pool, &client, &store), &mut notices, last).await;
    // Figures gone wrong (a bug since fixed, say), which the rebuild is to set right.
    sqlx::query("UPDATE book_ratings SET ratings_count = 999 WHERE book_id = $1")
        .bind(book)
        .execute(&pool)
        .await
        .expect("drifted");

    let holding = hold_the_checkpoint(&pool).await;
    let rebuild = tokio::spawn(runner(&pool, &client, &store).rebuild(CancellationToken::new()));
    until_rebuilt_to(&pool, last).await;
    assert_eq!(figures(&pool, book).await, (999, 4 * 600, [40; 5]), "the old tables serve while it rebuilds");
    assert_eq!(fresh_figures(&pool, book).await, (200, 4 * 600));
    assert!(!rebuild.is_finished(), "swapped in under a batch in hand");

    holding.rollback().await.expect("released");
    let swapped = tokio::time::timeout(Duration::from_secs(10), rebuild).await.expect("swapped in once released");
    assert_eq!(swapped.expect("joined").expect("rebuilt"), Some(last));
    assert_eq!(figures(&pool, book).await, (200, 4 * 600, [40; 5]));
    assert_eq!(runner(&pool, &client, &store).checkpoint().await.expect("checkpoint"), last);
    assert_eq!((rebuild_schemas(&pool).await, rebuild_checkpoint(&pool).await), (0, None), "nothing left behind");

    // The projection's runner goes on, on the new tables.
    let last = *rate(&store, book, 50).await.last().expect("more events");
    wait_for(&runner(&pool, &client, &store), &mut notices, last).await;
    assert_eq!(figures(&pool, book).await, (250, 4 * 750, [50; 5]));
    running.cancel();
    live.await.expect("stopped cleanly").expect("no fatal error");
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn a_second_rebuild_waits_for_the_first_and_then_rebuilds_again(pool: PgPool) {
    let (client, store) = store().await;
    let book = Uuid::now_v7();
    let last = *rate(&store, book, 100).await.last().expect("events");
    run_until(&pool, &client, &store, last).await;

    let holding = hold_the_checkpoint(&pool).await;
    let first = tokio::spawn(runner(&pool, &client, &store).rebuild(CancellationToken::new()));
    until_rebuilt_to(&pool, last).await;
    let second = tokio::spawn(runner(&pool, &client, &store).rebuild(CancellationToken::new()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!second.is_finished(), "the second rebuild did not wait for the first");
    assert_eq!(fresh_figures(&pool, book).await, (100, 4 * 300), "the first one's copy untouched");

    holding.rollback().await.expect("released");
    for rebuild in [first, second] {
        let rebuilt = tokio::time::timeout(Duration::from_secs(30), rebuild).await.expect("rebuilt in turn");
        assert_eq!(rebuilt.expect("joined").expect("rebuilt"), Some(last));
    }
    assert_eq!(figures(&pool, book).await, (100, 4 * 300, [20; 5]));
    assert_eq!(ratings_rows(&pool, book).await, 100);
    assert_eq!((rebuild_schemas(&pool).await, rebuild_checkpoint(&pool).await), (0, None));
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn a_runner_whose_checkpoint_is_rewound_under_it_follows_the_stream_again_from_there(pool: PgPool) {
    let (client, store) = store().await;
    let book = Uuid::now_v7();
    let last = *rate(&store, book, 50).await.last().expect("events");
    let mut notices = subscribed(&client, projection_position(store.namespace(), ReadModel::Ratings)).await;
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(runner(&pool, &client, &store).run(shutdown.clone()));
    wait_for(&runner(&pool, &client, &store), &mut notices, last).await;

    // What a rebuild by hand, or an older projector's reset, does without the lock.
    sqlx::raw_sql(
        "TRUNCATE book_ratings, ratings; UPDATE projection_checkpoints SET position = 0 WHERE name = 'ratings'",
    )
    .execute(&pool)
    .await
    .expect("rewound");
    let last = *rate(&store, book, 50).await.last().expect("more events");
    wait_for(&runner(&pool, &client, &store), &mut notices, last).await;
    shutdown.cancel();
    run.await.expect("stopped cleanly").expect("no fatal error");
    assert_eq!(figures(&pool, book).await, (100, 4 * 300, [20; 5]), "every event once, none skipped");
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn a_projection_follows_the_stream_again_as_soon_as_nats_is_back(pool: PgPool) {
    let nats = readstream_testkit::own_nats::OwnNats::start().expect("a NATS server");
    let client = async_nats::connect(nats.url()).await.expect("NATS is running");
    let store = EventStore::connect(client.clone(), &readstream_testkit::namespace(), StreamSettings::default())
        .await
        .expect("stream");
    let book = Uuid::now_v7();
    let first = *rate(&store, book, 10).await.last().expect("events");
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(runner(&pool, &client, &store).run(shutdown.clone()));
    let following = runner(&pool, &client, &store);
    while following.checkpoint().await.expect("checkpoint") < first {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The restarted server has lost the runner's consumer, which lived in its memory.
    nats.kill().expect("killed");
    nats.start_again().expect("started again");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while client.connection_state() != async_nats::connection::State::Connected {
        assert!(tokio::time::Instant::now() < deadline, "the client did not reconnect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The first reads and appends may time out while JetStream recovers its stream.
    let mut last = 0;
    for stars in 1..=5u8 {
        let reader_id = Uuid::now_v7();
        let stars = Stars::whole(stars).expect("1 to 5 stars");
        let event = Event::Ratings(RatingsEvent::BookRated { reader_id, book_id: book, stars, previous_stars: None });
        let meta = Metadata {
            occurred_at: Utc::now(),
            actor: Some(reader_id),
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            import_job: None,
        };
        last = loop {
            match store.execute(&ratings::rating(reader_id, book), meta.clone(), |_| Ok(vec![event.clone()])).await {
                Ok(outcome) => break outcome.expect("accepted").position,
                Err(err) => {
                    assert!(tokio::time::Instant::now() < deadline, "no append after the restart: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
    }

    // Waiting for the lost consumer to miss two heartbeats takes about 10 s; a runner that
    // watches its connection follows again within a second or two.
    let appended = tokio::time::Instant::now();
    while following.checkpoint().await.expect("checkpoint") < last {
        assert!(appended.elapsed() < Duration::from_secs(5), "the projection did not follow the stream again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(figures(&pool, book).await.0, 15);
    shutdown.cancel();
    run.await.expect("stopped cleanly").expect("no fatal error");
}

/// Retries `append` while a new cluster elects its leaders (the stream is not writable yet).
async fn in_a_new_cluster<T, F, Fut>(mut append: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, readstream_eventstore::StoreError>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match append().await {
            Ok(done) => return done,
            Err(err) => {
                assert!(tokio::time::Instant::now() < deadline, "the cluster did not take the request: {err}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// One rating by a new reader; its position.
async fn rate_once(store: &EventStore, book: Uuid) -> Result<u64, readstream_eventstore::StoreError> {
    let reader_id = Uuid::now_v7();
    let meta = Metadata {
        occurred_at: Utc::now(),
        actor: Some(reader_id),
        command_id: Uuid::new_v4(),
        correlation_id: Uuid::new_v4(),
        import_job: None,
    };
    let stars = Stars::whole(4).expect("1 to 5 stars");
    let event = Event::Ratings(RatingsEvent::BookRated { reader_id, book_id: book, stars, previous_stars: None });
    let outcome = store.execute(&ratings::rating(reader_id, book), meta, |_| Ok(vec![event.clone()])).await?;
    Ok(outcome.expect("accepted").position)
}

/// A runner's consumer lives in one cluster node's memory. When that node dies while the
/// runner's connection is elsewhere, nothing tells the client but two missed heartbeats (15 s
/// each, async-nats's ordered consumer); the runner sees the stream stand past what its consumer
/// delivered and follows it again on a new consumer: within one round of elections (if the node
/// led anything) and a second or two, where the heartbeats take 30 s.
#[sqlx::test(migrations = "../../schema/migrations")]
async fn a_projection_follows_the_stream_again_soon_after_the_node_holding_its_consumer_dies(pool: PgPool) {
    use readstream_testkit::own_nats::OwnCluster;
    let cluster = OwnCluster::start().expect("a NATS cluster");
    let namespace = readstream_testkit::namespace();
    let settings = StreamSettings { replicas: 3 };
    let seeds = async_nats::connect(cluster.urls()).await.expect("the cluster is running");
    let store = in_a_new_cluster(|| EventStore::connect(seeds.clone(), &namespace, settings)).await;
    let book = Uuid::now_v7();
    // The readers' keys bucket, made with the stream, elects its leader too.
    let mut first = 0;
    for _ in 0..10 {
        first = in_a_new_cluster(|| rate_once(&store, book)).await;
    }

    // The node to kill holds the runner's consumer and not the runner's connection (whose
    // reconnect would tell the runner at once): each try connects to another node, until the
    // consumer lands elsewhere.
    let following = runner(&pool, &store.jetstream().client(), &store);
    let mut placed = None;
    for attempt in 0..30 {
        let node = OwnCluster::NODES[attempt % OwnCluster::NODES.len()];
        let client = async_nats::connect(cluster.url(node).expect("url")).await.expect("a node");
        let store = EventStore::connect(client.clone(), &namespace, settings).await.expect("stream");
        let shutdown = CancellationToken::new();
        let run = tokio::spawn(runner(&pool, &client, &store).run(shutdown.clone()));
        while following.checkpoint().await.expect("checkpoint") < first {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut consumers = store.stream().consumers();
        let host = consumers.next().await.expect("the runner's consumer").expect("info").cluster.and_then(|c| c.leader);
        match host {
            Some(host) if host != node => {
                placed = Some((host, shutdown, run));
                break;
            }
            _ => {
                shutdown.cancel();
                run.await.expect("stopped cleanly").expect("no fatal error");
            }
        }
    }
    let (host, shutdown, run) = placed.expect("a consumer on a node the runner is not connected to");

    // Whatever else the node led (the stream, the keys bucket, the meta group that creates
    // consumers) elects a new leader first: NATS waits 4 to 9 s for a dead leader.
    cluster.kill(&host).expect("killed");
    let killed = tokio::time::Instant::now();
    let mut last = 0;
    for _ in 0..5 {
        last = in_a_new_cluster(|| rate_once(&store, book)).await;
    }
    while following.checkpoint().await.expect("checkpoint") < last {
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "the projection did not follow the stream again within 15 s of its consumer's node's death"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(figures(&pool, book).await.0, 15, "every event once");
    shutdown.cancel();
    run.await.expect("stopped cleanly").expect("no fatal error");
}

#[sqlx::test(migrations = "../../schema/migrations")]
async fn the_projectors_commits_do_not_wait_for_the_disk(pool: PgPool) {
    use clap::Parser;
    // The test server commits asynchronously; this database, as a durable server would not.
    let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&pool).await.expect("name");
    sqlx::query(&format!("ALTER DATABASE \"{database}\" SET synchronous_commit = on"))
        .execute(&pool)
        .await
        .expect("set");
    let url = sqlx::ConnectOptions::to_url_lossy(&*pool.connect_options()).to_string();
    let config = readstream_projector::Config::parse_from(["readstream-projector", "--database-url", &url]);
    let projectors = readstream_runtime::db::connect_and_migrate(
        &readstream_projector::database(&config),
        &CancellationToken::new(),
    )
    .await
    .expect("the projector's pool");
    let shown: String = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&projectors).await.expect("shown");
    assert_eq!(shown, "off", "a projector's last batches are applied again from the stream after a crash of Postgres");
}
