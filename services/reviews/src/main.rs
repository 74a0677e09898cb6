use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    readstream_runtime::init_tracing();
    let config = readstream_reviews::Config::parse();
    readstream_reviews::run(config, readstream_runtime::shutdown_on_signal()).await?;
    Ok(())
}
