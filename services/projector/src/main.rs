use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    readstream_runtime::init_tracing();
    let config = readstream_projector::Config::parse();
    readstream_projector::run(config, readstream_runtime::shutdown_on_signal()).await?;
    Ok(())
}
