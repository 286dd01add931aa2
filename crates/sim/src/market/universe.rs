//! The listed symbols: realistic base assets crossed with the usual Binance quote assets,
//! the well-known pairs first, then by popularity; synthetic bases fill any remainder.

use fastrand::Rng;

/// Trading status as in `exchangeInfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolStatus {
    /// Normal trading: the symbol ticks.
    Trading,
    /// Not trading (`"BREAK"`): listed, never ticks.
    Break,
}

impl SymbolStatus {
    /// The `status` string of `exchangeInfo`.
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolStatus::Trading => "TRADING",
            SymbolStatus::Break => "BREAK",
        }
    }
}

/// Static description of one listed symbol.
#[derive(Clone, Debug, PartialEq)]
pub struct SymbolInfo {
    /// Upper-case symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Base asset, e.g. `BTC`.
    pub base: String,
    /// Quote asset, e.g. `USDT`.
    pub quote: String,
    /// Trading or not.
    pub status: SymbolStatus,
    /// Decimals of the price tick size (`tickSize` = 10^-price_decimals), 0..=8.
    pub price_decimals: u32,
    /// Decimals of the quantity step size (`stepSize` = 10^-qty_decimals), 0..=8.
    pub qty_decimals: u32,
    /// `isMarginTradingAllowed`.
    pub margin: bool,
}

impl SymbolInfo {
    /// `tickSize` as Binance writes it (8 decimals), e.g. `"0.01000000"`.
    pub fn tick_size(&self) -> String {
        super::fmt_units(10i64.pow(8 - self.price_decimals))
    }
    /// `stepSize` as Binance writes it, e.g. `"0.00001000"`.
    pub fn step_size(&self) -> String {
        super::fmt_units(10i64.pow(8 - self.qty_decimals))
    }
}

/// Quote assets with their USD value, in Binance's usual order of importance.
const QUOTES: &[(&str, f64)] = &[
    ("USDT", 1.0),
    ("BTC", 60_000.0),
    ("ETH", 3_000.0),
    ("BNB", 600.0),
    ("FDUSD", 1.0),
    ("TRY", 0.031),
    ("USDC", 1.0),
    ("EUR", 1.08),
    ("BRL", 0.2),
    ("TUSD", 1.0),
];

/// How many of the most popular bases are quoted in each quote asset (same order as QUOTES).
const QUOTE_DEPTH: &[usize] = &[usize::MAX, usize::MAX, 150, 120, 100, 100, 80, 30, 25, 40];

