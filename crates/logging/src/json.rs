//! JSON lines: one log record = one JSON object on one line (`--log-format json`).
//!
//! ```text
//! {"time":"2026-11-23T19:06:25.123Z","level":"WARN","target":"record::session","message":"connection 1 lost: no data for 10s (read-idle timeout); reconnecting","fields":{"conn_id":"1"}}
//! ```
//!
//! * `time`: UTC, RFC 3339 with milliseconds; `level`: `ERROR` … `TRACE`; `target`: the
//!   module that logged (`log`'s target);
//! * `message`: the formatted message, secrets masked by [`crate::redact`] exactly as in text
//!   lines;
//! * `fields`: the record's structured key-values (`log::info!(conn_id = 1; "…")`), values as
//!   masked strings; `{}` when there are none.
//!
//! serde_json escapes control characters and quotes, so a message with a newline in it is
//! still one line and every line parses.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use log::kv::{Key, Value, VisitSource};

use crate::redact;

/// The timestamp format of both formats (UTC, milliseconds).
pub(crate) const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `2026-11-23T19:06:25.123Z INFO  trader: message` (the default).
    #[default]
    Text,
    /// One JSON object per line (see the [module docs](self)).
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    /// `text` or `json` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("unknown log format {s:?}: expected text or json")),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

/// The JSON line (without the newline) for one record logged at `time`.
pub fn line(time: DateTime<Utc>, message: &fmt::Arguments<'_>, record: &log::Record<'_>) -> String {
    let mut fields = Fields(serde_json::Map::new());
    // Collecting into a map cannot fail; a source that reports an error keeps what it gave.
    let _ = record.key_values().visit(&mut fields);
    serde_json::json!({
        "time": time.format(TIME_FORMAT).to_string(),
        "level": record.level().as_str(),
        "target": record.target(),
        "message": redact(&message.to_string()),
        "fields": fields.0,
    })
    .to_string()
}

/// Collects a record's key-values as masked strings.
struct Fields(serde_json::Map<String, serde_json::Value>);

impl<'kvs> VisitSource<'kvs> for Fields {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        self.0
            .insert(key.as_str().to_owned(), redact(&value.to_string()).into());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(args: fmt::Arguments<'_>, kvs: &[(&str, &str)]) -> serde_json::Value {
        let kvs: Vec<(&str, Value<'_>)> = kvs.iter().map(|(k, v)| (*k, Value::from(*v))).collect();
        let record = log::Record::builder()
            .args(args)
            .level(log::Level::Warn)
            .target("record::session")
            .key_values(&kvs)
            .build();
        let time = DateTime::parse_from_rfc3339("2026-11-23T19:06:25.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = line(time, record.args(), &record);
        assert!(!text.contains('\n'), "one line: {text}");
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn a_record_becomes_one_json_object_with_secrets_masked() {
        /// (message, key-values, message written, fields written)
        type Case<'a> = (
            fmt::Arguments<'a>,
            &'a [(&'a str, &'a str)],
            &'a str,
            serde_json::Value,
        );
        let cases: &[Case<'_>] = &[
            (format_args!("plain"), &[], "plain", serde_json::json!({})),
            (
                format_args!("db mysql://bot:hunter2@db:3306/t down"),
                &[("url", "mysql://bot:hunter2@db/t")],
                "db mysql://bot:***@db:3306/t down",
                serde_json::json!({"url": "mysql://bot:***@db/t"}),
            ),
            (
                format_args!("two\nlines \"quoted\""),
                &[("conn_id", "7")],
                "two\nlines \"quoted\"",
                serde_json::json!({"conn_id": "7"}),
            ),
        ];
        for (args, kvs, message, fields) in cases {
            let json = render(*args, kvs);
            assert_eq!(json["time"], "2026-11-23T19:06:25.123Z");
            assert_eq!(json["level"], "WARN");
            assert_eq!(json["target"], "record::session");
            assert_eq!(json["message"], *message);
            assert_eq!(json["fields"], *fields);
        }
    }

    #[test]
    fn formats_parse_from_their_names() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("TEXT".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("xml"
            .parse::<LogFormat>()
            .unwrap_err()
            .contains("text or json"));
        assert_eq!(LogFormat::Json.to_string(), "json");
    }
}
