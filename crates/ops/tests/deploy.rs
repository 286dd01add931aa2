//! `deploy/`'s Prometheus files pass Prometheus' own checks: the rules parse, their unit
//! tests (`alerts_test.yml`) pass, and the scrape config is valid.

use std::path::Path;
use std::process::Command;

fn promtool(args: &[&str]) {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus");
    let out = Command::new("promtool")
        .args(args)
        .current_dir(&deploy)
        .output()
        .expect("promtool runs (scripts/setup-test-env.sh installs Debian's prometheus)");
    assert!(
        out.status.success(),
        "promtool {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn alerting_rules_are_valid_and_fire_as_their_tests_say() {
    promtool(&["check", "rules", "alerts.yml"]);
    promtool(&["test", "rules", "alerts_test.yml"]);
}

#[test]
fn scrape_config_is_valid() {
    promtool(&["check", "config", "prometheus.yml"]);
}
