use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    readstream_runtime::init_tracing();
    let config = readstream_reading::Config::parse();
    readstream_reading::run(config, readstream_runtime::shutdown_on_signal()).await?;
    Ok(())
}
