//! Loads the demo data (see `readstream_testkit::demo`) once the gateway is ready: the seed book
//! page, or with `--libraries`, what its reviewer cards count (their imported libraries and
//! their followers), which `make run` loads in the background.
//!
//! Usage: readstream-seed --gateway http://127.0.0.1:8080 [--libraries]

use std::time::{Duration, Instant};

use readstream_testkit::{demo, graphql::GraphQl, ready::Readiness};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (base_url, libraries) = match (args.next().as_deref(), args.next(), args.next().as_deref()) {
        (Some("--gateway"), Some(url), None) => (url, false),
        (Some("--gateway"), Some(url), Some("--libraries")) => (url, true),
        _ => anyhow::bail!("usage: readstream-seed --gateway http://127.0.0.1:8080 [--libraries]"),
    };
    Readiness::new().gateway(&base_url).wait(Duration::from_secs(60)).await?;
    let notify =
        |err: &anyhow::Error, delay: Duration| eprintln!("readstream-seed: {err}; sending it again in {delay:?}");
    let gateway = GraphQl::new(base_url);
    let started = Instant::now();
    if libraries {
        let loaded = demo::load_libraries(&gateway, &notify).await?;
        println!("{loaded} in {:.1} s", started.elapsed().as_secs_f64());
    } else {
        let loaded = demo::load(&gateway, &notify).await?;
        println!("{loaded} in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}
