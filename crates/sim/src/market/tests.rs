use super::*;

const T0: i64 = 1_700_000_000_000;

fn run(seed: u64, ticks: usize) -> Vec<Vec<Ticker>> {
    let mut m = Market::new(seed, 300);
    (0..ticks).map(|n| m.tick(T0 + n as i64 * 1000)).collect()
}

#[test]
fn same_seed_same_events_other_seed_other_events() {
    assert_eq!(run(5, 20), run(5, 20));
    let closes =
        |r: Vec<Vec<Ticker>>| -> Vec<String> { r.into_iter().flatten().map(|t| t.close).collect() };
    assert_ne!(closes(run(5, 20)), closes(run(6, 20)));
}

#[test]
fn only_part_of_the_trading_symbols_change_each_tick() {
    let mut m = Market::new(1, 1500);
    let trading = m
        .symbols()
        .iter()
        .filter(|s| s.status == SymbolStatus::Trading)
        .count();
    let breaks: Vec<String> = m
        .symbols()
        .iter()
        .filter(|s| s.status == SymbolStatus::Break)
        .map(|s| s.symbol.clone())
        .collect();
    for n in 0..30 {
        let t = m.tick(T0 + n * 1000);
        let share = t.len() as f64 / trading as f64;
        assert!((0.2..=0.75).contains(&share), "tick {n}: {share}");
        assert!(t.iter().all(|x| !breaks.contains(&x.symbol.to_string())));
    }
}

#[test]
fn prices_are_tick_multiples_with_8_decimals_and_ohlc_consistent() {
    let mut m = Market::new(3, 400);
    let decimals: HashMap<String, u32> = m
        .symbols()
        .iter()
        .map(|s| (s.symbol.clone(), s.price_decimals))
        .collect();
    for n in 0..50 {
        for t in m.tick(T0 + n * 1000) {
            let d = decimals[&*t.symbol];
            for p in [
                &t.close,
                &t.open,
                &t.high,
                &t.low,
                &t.base_volume,
                &t.quote_volume,
            ] {
                let (_, frac) = p.split_once('.').expect("decimal point");
                assert_eq!(frac.len(), 8, "{p}");
            }
            for p in [&t.close, &t.open, &t.high, &t.low] {
                let frac = p.split_once('.').map(|(_, f)| f).unwrap_or("");
                assert!(
                    frac[d as usize..].bytes().all(|b| b == b'0'),
                    "{} {p} d={d}",
                    t.symbol
                );
            }
            let f = |s: &String| s.parse::<f64>().unwrap();
            assert!(
                f(&t.low) <= f(&t.close) && f(&t.close) <= f(&t.high),
                "{t:?}"
            );
            assert!(f(&t.low) <= f(&t.open) && f(&t.open) <= f(&t.high), "{t:?}");
        }
    }
}

#[test]
fn event_times_differ_lie_within_the_interval_and_grow_per_symbol() {
    let mut m = Market::new(9, 200);
    let mut last: HashMap<String, i64> = HashMap::new();
    for n in 0..20 {
        let now = T0 + n * 100;
        let t = m.tick(now);
        let distinct: std::collections::HashSet<i64> = t.iter().map(|x| x.event_time).collect();
        assert!(distinct.len() > 1);
        for x in t {
            assert!(x.event_time > now - 1000 && x.event_time <= now, "{x:?}");
            if let Some(prev) = last.insert(x.symbol.to_string(), x.event_time) {
                assert!(x.event_time > prev);
            }
        }
    }
}

#[test]
fn volumes_never_shrink() {
    let mut m = Market::new(2, 50);
    let mut last: HashMap<String, (f64, f64)> = HashMap::new();
    for n in 0..40 {
        for t in m.tick(T0 + n * 1000) {
            let v = (
                t.base_volume.parse::<f64>().unwrap(),
                t.quote_volume.parse::<f64>().unwrap(),
            );
            if let Some(prev) = last.insert(t.symbol.to_string(), v) {
                assert!(v.0 > prev.0 && v.1 > prev.1, "{t:?}");
            }
        }
    }
}

