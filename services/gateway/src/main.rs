use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = readstream_gateway::Config::parse();
    if config.print_schema {
        print!("{}", readstream_gateway::graphql::sdl());
        return Ok(());
    }
    readstream_runtime::init_tracing();
    readstream_gateway::run(config, readstream_runtime::shutdown_on_signal()).await?;
    Ok(())
}
