//! The binary: ready line, base URLs, serving, clean exit on SIGTERM, exit 2 on bad flags.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_exchange-sim");

#[test]
fn prints_the_ready_line_serves_and_exits_0_on_sigterm() {
    let mut child = Command::new(BIN)
        .args([
            "--symbols",
            "50",
            "--interval-ms",
            "50",
            "--price-path",
            "BTCUSDT=1,2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..4 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        lines.push(line.trim_end().to_string());
    }
    let addr = lines[0]
        .strip_prefix("exchange-sim listening on ")
        .expect("ready line")
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"));
    assert_eq!(lines[1], format!("BINANCE_WS_URL=ws://{addr}"));
    assert_eq!(lines[2], format!("BINANCE_REST_URL=http://{addr}"));
    assert_eq!(lines[3], format!("COINGECKO_API_URL=http://{addr}/api/v3"));

    let mut tcp = TcpStream::connect(&addr).unwrap();
    write!(
        tcp,
        "GET /api/v3/ticker/price?symbol=BTCUSDT HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""symbol":"BTCUSDT""#), "{response}");

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn bad_flags_and_bad_files_exit_2() {
    for args in [
        &["--interval-ms", "abc"][..],
        &["--price-path", "BTCUSDT"],
        &["--coins", "/nonexistent.json"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn boolean_variables_take_1_and_yes_and_a_bad_one_is_named() {
    for (var, value) in [("SIM_NO_PONG_CHECK", "1"), ("SIM_CG_429_AS_200", "yes")] {
        let mut child = Command::new(BIN)
            .args(["--symbols", "5"])
            .env(var, value)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("exchange-sim listening on "),
            "{var}={value}: {line:?}"
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }
    for var in ["SIM_NO_PONG_CHECK", "SIM_CG_429_AS_200"] {
        let out = Command::new(BIN).env(var, "maybe").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}: {stderr}");
        assert!(
            stderr.contains(&format!("{var}='maybe'")),
            "{var}: {stderr}"
        );
    }
}
