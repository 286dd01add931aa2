//! The trading rule: buy when the price is strictly below its average.

/// What to do with one coin this hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Buy one coin.
    Buy,
    /// Do nothing (price at or above the average, or a price that cannot be compared).
    Hold,
}

/// Buy iff `current` is **strictly** below `average`. Equal prices, and any NaN or
/// infinite input, hold.
///
/// ```
/// use portfolio::{decide, Decision};
/// assert_eq!(decide(99.0, 100.0), Decision::Buy);
/// assert_eq!(decide(100.0, 100.0), Decision::Hold);
/// ```
pub fn decide(current: f64, average: f64) -> Decision {
    if current.is_finite() && average.is_finite() && current < average {
        Decision::Buy
    } else {
        Decision::Hold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_below_buys() {
        let cases = [
            (99.99, 100.0, Decision::Buy),
            (0.0001, 0.0002, Decision::Buy),
            (100.0, 100.0, Decision::Hold),
            (100.01, 100.0, Decision::Hold),
            (f64::NAN, 100.0, Decision::Hold),
            (1.0, f64::NAN, Decision::Hold),
            (1.0, f64::INFINITY, Decision::Hold),
            (f64::NEG_INFINITY, 1.0, Decision::Hold),
        ];
        for (cur, avg, want) in cases {
            assert_eq!(decide(cur, avg), want, "{cur} vs {avg}");
        }
    }
}
