//! Deletes the uploaded pictures nothing shows any more: an avatar replaced or removed, a
//! deleted reader's avatar, a cover or photo replaced. An image is kept while any reader, book
//! or author shows it (an image uploaded twice is one, shared), and for `IMAGE_GRACE_SECONDS`
//! after its last upload, the time a command naming it has to be recorded; a sweep also waits
//! for the read models that name images to show the whole stream, so an image whose command is
//! recorded but not yet projected is never taken for unused.

use std::time::Duration;

use chrono::Utc;
use readstream_contracts::ReadModel;
use readstream_readmodel::images;
use tokio_util::sync::CancellationToken;

use crate::Worker;

#[derive(Debug, Clone, clap::Args)]
pub struct ImageSweepConfig {
    /// Seconds between two sweeps of unused pictures.
    #[arg(long, env = "IMAGE_SWEEP_SECONDS", default_value_t = 60)]
    pub sweep_seconds: u64,
    /// Seconds a picture is kept after its last upload even when nothing shows it yet.
    #[arg(long, env = "IMAGE_GRACE_SECONDS", default_value_t = 600)]
    pub grace_seconds: u64,
}

pub async fn sweep(app: Worker, config: ImageSweepConfig, shutdown: CancellationToken) {
    let every = Duration::from_secs(config.sweep_seconds.max(1));
    let grace = chrono::Duration::seconds(i64::try_from(config.grace_seconds).unwrap_or(i64::MAX / 1_000_000));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
        // Read the time before the stream's end: every command naming a picture uploaded before
        // `uploaded_before` was recorded by then, so at or before `end`.
        let uploaded_before = Utc::now() - grace;
        let end = match app.store.last_position().await {
            Ok(end) => end,
            Err(err) => {
                tracing::warn!(error = %err, "could not read the stream's end to sweep pictures");
                continue;
            }
        };
        if let Err(err) = app.positions.wait_for(end, &[ReadModel::Readers, ReadModel::Catalog]).await {
            tracing::info!(error = %err.message, "the read models are behind; pictures are swept later");
            continue;
        }
        match images::sweep(&app.pool, uploaded_before).await {
            Ok(0) => {}
            Ok(swept) => tracing::info!(swept, "deleted pictures nothing shows"),
            Err(err) => tracing::warn!(error = %err, "could not sweep unused pictures"),
        }
    }
}
