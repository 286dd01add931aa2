//! Live subscription control messages and a connection's subscriptions.
//!
//! Reference: <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#live-subscribingunsubscribing-to-streams>.
//!
//! ```text
//! -> {"method":"SUBSCRIBE","params":["btcusdt@miniTicker"],"id":1}
//! <- {"result":null,"id":1}
//! -> {"method":"LIST_SUBSCRIPTIONS","id":3}
//! <- {"result":["btcusdt@miniTicker"],"id":3}
//! -> {"method":"SET_PROPERTY","params":["combined",true],"id":5}
//! <- {"result":null,"id":5}
//! -> {"method":"NOPE","id":7}
//! <- {"code":2,"msg":"Invalid request: unknown variant `NOPE`, expected one of `SUBSCRIBE`, ...","id":7}
//! -> {"method":
//! <- {"code":3,"msg":"Invalid JSON: EOF while parsing a value at line 1 column 10","id":null}
//! ```

use std::collections::HashMap;

use serde_json::Value;

/// The all-market mini-ticker stream name.
pub(crate) const ALL_MARKET: &str = "!miniTicker@arr";

const METHODS: &str =
    "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`";

/// What a connection receives.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    /// Stream names in subscription order, as given.
    list: Vec<String>,
    /// Subscribed to `!miniTicker@arr`.
    pub(crate) all_market: bool,
    /// Upper-case symbol -> its `<symbol>@miniTicker` stream name (ASCII letters lower-case
    /// only: Binance stream names are lower-case, an upper-case one delivers nothing; other
    /// characters, such as the UTF-8 of `币安人生usdt`, as they are).
    pub(crate) symbols: HashMap<String, String>,
    /// Events wrapped as `{"stream":..,"data":..}`.
    pub(crate) combined: bool,
}

impl Subscriptions {
    pub(crate) fn new(streams: Vec<String>, combined: bool) -> Self {
        let mut subs = Subscriptions {
            combined,
            ..Subscriptions::default()
        };
        for s in streams {
            subs.add(s);
        }
        subs
    }

    pub(crate) fn list(&self) -> &[String] {
        &self.list
    }

    fn add(&mut self, stream: String) {
        if self.list.contains(&stream) {
            return;
        }
        if stream == ALL_MARKET {
            self.all_market = true;
        } else if let Some(symbol) = single_symbol(&stream) {
            self.symbols.insert(symbol, stream.clone());
        }
        self.list.push(stream);
    }

    fn remove(&mut self, stream: &str) {
        self.list.retain(|s| s != stream);
        if stream == ALL_MARKET {
            self.all_market = false;
        } else if let Some(symbol) = single_symbol(stream) {
            self.symbols.remove(&symbol);
        }
    }
}

/// `btcusdt@miniTicker` -> `BTCUSDT`, `币安人生usdt@miniTicker` -> `币安人生USDT`.
pub(crate) fn single_symbol(stream: &str) -> Option<String> {
    let symbol = stream.strip_suffix("@miniTicker")?;
    let ok = !symbol.is_empty()
        && symbol.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || (!c.is_ascii() && c.is_alphanumeric())
        });
    ok.then(|| symbol.to_ascii_uppercase())
}

/// `true` for a well-formed `SUBSCRIBE` request (the one the `ignore_subscribes` fault
/// swallows).
pub(crate) fn is_subscribe(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .is_ok_and(|v| v.get("method").and_then(Value::as_str) == Some("SUBSCRIBE"))
}

/// The answer to one text message, and whether the subscriptions changed.
pub(crate) struct Answer {
    pub(crate) text: String,
    pub(crate) changed: bool,
}

