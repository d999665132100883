//! `cargo bench -p mock-server`: start-to-ready, idle RSS, authenticated tools/list throughput and
//! one full code flow, printed as a table (the README quotes it).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use mock_server::MockServer;
use rmcp::ServiceExt as _;
use rmcp::model::ClientConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!("{:<44} {:>14} {:>10}", "measure", "value", "goal");
    runtime.block_on(async {
        // Start-to-ready: from builder to a listener that answers.
        let mut starts = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let server = MockServer::start().await;
            starts.push(t.elapsed());
            drop(server);
        }
        println!(
            "{:<44} {:>11.3} ms {:>10}",
            "start-to-ready (median of 200)",
            median(starts).as_secs_f64() * 1e3,
            "< 5 ms"
        );

        // One full code flow: registration, consent page, approval, code redemption.
        let server = MockServer::start().await;
        let mut flows = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            common::log_in(&server, "mcp:read").await;
            flows.push(t.elapsed());
        }
        println!(
            "{:<44} {:>11.3} ms {:>10}",
            "full code flow, 4 requests (median of 200)",
            median(flows).as_secs_f64() * 1e3,
            "< 2 ms"
        );

        // Authenticated tools/list throughput through rmcp clients, 8 sessions in parallel.
        let (_, tokens) = common::log_in(&server, "mcp:read").await;
        let token = tokens["access_token"].as_str().unwrap().to_owned();
        let window = Duration::from_secs(3);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (uri, token) = (server.uri(), token.clone());
            tasks.push(tokio::spawn(async move {
                let config = StreamableHttpClientTransportConfig::with_uri(uri).auth_header(token);
                let client =
                    ClientConfig::default().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap();
                let (start, mut done) = (Instant::now(), 0u64);
                while start.elapsed() < window {
                    client.list_tools(None).await.unwrap();
                    done += 1;
                }
                let _ = client.cancel().await;
                done
            }));
        }
        let mut total = 0;
        for task in tasks {
            total += task.await.unwrap();
        }
        println!(
            "{:<44} {:>10.0} /s {:>10}",
            "authenticated tools/list, 8 rmcp sessions",
            total as f64 / window.as_secs_f64(),
            ">= 10k/s"
        );
    });
    println!("{:<44} {:>11.1} MiB {:>9}", "idle RSS of `mock-server serve`", idle_rss_mib(), "< 15 MiB");
}

/// Starts the real binary, waits for its first line (the MCP URL), then reads its resident set.
fn idle_rss_mib() -> f64 {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mock-server"))
        .args(["serve", "--profile", "split-origin"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the mock-server binary runs");
    let mut first = String::new();
    // Kept open until the measurement is taken: the server writes more lines.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
