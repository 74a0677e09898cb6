//! Faults a client meets: a message a projection cannot apply is set aside (a dead letter) while
//! everything else goes on, and one a command service cannot read is named in a coded error;
//! an event stored by an older version is read as today's.

use anyhow::Context as _;
use readstream_e2e::System;
use serde_json::json;

use super::{add_seed_book, histogram, position, rate, ratings_at, sign_up, RATE};

const DEAD_LETTERS: &str = "{ deadLetters { projection position subject error attempts } }";
const RETRY: &str = "mutation { retryDeadLetters { applied remaining } }";

/// The gateway's `/readyz` on its health address, line by line.
async fn readyz(system: &System) -> anyhow::Result<(u16, String)> {
    let response = reqwest::get(format!("http://{}/readyz", system.gateway_health)).await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// The projector's `/readyz` line for one projection.
async fn projector_readyz(system: &System, projection: &str) -> anyhow::Result<(u16, String)> {
    let response = reqwest::get(format!("http://{}/readyz", system.projector_health)).await?;
    let status = response.status().as_u16();
    let body = response.text().await?;
    let prefix = format!("projection {projection}: ");
    let line =
        body.lines().find(|line| line.starts_with(&prefix)).with_context(|| format!("no {projection}: {body}"))?;
    let degraded = body.lines().find(|line| line.starts_with("projections: degraded")).unwrap_or_default();
    Ok((status, format!("{line}|{degraded}")))
}

#[tokio::test]
async fn a_rating_the_projection_cannot_apply_is_set_aside_until_an_admin_retries_it() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (poisoned, _) = add_seed_book(&system).await?;
    let (healthy, _) = add_seed_book(&system).await?;
    let (ann, _) = sign_up(&system, "ann").await?;
    let database = sqlx::PgPool::connect(&system.database_url).await?;
    sqlx::raw_sql(&format!(
        "CREATE FUNCTION refuse_book() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.book_id = '{poisoned}' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
         CREATE TRIGGER refuse_book BEFORE INSERT OR UPDATE ON ratings FOR EACH ROW EXECUTE FUNCTION refuse_book();"
    ))
    .execute(&database)
    .await?;
    assert_eq!(readyz(&system).await?, (200, "postgres: ok\nnats: ok\nended sessions: ok\n".to_owned()));
    // The public address says ready or not, and nothing of the dead letters or the metrics.
    let public = reqwest::get(format!("{}/readyz", system.base_url)).await?;
    assert_eq!((public.status().as_u16(), public.text().await?), (200, "ready\n".to_owned()));
    assert_eq!(reqwest::get(format!("{}/metrics", system.base_url)).await?.status().as_u16(), 404);

    // The mutation is acknowledged and read-your-writes passes it: the projection moved on.
    let at = rate(&ann, &poisoned, 4).await?;
    assert_eq!(ratings_at(&ann, &poisoned, at).await?["count"], json!(0), "set aside, not applied");
    let at = rate(&ann, &healthy, 5).await?;
    assert_eq!(ratings_at(&ann, &healthy, at).await?["count"], json!(1), "the projection goes on");

    let (status, body) = readyz(&system).await?;
    assert_eq!(status, 200, "degraded, still serving: {body}");
    assert!(body.contains("projections: degraded, 1 dead letters"), "{body}");
    // The projector says which projection holds it, and that it is at the head all the same.
    let (status, line) = projector_readyz(&system, "ratings").await?;
    assert_eq!(status, 200, "{line}");
    assert_eq!(
        line,
        format!("projection ratings: at {at} of {at}, 0 behind, 0.0 s, 1 dead letters|projections: degraded, 1 dead letters")
    );
    assert_eq!(ann.request(DEAD_LETTERS, json!({})).await?.error_code(), Some("PERMISSION_DENIED"));
    assert_eq!(ann.request(RETRY, json!({})).await?.error_code(), Some("PERMISSION_DENIED"));
    // The configured first admin holds no role until it grants itself one.
    let admin = system.librarian().await?;
    let admin_id = admin.request("{ viewer { id } }", json!({})).await?.data()?["viewer"]["id"].clone();
    let grant = "mutation($r: ID!) { grantRole(readerId: $r, role: ADMIN) { position } }";
    let granted = position(&admin.request(grant, json!({ "r": admin_id })).await?.data()?["grantRole"])?;
    let listed = admin.request_at(DEAD_LETTERS, json!({}), granted).await?;
    let letters = listed.data()?["deadLetters"].as_array().context("a list")?.clone();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["projection"], json!("ratings"));
    assert!(letters[0]["error"].as_str().is_some_and(|e| e.contains("refused by the test")), "{letters:?}");
    let of = "query($p: String) { deadLetters(projection: $p) { position } }";
    let of_ratings = admin.request(of, json!({ "p": "ratings" })).await?;
    assert_eq!(of_ratings.data()?["deadLetters"].as_array().map(Vec::len), Some(1));
    for unknown in ["nope", "ratings\u{0}", "RATINGS", ""] {
        let refused = admin.request(of, json!({ "p": unknown })).await?;
        assert_eq!(refused.error_code(), Some("INVALID_ARGUMENT"), "{unknown:?}: {:?}", refused.0);
    }

    let before_fix = admin.request(RETRY, json!({})).await?;
    assert_eq!(before_fix.data()?["retryDeadLetters"], json!({ "applied": 0, "remaining": 1 }));
    sqlx::raw_sql("DROP TRIGGER refuse_book ON ratings").execute(&database).await?;
    let after_fix = admin.request(RETRY, json!({})).await?;
    assert_eq!(after_fix.data()?["retryDeadLetters"], json!({ "applied": 1, "remaining": 0 }));
    let ratings = ratings_at(&ann, &poisoned, 0).await?;
    assert_eq!((&ratings["count"], &ratings["average"]), (&json!(1), &json!(4.0)));
    assert_eq!(readyz(&system).await?, (200, "postgres: ok\nnats: ok\nended sessions: ok\n".to_owned()));
    system.stop().await
}

