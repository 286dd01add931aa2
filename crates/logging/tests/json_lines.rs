//! `LogFormat::Json` end to end through the real logger (its own process: one global logger):
//! every line of the log file is a JSON object, secrets masked.

#[test]
fn every_file_line_is_json_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let guard = logging::init(&logging::LogConfig {
        file: Some(path.clone()),
        level: log::LevelFilter::Info,
        console: logging::Console::Off,
        format: logging::LogFormat::Json,
    })
    .unwrap();
    log::info!("db at mysql://bot:hunter2@127.0.0.1:3306/trader");
    log::warn!(conn_id = 3; "connection lost\nreconnecting");
    log::debug!("not written at info level");
    drop(guard);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["target"], "json_lines");
    assert_eq!(
        lines[0]["message"],
        "db at mysql://bot:***@127.0.0.1:3306/trader"
    );
    assert_eq!(lines[1]["fields"]["conn_id"], "3");
    assert_eq!(lines[1]["message"], "connection lost\nreconnecting");
    assert!(lines[1]["time"].as_str().unwrap().ends_with('Z'));
}
