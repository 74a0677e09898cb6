use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    readstream_runtime::init_tracing();
    let config = readstream_worker::Config::parse();
    readstream_worker::run(config, readstream_runtime::shutdown_on_signal()).await?;
    Ok(())
}