/// Popular base assets with a plausible USD price, most popular first.
const BASES: &[(&str, f64)] = &[
    ("BTC", 60_000.0),
    ("ETH", 3_000.0),
    ("BNB", 600.0),
    ("SOL", 150.0),
    ("XRP", 0.6),
    ("ADA", 0.45),
    ("DOGE", 0.15),
    ("TRX", 0.12),
    ("LTC", 80.0),
    ("DOT", 7.0),
    ("LINK", 15.0),
    ("AVAX", 35.0),
    ("MATIC", 0.7),
    ("SHIB", 0.00002),
    ("ETC", 25.0),
    ("XLM", 0.11),
    ("ATOM", 9.0),
    ("UNI", 8.0),
    ("FIL", 6.0),
    ("APT", 9.0),
    ("ARB", 1.1),
    ("OP", 2.5),
    ("NEAR", 6.0),
    ("ICP", 12.0),
    ("BCH", 450.0),
    ("INJ", 30.0),
    ("SUI", 1.2),
    ("SEI", 0.5),
    ("TIA", 10.0),
    ("RNDR", 8.0),
    ("AAVE", 95.0),
    ("MKR", 2_800.0),
    ("GRT", 0.25),
    ("ALGO", 0.2),
    ("VET", 0.04),
    ("SAND", 0.45),
    ("MANA", 0.45),
    ("AXS", 7.5),
    ("EGLD", 45.0),
    ("THETA", 2.0),
    ("FTM", 0.7),
    ("XTZ", 1.0),
    ("EOS", 0.8),
    ("KAVA", 0.7),
    ("NEO", 15.0),
    ("IOTA", 0.25),
    ("ZEC", 25.0),
    ("DASH", 30.0),
    ("XMR", 150.0),
    ("COMP", 55.0),
    ("SNX", 3.0),
    ("CRV", 0.5),
    ("1INCH", 0.45),
    ("SUSHI", 1.1),
    ("YFI", 7_000.0),
    ("BAT", 0.25),
    ("ENJ", 0.3),
    ("CHZ", 0.11),
    ("GALA", 0.04),
    ("APE", 1.4),
    ("LDO", 2.2),
    ("RUNE", 5.5),
    ("STX", 2.1),
    ("IMX", 2.0),
    ("FLOW", 0.9),
    ("MINA", 0.8),
    ("QNT", 100.0),
    ("HBAR", 0.1),
    ("KSM", 30.0),
    ("ZIL", 0.025),
    ("ONE", 0.02),
    ("ROSE", 0.1),
    ("CELO", 0.8),
    ("WAVES", 2.0),
    ("ICX", 0.25),
    ("QTUM", 3.5),
    ("ONT", 0.25),
    ("ZRX", 0.5),
    ("OMG", 0.6),
    ("ANKR", 0.04),
    ("RVN", 0.03),
    ("SC", 0.008),
    ("HOT", 0.002),
    ("DENT", 0.001),
    ("WIN", 0.0001),
    ("BTT", 0.000001),
    ("JST", 0.03),
    ("SXP", 0.35),
    ("LRC", 0.25),
    ("STORJ", 0.5),
    ("BAND", 1.6),
    ("KNC", 0.6),
    ("REN", 0.06),
    ("OCEAN", 0.7),
    ("FET", 1.5),
    ("AGIX", 0.7),
    ("WLD", 2.5),
    ("PEPE", 0.00001),
    ("FLOKI", 0.0002),
    ("BONK", 0.00002),
    ("WIF", 2.5),
    ("JUP", 1.0),
    ("PYTH", 0.4),
    ("DYDX", 2.0),
    ("GMX", 30.0),
    ("PENDLE", 5.0),
    ("BLUR", 0.3),
    ("CFX", 0.2),
    ("ID", 0.5),
    ("MAGIC", 0.6),
    ("HOOK", 0.8),
    ("HIGH", 2.0),
    ("ACH", 0.025),
    ("SSV", 30.0),
    ("RPL", 20.0),
    ("CAKE", 2.5),
    ("TWT", 1.0),
    ("ALPHA", 0.1),
    ("BAKE", 0.25),
    ("BURGER", 0.5),
    ("XVS", 9.0),
    ("ALICE", 1.2),
    ("TLM", 0.015),
    ("SLP", 0.003),
    ("C98", 0.25),
    ("DODO", 0.15),
    ("LINA", 0.006),
    ("REEF", 0.002),
    ("COTI", 0.1),
    ("CTSI", 0.2),
    ("OGN", 0.12),
    ("NKN", 0.1),
    ("ARPA", 0.06),
    ("CELR", 0.02),
    ("DUSK", 0.3),
    ("PERP", 0.8),
    ("TRB", 100.0),
    ("UMA", 3.0),
    ("BAL", 4.0),
    ("API3", 2.5),
    ("MASK", 3.0),
    ("AUDIO", 0.2),
    ("ILV", 80.0),
    ("YGG", 0.7),
    ("GMT", 0.25),
    ("LUNC", 0.0001),
    ("LUNA", 0.6),
    ("USTC", 0.02),
    ("JASMY", 0.02),
    ("ENS", 15.0),
    ("GLMR", 0.3),
    ("ASTR", 0.1),
    ("AR", 30.0),
    ("KDA", 1.0),
    ("ZEN", 10.0),
    ("ETHFI", 3.0),
    ("ENA", 0.8),
    ("W", 0.5),
    ("NOT", 0.015),
    ("ORDI", 40.0),
    ("SATS", 0.0000003),
    ("TON", 6.5),
    ("STRK", 1.0),
    ("MANTA", 1.5),
    ("ALT", 0.3),
    ("AXL", 1.0),
    ("DYM", 3.0),
    ("PIXEL", 0.3),
    ("PORTAL", 1.0),
    ("AEVO", 1.0),
];

/// Pairs listed first, in this order, whatever the symbol count (the classic Binance ids
/// 1..3 are ETHBTC, LTCBTC, BNBBTC).
const FIRST: &[(&str, &str)] = &[
    ("ETH", "BTC"),
    ("LTC", "BTC"),
    ("BNB", "BTC"),
    ("BTC", "USDT"),
    ("ETH", "USDT"),
    ("BNB", "USDT"),
    ("SOL", "USDT"),
    ("XRP", "USDT"),
    ("ADA", "USDT"),
    ("DOGE", "USDT"),
    ("LTC", "USDT"),
    ("BNB", "ETH"),
    ("SOL", "BTC"),
    ("XRP", "BTC"),
    ("LINK", "BTC"),
    ("LINK", "USDT"),
    ("TRX", "USDT"),
    ("DOT", "USDT"),
    ("ETH", "FDUSD"),
    ("BTC", "TRY"),
];

/// Pairs with non-ASCII (UTF-8) base assets, listed right after the well-known pairs whatever the
/// symbol count, always trading. Binance's spot changelog of 2025-12-02: "Parameter
/// `symbol` and `symbols` can now support Unicode values encoded in UTF-8"; `币安人生USDT`
/// is such a listing.
pub const UNICODE: &[(&str, &str)] = &[
    ("币安人生", "USDT"),
    ("币安人生", "USDC"),
    ("币安人生", "FDUSD"),
];

/// USD price of the [`UNICODE`] bases.
const UNICODE_BASE_USD: f64 = 0.12;

/// A listed pair before its state is created.
pub(super) struct Listing {
    pub info: SymbolInfo,
    /// Price in the quote asset.
    pub price: f64,
    /// Price of the base in USD (sizes volumes).
    pub base_usd: f64,
}

