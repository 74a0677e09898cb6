//! Loads the demo data (see `readstream_testkit::demo`) once the gateway is ready.
//!
//! Usage: readstream-seed --gateway http://127.0.0.1:8080

use std::time::Duration;

use readstream_testkit::{demo, graphql::GraphQl, ready::Readiness};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let base_url = match (args.next().as_deref(), args.next()) {
        (Some("--gateway"), Some(url)) => url,
        _ => anyhow::bail!("usage: readstream-seed --gateway http://127.0.0.1:8080"),
    };
    Readiness::new().gateway(&base_url).wait(Duration::from_secs(60)).await?;
    let notify =
        |err: &anyhow::Error, delay: Duration| eprintln!("readstream-seed: {err}; sending it again in {delay:?}");
    let loaded = demo::load(&GraphQl::new(base_url), &notify).await?;
    println!("{loaded}");
    Ok(())
}
