//! Issue 10: the client trusts no server's count. A `/coins/markets` server that ignores
//! `per_page` and sends 503 coins (shuffled, with a duplicate and an unranked coin) still
//! gives exactly the top 3 by `market_cap_rank`. The server is a tiny HTTP/1.1 responder
//! on 127.0.0.1 (the simulator honours `per_page`, so it cannot misbehave this way).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use pricing::{ClientConfig, CoinGecko};

/// Serves `body` as JSON to every request, until the test ends.
fn serve(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            // Read the request head up to the blank line.
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line == "\r\n" {
                    break;
                }
                line.clear();
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    format!("http://{addr}/api/v3")
}

fn entry(id: &str, rank: Option<u32>) -> serde_json::Value {
    serde_json::json!({
        "id": id, "symbol": id, "name": id, "current_price": 1.0,
        "market_cap": 1e9, "market_cap_rank": rank, "total_volume": 1.0,
        "last_updated": "2026-12-01T09:00:00.000Z"
    })
}

#[tokio::test]
async fn a_server_sending_503_coins_gives_the_top_3() {
    let mut coins: Vec<serde_json::Value> = (1..=501)
        .rev()
        .map(|i| entry(&format!("coin{i}"), Some(i)))
        .collect();
    coins.insert(250, entry("coin2", Some(2))); // a duplicate
    coins.insert(100, entry("unranked", None));
    assert_eq!(coins.len(), 503);
    let base = serve(serde_json::Value::Array(coins).to_string());
    let cg = CoinGecko::new(ClientConfig::new(base)).expect("client");
    let top = cg.top_markets("usd", 3).await.expect("markets");
    let ids: Vec<&str> = top.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["coin1", "coin2", "coin3"]);
}