/// Handles one incoming text message.
pub(crate) fn handle(text: &str, subs: &mut Subscriptions) -> Answer {
    match handle_inner(text, subs) {
        Ok((result, id, changed)) => Answer {
            text: format!(r#"{{"result":{result},"id":{id}}}"#),
            changed,
        },
        Err((code, msg, id)) => Answer {
            text: format!(
                r#"{{"code":{code},"msg":{},"id":{id}}}"#,
                Value::String(msg)
            ),
            changed: false,
        },
    }
}

type Failure = (i32, String, Value);

fn handle_inner(text: &str, subs: &mut Subscriptions) -> Result<(Value, Value, bool), Failure> {
    let request: Value =
        serde_json::from_str(text).map_err(|e| (3, format!("Invalid JSON: {e}"), Value::Null))?;
    let invalid = |msg: &str, id: &Value| (2, format!("Invalid request: {msg}"), id.clone());
    let Some(obj) = request.as_object() else {
        return Err(invalid("expected a JSON object", &Value::Null));
    };
    let id = match obj.get("id") {
        Some(id @ Value::Null) => id.clone(),
        Some(id @ Value::Number(n)) if n.is_i64() || n.is_u64() => id.clone(),
        Some(id @ Value::String(s)) if s.len() <= 36 => id.clone(),
        _ => {
            return Err(invalid(
                "request ID must be an unsigned integer",
                &Value::Null,
            ))
        }
    };
    let method = match obj.get("method") {
        None => return Err(invalid("missing field `method`", &id)),
        Some(Value::String(m)) => m.as_str(),
        Some(other) => {
            return Err(invalid(
                &format!("unknown variant `{other}`, expected one of {METHODS}"),
                &id,
            ))
        }
    };
    let params: &[Value] = match obj.get("params") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(p)) => p,
        Some(_) => return Err(invalid("params must be an array", &id)),
    };
    let streams = || -> Result<Vec<String>, Failure> {
        params
            .iter()
            .map(|p| {
                p.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid("stream name must be a string", &id))
            })
            .collect()
    };
    match method {
        "SUBSCRIBE" => {
            streams()?.into_iter().for_each(|s| subs.add(s));
            Ok((Value::Null, id, true))
        }
        "UNSUBSCRIBE" => {
            streams()?.iter().for_each(|s| subs.remove(s));
            Ok((Value::Null, id, true))
        }
        "LIST_SUBSCRIPTIONS" if params.is_empty() => {
            Ok((Value::from(subs.list.clone()), id, false))
        }
        "LIST_SUBSCRIPTIONS" => Err(invalid("too many parameters", &id)),
        "SET_PROPERTY" | "GET_PROPERTY" => property(method == "SET_PROPERTY", params, subs, id),
        other => Err(invalid(
            &format!("unknown variant `{other}`, expected one of {METHODS}"),
            &id,
        )),
    }
}

