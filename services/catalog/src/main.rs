use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    readstream_runtime::init_tracing();
    let config = readstream_catalog::Config::parse();
    readstream_catalog::run(config, readstream_runtime::shutdown_on_signal()).await?;
    Ok(())
}