#[tokio::test]
async fn a_history_message_a_command_service_cannot_read_is_named_in_a_coded_error() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ann, ann_id) = sign_up(&system, "ann").await?;
    let (ann_id, book_id) = (uuid::Uuid::parse_str(&ann_id)?, uuid::Uuid::parse_str(&book)?);
    // What a newer version's event, or a corrupted one, looks like to this version.
    let subject = readstream_contracts::subject::events(
        &system.namespace,
        &readstream_contracts::ratings::rating(ann_id, book_id),
    );
    let js = async_nats::jetstream::new(async_nats::connect(readstream_testkit::nats_url()).await?);
    let stored = js.publish(subject, vec![0xff, 0x01, 0x02].into()).await?.await?.sequence;

    let refused = ann.request(RATE, json!({ "book": book, "stars": 3 })).await?;
    let message = refused.0.to_string();
    assert_eq!(refused.error_code(), Some("INTERNAL"), "{message}");
    assert!(message.contains(&format!("stream message {stored}")), "{message}");
    system.stop().await
}

#[tokio::test]
async fn a_rating_version_1_stored_in_whole_stars_is_read_by_the_service_and_the_projections() -> anyhow::Result<()> {
    use prost::Message as _;
    use readstream_contracts::proto::events::v1 as pb;

    let system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ann, ann_id) = sign_up(&system, "ann").await?;
    let (ann_id, book_id) = (uuid::Uuid::parse_str(&ann_id)?, uuid::Uuid::parse_str(&book)?);
    // Four stars, as version 1 stored a rating: `BookRated` in whole stars. Today's writes are
    // `BookRatedV2`, in quarter stars.
    let command_id = uuid::Uuid::now_v7().to_string();
    let version_1 = pb::Envelope {
        occurred_at_micros: chrono::Utc::now().timestamp_micros(),
        actor: ann_id.to_string(),
        command_id: command_id.clone(),
        correlation_id: command_id,
        import_job_id: String::new(),
        events: vec![pb::Event {
            event_id: uuid::Uuid::now_v7().to_string(),
            sealed: None,
            body: Some(pb::event::Body::BookRated(pb::BookRated {
                reader_id: ann_id.to_string(),
                book_id: book_id.to_string(),
                stars: 4,
                previous_stars: 0,
            })),
        }],
    };
    let subject = readstream_contracts::subject::events(
        &system.namespace,
        &readstream_contracts::ratings::rating(ann_id, book_id),
    );
    let js = async_nats::jetstream::new(async_nats::connect(readstream_testkit::nats_url()).await?);
    let stored = js.publish(subject, version_1.encode_to_vec().into()).await?.await?.sequence;

    // The projections count it as four stars.
    let ratings = ratings_at(&ann, &book, stored).await?;
    assert_eq!((ratings["count"].clone(), ratings["average"].clone()), (json!(1), json!(4.0)), "{ratings}");
    // The ratings service reads it as ann's rating: four stars again changes nothing...
    assert_eq!(rate(&ann, &book, 4).await?, stored, "the same rating appends nothing");
    // ...and two stars replace it, so the projections take the four away.
    let at = rate(&ann, &book, 2).await?;
    let ratings = ratings_at(&ann, &book, at).await?;
    assert_eq!((ratings["count"].clone(), ratings["average"].clone()), (json!(1), json!(2.0)), "{ratings}");
    assert_eq!(histogram(&ratings), vec![(5, 0, 0), (4, 0, 0), (3, 0, 0), (2, 1, 100), (1, 0, 0)]);
    system.stop().await
}

#[tokio::test]
async fn a_projector_whose_checkpoint_lies_beyond_the_stream_recovers_by_a_rebuild() -> anyhow::Result<()> {
    let mut system = System::start().await?;
    let (book, _) = add_seed_book(&system).await?;
    let (ann, _) = sign_up(&system, "ann").await?;
    let at = rate(&ann, &book, 4).await?;
    ratings_at(&ann, &book, at).await?;
    // What the read models look like after NATS lost the stream's last messages.
    let database = sqlx::PgPool::connect(&system.database_url).await?;
    sqlx::query("UPDATE projection_checkpoints SET position = position + 1000 WHERE name = 'ratings'")
        .execute(&database)
        .await?;

    system.restart_projector_rebuilding(&["ratings"]).await?;
    let at = rate(&ann, &book, 2).await?;
    // Read-your-writes trusts the checkpoint, which said more than the stream holds until the
    // rebuild came in: wait for the projector to report the stream's head.
    let caught_up = format!("projection ratings: at {at} of {at}, 0 behind");
    let mut line = String::new();
    for _ in 0..100 {
        if let Ok((200, reported)) = projector_readyz(&system, "ratings").await {
            line = reported;
            if line.starts_with(&caught_up) {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(line.starts_with(&caught_up), "{line}");
    let ratings = ratings_at(&ann, &book, at).await?;
    assert_eq!((ratings["count"].clone(), ratings["average"].clone()), (json!(1), json!(2.0)), "{ratings}");
    system.stop().await
}