fn property(
    set: bool,
    params: &[Value],
    subs: &mut Subscriptions,
    id: Value,
) -> Result<(Value, Value, bool), Failure> {
    let Some(name) = params.first().and_then(Value::as_str) else {
        return Err((
            2,
            "Invalid request: property name must be a string".into(),
            id,
        ));
    };
    if name != "combined" {
        return Err((0, "Unknown property".into(), id));
    }
    match (set, params.len()) {
        (false, 1) => Ok((Value::Bool(subs.combined), id, false)),
        (true, 2) => match params[1].as_bool() {
            Some(value) => {
                subs.combined = value;
                Ok((Value::Null, id, false))
            }
            None => Err((1, "Invalid value type: expected Boolean".into(), id)),
        },
        _ => Err((2, "Invalid request: too many parameters".into(), id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_table() {
        let unknown = format!(
            r#"{{"code":2,"msg":"Invalid request: unknown variant `NOPE`, expected one of {METHODS}","id":7}}"#
        );
        let cases: &[(&str, &str)] = &[
            (
                r#"{"method":"SUBSCRIBE","params":["btcusdt@miniTicker","!miniTicker@arr"],"id":1}"#,
                r#"{"result":null,"id":1}"#,
            ),
            (
                r#"{"method":"LIST_SUBSCRIPTIONS","id":"abc"}"#,
                r#"{"result":["btcusdt@miniTicker","!miniTicker@arr"],"id":"abc"}"#,
            ),
            (
                r#"{"method":"UNSUBSCRIBE","params":["!miniTicker@arr"],"id":2}"#,
                r#"{"result":null,"id":2}"#,
            ),
            (
                r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#,
                r#"{"result":["btcusdt@miniTicker"],"id":3}"#,
            ),
            (
                r#"{"method":"GET_PROPERTY","params":["combined"],"id":4}"#,
                r#"{"result":false,"id":4}"#,
            ),
            (
                r#"{"method":"SET_PROPERTY","params":["combined",true],"id":5}"#,
                r#"{"result":null,"id":5}"#,
            ),
            (
                r#"{"method":"GET_PROPERTY","params":["combined"],"id":null}"#,
                r#"{"result":true,"id":null}"#,
            ),
            (
                r#"{"method":"SET_PROPERTY","params":["combined","yes"],"id":6}"#,
                r#"{"code":1,"msg":"Invalid value type: expected Boolean","id":6}"#,
            ),
            (
                r#"{"method":"GET_PROPERTY","params":["colour"],"id":6}"#,
                r#"{"code":0,"msg":"Unknown property","id":6}"#,
            ),
            (
                r#"{"method":"GET_PROPERTY","params":[1],"id":6}"#,
                r#"{"code":2,"msg":"Invalid request: property name must be a string","id":6}"#,
            ),
            (r#"{"method":"NOPE","id":7}"#, &unknown),
            (
                r#"{"params":[],"id":8}"#,
                r#"{"code":2,"msg":"Invalid request: missing field `method`","id":8}"#,
            ),
            (
                r#"{"method":"SUBSCRIBE","params":["x"]}"#,
                r#"{"code":2,"msg":"Invalid request: request ID must be an unsigned integer","id":null}"#,
            ),
            (
                r#"{"method":"SUBSCRIBE","params":["x"],"id":1.5}"#,
                r#"{"code":2,"msg":"Invalid request: request ID must be an unsigned integer","id":null}"#,
            ),
            (
                r#"{"method":"SUBSCRIBE","params":[3],"id":9}"#,
                r#"{"code":2,"msg":"Invalid request: stream name must be a string","id":9}"#,
            ),
            (
                r#"{"method":"LIST_SUBSCRIPTIONS","params":["x"],"id":10}"#,
                r#"{"code":2,"msg":"Invalid request: too many parameters","id":10}"#,
            ),
            (
                r#"[1,2]"#,
                r#"{"code":2,"msg":"Invalid request: expected a JSON object","id":null}"#,
            ),
            (
                r#"{"method":"#,
                r#"{"code":3,"msg":"Invalid JSON: EOF while parsing a value at line 1 column 10","id":null}"#,
            ),
            (
                "",
                r#"{"code":3,"msg":"Invalid JSON: EOF while parsing a value at line 1 column 0","id":null}"#,
            ),
        ];
        let mut subs = Subscriptions::new(Vec::new(), false);
        for (input, want) in cases {
            assert_eq!(handle(input, &mut subs).text, *want, "input {input}");
        }
        assert!(subs.combined && !subs.all_market);
        assert_eq!(
            subs.symbols.get("BTCUSDT").map(String::as_str),
            Some("btcusdt@miniTicker")
        );
    }

    #[test]
    fn subscribe_requests_are_recognised() {
        let cases = [
            (
                r#"{"method":"SUBSCRIBE","params":["a@miniTicker"],"id":1}"#,
                true,
            ),
            (
                r#"{"method":"UNSUBSCRIBE","params":["a@miniTicker"],"id":1}"#,
                false,
            ),
            (r#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#, false),
            (r#"{"method":"subscribe","id":1}"#, false),
            (r#"{"method":"SUBSCRIBE""#, false),
            ("", false),
        ];
        for (text, want) in cases {
            assert_eq!(is_subscribe(text), want, "{text}");
        }
    }

    #[test]
    fn only_lower_case_single_streams_select_a_symbol() {
        assert_eq!(
            single_symbol("btcusdt@miniTicker").as_deref(),
            Some("BTCUSDT")
        );
        assert_eq!(
            single_symbol("币安人生usdt@miniTicker").as_deref(),
            Some("币安人生USDT")
        );
        for bad in [
            "BTCUSDT@miniTicker",
            "币安人生USDT@miniTicker",
            "币安 人生usdt@miniTicker",
            "@miniTicker",
            "btcusdt@ticker",
            "btc-usdt@miniTicker",
        ] {
            assert_eq!(single_symbol(bad), None, "{bad}");
        }
        let subs = Subscriptions::new(
            vec!["!miniTicker@arr".into(), "!miniTicker@arr".into()],
            true,
        );
        assert_eq!(subs.list().len(), 1);
        assert!(subs.all_market && subs.combined);
    }
}
