//! How fast the gateway refuses what its limits refuse (goal: p99 under 5 ms), beside a served
//! request: a client over its rate (429), an operation with too many root fields, a query
//! over the cost limit, and the fragment bomb (16 fragments each spreading the next 8 times:
//! 8^15 fields expanded; goal: p99 under 1 ms). (A body over `MAX_BODY_BYTES` is refused on its `Content-Length`
//! alone, before it is read; the tests cover it.) The gateway runs the production
//! limits, behind 127.0.0.1 as a trusted proxy so each request can come from its own address.
//!
//! Usage: readstream-limits-bench [--requests N]   (NATS_URL and DATABASE_URL point at the servers)

use std::time::Instant;

use anyhow::Context as _;
use readstream_e2e::bench::{self, percentile};
use readstream_gateway::limits::LimitsConfig;

fn requests() -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--requests") {
        Some(i) => args.get(i + 1).context("missing value")?.parse().context("--requests"),
        None => Ok(2_000),
    }
}

/// One kind of request: its body, the address it comes from (`None`: a new one each time) and
/// the status it must get.
struct Case {
    name: &'static str,
    body: String,
    from: Option<&'static str>,
    status: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let requests = requests()?;
    let run = bench::Run::start("limits").await?;

    let limits = LimitsConfig { trusted_proxies: vec!["127.0.0.1".parse()?], ..LimitsConfig::PRODUCTION };
    let gateway = bench::Gateway::start(&run, limits).await?;
    let url = format!("{}/graphql", gateway.base_url);

    let query = |query: &str| serde_json::json!({ "query": query }).to_string();
    let roots: String = (0..21).map(|i| format!("r{i}: __typename ")).collect();
    let nested = "{ books(first: 100) { edges { node { title reviews(first: 100) { edges { node { body } } } } } } }";
    let mut bomb = String::from("query { viewer { ...F1 } }");
    for i in 1..16 {
        bomb.push_str(&format!(" fragment F{i} on Reader {{ {} }}", format!("...F{} ", i + 1).repeat(8)));
    }
    bomb.push_str(" fragment F16 on Reader { id }");
    let cases = [
        Case { name: "served { __typename }", body: query("{ __typename }"), from: None, status: 200 },
        Case { name: "over the rate (429)", body: query("{ __typename }"), from: Some("10.255.0.1"), status: 429 },
        Case { name: "21 root fields", body: query(&format!("{{ {roots} }}")), from: None, status: 200 },
        Case { name: "cost 10,000+", body: query(nested), from: None, status: 200 },
        Case { name: "fragment bomb", body: query(&bomb), from: None, status: 200 },
    ];
    let http = reqwest::Client::new();
    let mut next_address = 0u32;
    println!("{:<24} {:>9} {:>9} {:>9}", "request", "p50 ms", "p99 ms", "requests");
    for case in cases {
        let mut timings = Vec::with_capacity(requests);
        for i in 0..requests + 100 {
            next_address += 1;
            let from = case
                .from
                .map_or_else(|| std::net::Ipv4Addr::from(0x0a00_0000 + next_address).to_string(), str::to_owned);
            let started = Instant::now();
            let response = http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-forwarded-for", from)
                .body(case.body.clone())
                .send()
                .await?;
            let status = response.status().as_u16();
            let body = response.bytes().await?;
            let elapsed = started.elapsed();
            // The first 100 warm up (and spend the rate case's burst). Past them the rate case
            // gets a request through now and then as its bucket refills: only refusals count.
            if i < 100 {
                continue;
            }
            if status == case.status {
                timings.push(elapsed);
            } else {
                anyhow::ensure!(
                    case.from.is_some(),
                    "{}: status {status}: {}",
                    case.name,
                    String::from_utf8_lossy(&body)
                );
            }
        }
        timings.sort();
        let p99 = percentile(&timings, 0.99);
        if case.name == "fragment bomb" {
            let measured = format!("p99 {:.3} ms", p99.as_secs_f64() * 1e3);
            bench::target("refusing the fragment bomb", &measured, "p99 <= 1 ms", p99.as_secs_f64() <= 1e-3)?;
        }
        println!(
            "{:<24} {:>9.3} {:>9.3} {:>9}",
            case.name,
            percentile(&timings, 0.50).as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            timings.len()
        );
    }
    gateway.stop().await
}
