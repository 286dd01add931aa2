//! The real binary's environment: boolean variables in their usual spellings, a bad one
//! named on one line, and secrets kept out of `--help`.

mod common;

use std::process::Command;

use common::*;

const PATH: [&str; 5] = [
    "43679.99000000",
    "43680.01000000",
    "43700.00000000",
    "43650.00000000",
    "43681.00000000",
];

#[tokio::test]
async fn boolean_variables_take_1_yes_and_0_false() {
    let sim = start_sim(vec![("BTCUSDT", path(&PATH))]).await;
    let args = ["--symbol", "BTCUSDT", "--above", "43680"];
    let b = "BTCUSDT";

    // 1 and yes are "on": every update is printed, alerts only on crossings.
    let env = [("ALERTER_VERBOSE", "1"), ("ALERTER_ON_CROSS", "yes")];
    let mut alerter = spawn_alerter_env(&sim, &args, &env);
    assert_eq!(
        alerter.lines(PATH.len()).await,
        vec![
            quiet(b, "43679.99000000"),
            above(b, "43680", "43680.01000000"),
            quiet(b, "43700.00000000"),
            quiet(b, "43650.00000000"),
            above(b, "43680", "43681.00000000"),
        ]
    );
    alerter.stop().await;
    sim.shutdown().await;

    // 0 and false are "off": no quiet lines, an alert for every update beyond the level.
    let sim = start_sim(vec![("BTCUSDT", path(&PATH))]).await;
    let env = [("ALERTER_VERBOSE", "0"), ("ALERTER_ON_CROSS", "false")];
    let mut alerter = spawn_alerter_env(&sim, &args, &env);
    assert_eq!(
        alerter.lines(3).await,
        vec![
            above(b, "43680", "43680.01000000"),
            above(b, "43680", "43700.00000000"),
            above(b, "43680", "43681.00000000"),
        ]
    );
    alerter.stop().await;
}

fn alerter(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_alerter"))
        .args(args)
        .env("BINANCE_REST_URL", "http://127.0.0.1:9")
        .env("LOG_FILE", dir.path().join("app.log"))
        .env_remove("ALERTER_SYMBOL")
        .envs(env.iter().copied())
        .output()
        .expect("alerter runs")
}

#[test]
fn a_bad_boolean_variable_is_named_on_one_line() {
    for var in ["ALERTER_VERBOSE", "ALERTER_ON_CROSS"] {
        let out = alerter(&["--symbol", "BTCUSDT", "--above", "1"], &[(var, "maybe")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{var}: {stderr:?}");
        assert!(
            stderr.contains(&format!("{var}='maybe'")),
            "{var}: {stderr:?}"
        );
    }
}

#[test]
fn help_shows_the_variables_but_not_their_secret_values() {
    let secrets = [
        (
            "ALERTER_WEBHOOK",
            "https://hooks.example/services/T0KEN-S3CRET",
        ),
        ("ALERTER_EXEC", "notify --token CMD-S3CRET"),
    ];
    let out = alerter(&["--help"], &secrets);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for (var, value) in secrets {
        assert!(help.contains(var), "--help lacks {var}: {help}");
        assert!(!help.contains(value), "--help shows {var}'s value: {help}");
        assert!(!help.contains("S3CRET"), "--help shows a secret: {help}");
    }
}