/// Lists `count` symbols, deterministic for `seed` (names do not depend on the seed).
pub(super) fn list(seed: u64, count: usize) -> Vec<Listing> {
    let mut rng = Rng::with_seed(seed ^ 0x005E_ED0F_5A11);
    let mut names = Rng::with_seed(0xBA5E);
    let mut out: Vec<Listing> = Vec::with_capacity(count);
    let mut seen = std::collections::HashSet::new();
    let mut push = |base: &str,
                    base_usd: f64,
                    quote_idx: usize,
                    out: &mut Vec<Listing>,
                    rng: &mut Rng,
                    always_trading: bool| {
        let (quote, quote_usd) = QUOTES[quote_idx];
        let symbol = format!("{base}{quote}");
        let price = base_usd / quote_usd;
        if base == quote || price < 1e-7 || !seen.insert(symbol.clone()) {
            return;
        }
        let first = out.len() < FIRST.len() || always_trading;
        out.push(Listing {
            info: SymbolInfo {
                price_decimals: decimals(price, 6 + rng.u32(0..=1)),
                qty_decimals: (base_usd.log10().floor() as i64 + 1).clamp(0, 8) as u32,
                status: if first || rng.f64() >= 0.08 {
                    SymbolStatus::Trading
                } else {
                    SymbolStatus::Break
                },
                margin: quote_idx < 4 && rng.bool(),
                symbol,
                base: base.to_string(),
                quote: quote.to_string(),
            },
            price,
            base_usd,
        });
    };
    for (base, quote) in FIRST {
        let usd = usd_of(base);
        let qi = QUOTES.iter().position(|(q, _)| q == quote).unwrap_or(0);
        push(base, usd, qi, &mut out, &mut rng, false);
    }
    for (base, quote) in UNICODE {
        let qi = QUOTES.iter().position(|(q, _)| q == quote).unwrap_or(0);
        push(base, UNICODE_BASE_USD, qi, &mut out, &mut rng, true);
    }
    let mut rank = 0usize;
    while out.len() < count {
        let (base, usd) = match BASES.get(rank) {
            Some((b, usd)) => (b.to_string(), *usd),
            None => (
                synthetic_name(&mut names),
                10f64.powf(rng.f64() * 5.0 - 3.0),
            ),
        };
        for (qi, depth) in QUOTE_DEPTH.iter().enumerate() {
            if rank < *depth && out.len() < count {
                push(&base, usd, qi, &mut out, &mut rng, false);
            }
        }
        rank += 1;
    }
    out.truncate(count);
    out
}

fn usd_of(asset: &str) -> f64 {
    BASES
        .iter()
        .chain(QUOTES)
        .find(|(a, _)| *a == asset)
        .map_or(1.0, |(_, usd)| *usd)
}

/// Tick decimals giving about `significant` digits to `price`, within Binance's 0..=8.
fn decimals(price: f64, significant: u32) -> u32 {
    let magnitude = price.log10().floor() as i64;
    (significant as i64 - 1 - magnitude).clamp(0, 8) as u32
}

/// A pronounceable 3..=5 letter asset name (e.g. `ZOLEK`).
fn synthetic_name(rng: &mut Rng) -> String {
    const C: &[u8] = b"BCDFGKLMNPRSTVXZ";
    const V: &[u8] = b"AEIOU";
    let len = rng.usize(3..=5);
    (0..len)
        .map(|i| {
            let set = if i % 2 == 0 { C } else { V };
            set[rng.usize(..set.len())] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_pairs_come_first_and_names_are_unique() {
        let l = list(1, 1600);
        assert_eq!(l.len(), 1600);
        let names: Vec<&str> = l.iter().map(|x| x.info.symbol.as_str()).collect();
        assert_eq!(&names[..4], &["ETHBTC", "LTCBTC", "BNBBTC", "BTCUSDT"]);
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        let unicode: Vec<String> = UNICODE.iter().map(|(b, q)| format!("{b}{q}")).collect();
        assert_eq!(names[FIRST.len()..FIRST.len() + UNICODE.len()], unicode);
        assert!(names[FIRST.len()..FIRST.len() + UNICODE.len()]
            .iter()
            .all(|n| !n.is_ascii()
                && l.iter()
                    .any(|x| x.info.symbol == *n && x.info.status == SymbolStatus::Trading)));
        assert!(names
            .iter()
            .filter(|n| !unicode.contains(&n.to_string()))
            .all(|n| n.len() <= 20 && n.bytes().all(|b| b.is_ascii_alphanumeric())));
        let breaks = l
            .iter()
            .filter(|x| x.info.status == SymbolStatus::Break)
            .count();
        assert!(breaks > 30 && breaks < 300, "{breaks} BREAK symbols");
    }

    #[test]
    fn tick_sizes_follow_price_magnitude() {
        assert_eq!(decimals(60_000.0, 7), 2);
        assert_eq!(decimals(0.0013, 6), 8);
        assert_eq!(decimals(1_900_000.0, 6), 0);
    }
}
