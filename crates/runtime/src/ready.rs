//! Readiness: once a process serves (its commands subscribed, its store open), it answers
//! probes on `<ns>.ready.<process>`. Whatever starts the stack (`make run`, the tests) waits
//! for those answers before it sends the first command, so no command meets a process that
//! is still starting.

use bytes::Bytes;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::config::StartError;

/// Answers readiness probes for `process` until `shutdown`. Call it once the process serves:
/// NATS handles a connection's subscriptions in order, so an answer also means every
/// subscription this client made before is in place.
pub async fn answer_probes(
    client: &async_nats::Client,
    namespace: &str,
    process: &str,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let mut probes = client.subscribe(readstream_contracts::subject::ready(namespace, process)).await?;
    let client = client.clone();
    tokio::spawn(async move {
        loop {
            let probe = tokio::select! {
                _ = shutdown.cancelled() => break,
                probe = probes.next() => match probe { Some(probe) => probe, None => break },
            };
            if let Some(reply_to) = probe.reply {
                if let Err(err) = client.publish(reply_to, Bytes::new()).await {
                    tracing::warn!(error = %err, "could not answer a readiness probe");
                }
            }
        }
        let _ = probes.unsubscribe().await;
    });
    Ok(())
}
