//! Exact decimal prices.
//!
//! Binance sends prices as decimal strings with 8 fractional digits (`"43680.00000000"`).
//! Comparing them as `f64` would be almost always right; [`Price`] makes it always right: a
//! non-negative fixed-point number with 18 fractional digits stored in a `u128`, so every
//! exchange price and every level a user can type compares exactly (`43680` equals
//! `43680.00000000`, so a level of 43680 does not fire on it).

use std::fmt;
use std::str::FromStr;

/// Number of fractional digits kept exactly.
pub const SCALE: u32 = 18;
const ONE: u128 = 10u128.pow(SCALE);
/// Largest integer part accepted: 10^20 - 1 (the fixed-point value then stays below 10^38).
const MAX_INT_DIGITS: usize = 20;

/// An exact, non-negative decimal number with up to 18 fractional digits.
///
/// ```
/// use alert::Price;
/// let level: Price = "43680".parse().unwrap();
/// let last: Price = "43680.00000000".parse().unwrap();
/// assert_eq!(level, last);
/// assert!("43680.00000001".parse::<Price>().unwrap() > level);
/// assert_eq!(level.to_string(), "43680");
/// assert_eq!("0.00150000".parse::<Price>().unwrap().to_string(), "0.0015");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price(u128);

/// Why a text is not a [`Price`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// Nothing (or only blanks) was given.
    #[error("no price given")]
    Empty,
    /// A minus sign: prices are never negative.
    #[error("'{0}' is negative; a price must be positive")]
    Negative(String),
    /// `inf`, `NaN` and friends.
    #[error("'{0}' is not a finite number")]
    NotFinite(String),
    /// Anything that is not a plain decimal such as `43680` or `0.0015`.
    #[error("'{0}' is not a number (expected a plain decimal such as 43680 or 0.0015)")]
    NotANumber(String),
    /// More than 18 significant fractional digits.
    #[error("'{0}' has more than 18 decimal places")]
    TooPrecise(String),
    /// An integer part of more than 20 digits.
    #[error("'{0}' is too large")]
    TooLarge(String),
}

impl Price {
    /// Zero.
    pub const ZERO: Price = Price(0);

    /// `true` when the price is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The value as `f64` (lossy; for JSON output and display only, never for decisions).
    pub fn to_f64(self) -> f64 {
        (self.0 / ONE) as f64 + (self.0 % ONE) as f64 / ONE as f64
    }
}

impl FromStr for Price {
    type Err = PriceError;

    /// Parses `123`, `123.`, `.5`, `+1.25`, `0.00150000`; blanks around are ignored.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let s = text.trim();
        let owned = || s.to_owned();
        if s.is_empty() {
            return Err(PriceError::Empty);
        }
        let body = s.strip_prefix('+').unwrap_or(s);
        if body.starts_with('-') {
            return Err(PriceError::Negative(owned()));
        }
        let lower = body.to_ascii_lowercase();
        if ["inf", "infinity", "nan"].contains(&lower.as_str()) {
            return Err(PriceError::NotFinite(owned()));
        }
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
            return Err(PriceError::NotANumber(owned()));
        }
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        if int.len() > MAX_INT_DIGITS {
            return Err(PriceError::TooLarge(owned()));
        }
        if frac.len() > SCALE as usize {
            return Err(PriceError::TooPrecise(owned()));
        }
        // Both parts are at most 20 and 18 ASCII digits, so the sums below cannot overflow:
        // (10^20 - 1) * 10^18 + (10^18 - 1) < 10^38 < u128::MAX.
        let digits = |p: &str| {
            p.bytes()
                .fold(0u128, |acc, b| acc * 10 + u128::from(b - b'0'))
        };
        let frac_value = digits(frac) * 10u128.pow(SCALE - frac.len() as u32);
        Ok(Price(digits(int) * ONE + frac_value))
    }
}

impl fmt::Display for Price {
    /// Canonical form: no leading zeros, no trailing fractional zeros, no `.` for integers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = self.0 / ONE;
        let frac = self.0 % ONE;
        if frac == 0 {
            return write!(f, "{int}");
        }
        let digits = format!("{frac:018}");
        write!(f, "{int}.{}", digits.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        let cases = [
            ("43680", "43680"),
            ("43680.00000000", "43680"),
            ("43680.", "43680"),
            ("0043680.10", "43680.1"),
            (".5", "0.5"),
            ("+1.25", "1.25"),
            ("  7  ", "7"),
            ("0", "0"),
            ("0.00000000", "0"),
            ("0.00150000", "0.0015"),
            ("0.000000000000000001", "0.000000000000000001"),
            ("1.100000000000000000000", "1.1"),
            (
                "99999999999999999999.999999999999999999",
                "99999999999999999999.999999999999999999",
            ),
        ];
        for (input, shown) in cases {
            let p: Price = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p.to_string(), shown, "input {input:?}");
        }
    }

    #[test]
    fn rejects_bad_text() {
        use PriceError::*;
        type IsExpected = fn(&PriceError) -> bool;
        let cases: [(&str, IsExpected); 14] = [
            ("", |e| matches!(e, Empty)),
            ("   ", |e| matches!(e, Empty)),
            ("-1", |e| matches!(e, Negative(_))),
            ("+-1", |e| matches!(e, Negative(_))),
            ("inf", |e| matches!(e, NotFinite(_))),
            ("NaN", |e| matches!(e, NotFinite(_))),
            ("Infinity", |e| matches!(e, NotFinite(_))),
            ("abc", |e| matches!(e, NotANumber(_))),
            (".", |e| matches!(e, NotANumber(_))),
            ("1.2.3", |e| matches!(e, NotANumber(_))),
            ("1e3", |e| matches!(e, NotANumber(_))),
            ("1 000", |e| matches!(e, NotANumber(_))),
            ("0.0000000000000000001", |e| matches!(e, TooPrecise(_))),
            ("100000000000000000000", |e| matches!(e, TooLarge(_))),
        ];
        for (input, is_expected) in cases {
            let err = input.parse::<Price>().expect_err(input);
            assert!(is_expected(&err), "input {input:?} gave {err:?}");
        }
    }

    #[test]
    fn compares_exactly() {
        let p = |s: &str| s.parse::<Price>().unwrap();
        let cases = [
            ("43680", "43680.00000000", std::cmp::Ordering::Equal),
            ("43680", "43680.00000001", std::cmp::Ordering::Less),
            ("43680", "43679.99999999", std::cmp::Ordering::Greater),
            ("0.1", "0.10000000", std::cmp::Ordering::Equal),
            ("0.3", "0.29999999", std::cmp::Ordering::Greater),
            ("100", "99.99999999", std::cmp::Ordering::Greater),
        ];
        for (a, b, ord) in cases {
            assert_eq!(p(a).cmp(&p(b)), ord, "{a} vs {b}");
        }
    }

    #[test]
    fn converts_to_f64_for_display() {
        assert_eq!("43680.5".parse::<Price>().unwrap().to_f64(), 43680.5);
        assert!(Price::ZERO.is_zero());
    }
}