#[test]
fn a_price_path_is_emitted_verbatim_once_per_tick_then_never() {
    let mut m = Market::new(4, 100);
    let path = vec!["100".to_string(), "100.50".into(), "99.00000000".into()];
    m.set_price_path("BTCUSDT", path.clone());
    let mut got = Vec::new();
    for n in 0..10 {
        got.extend(
            m.tick(T0 + n * 1000)
                .into_iter()
                .filter(|t| &*t.symbol == "BTCUSDT"),
        );
    }
    let closes: Vec<String> = got.iter().map(|t| t.close.clone()).collect();
    assert_eq!(closes, path);
    assert_eq!(m.last_price("BTCUSDT"), Some("99.00000000"));
}

#[test]
fn an_unwatched_path_waits_and_an_unknown_symbol_is_listed() {
    let mut m = Market::new(4, 10);
    m.set_price_path("fooUSDT", vec!["1.5".into(), "2.5".into()]);
    assert!(m
        .symbols()
        .iter()
        .any(|s| s.symbol == "FOOUSDT" && s.quote == "USDT"));
    for n in 0..5 {
        let t = m.tick_watched(T0 + n * 1000, &|s| s != "FOOUSDT");
        assert!(t.iter().all(|x| &*x.symbol != "FOOUSDT"));
    }
    let t = m.tick(T0 + 6000);
    let foo: Vec<&Ticker> = t.iter().filter(|x| &*x.symbol == "FOOUSDT").collect();
    assert_eq!(foo.len(), 1);
    assert_eq!(foo[0].close, "1.5");
}

#[test]
fn frame_json_is_a_parseable_array_with_escaped_strings() {
    let t = Ticker {
        symbol: Arc::from("ODD\"SYM"),
        event_time: 5,
        close: "1\\2".into(),
        open: "1.00000000".into(),
        high: "1.00000000".into(),
        low: "1.00000000".into(),
        base_volume: "2.00000000".into(),
        quote_volume: "3.00000000".into(),
    };
    let text = Market::frame_json(&[t.clone(), t]);
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(v[1]["s"], "ODD\"SYM");
    assert_eq!(v[0]["c"], "1\\2");
    assert_eq!(Market::frame_json(&[]), "[]");
}

#[test]
fn non_ascii_text_is_written_raw_or_escaped_and_reads_back_the_same() {
    let t = |symbol: &str| Ticker {
        symbol: Arc::from(symbol),
        event_time: 5,
        close: "0.12000000".into(),
        open: "0.1".into(),
        high: "0.1".into(),
        low: "0.1".into(),
        base_volume: "1".into(),
        quote_volume: "1".into(),
    };
    let cases: &[(&str, &str, &str)] = &[
        // (symbol, raw spelling, escaped spelling)
        (
            "币安人生USDT",
            r#""币安人生USDT""#,
            r#""\u5e01\u5b89\u4eba\u751fUSDT""#,
        ),
        ("🚀USDT", r#""🚀USDT""#, r#""\ud83d\ude80USDT""#),
        ("BTCUSDT", r#""BTCUSDT""#, r#""BTCUSDT""#),
    ];
    for (symbol, raw, escaped) in cases {
        for (mode, spelled) in [(NonAscii::Raw, raw), (NonAscii::Escaped, escaped)] {
            let text = Market::frame_json_with(&[t(symbol)], mode);
            assert!(
                text.contains(&format!(r#""s":{spelled}"#)),
                "{mode:?}: {text}"
            );
            if !symbol.is_ascii() {
                assert_eq!(text.is_ascii(), mode == NonAscii::Escaped, "{text}");
            }
            let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(v[0]["s"], *symbol, "{mode:?}");
        }
    }
}

#[test]
fn the_default_universe_lists_and_ticks_utf8_symbols() {
    let mut m = Market::new(42, 100);
    let listed: Vec<&str> = m
        .symbols()
        .iter()
        .map(|s| s.symbol.as_str())
        .filter(|s| !s.is_ascii())
        .collect();
    assert_eq!(listed, ["币安人生USDT", "币安人生USDC", "币安人生FDUSD"]);
    let ticked = (0..20)
        .flat_map(|n| m.tick(T0 + n * 1000))
        .filter(|t| t.symbol.starts_with("币安人生"))
        .count();
    assert!(ticked > 0);
}

#[test]
fn fmt_units_writes_eight_decimals() {
    for (units, text) in [
        (1, "0.00000001"),
        (123_456_789_012, "1234.56789012"),
        (-5, "-0.00000005"),
    ] {
        assert_eq!(fmt_units(units), text);
    }
}
