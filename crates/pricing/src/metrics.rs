//! The CoinGecko client's metrics, each name declared once here ([`describe`] gives the
//! `# HELP` texts).
//!
//! | name | type | what |
//! |---|---|---|
//! | `pricing_api_retries_total` | counter | CoinGecko calls retried (5xx, network errors, rate limits) |
//! | `pricing_api_rate_limits_total` | counter | rate-limit answers (HTTP 429, or a 429 body on 200) |

use metrics::{counter, describe_counter, Unit};

/// Counter: CoinGecko calls retried (5xx, network errors, rate limits).
pub const API_RETRIES: &str = "pricing_api_retries_total";
/// Counter: rate-limit answers (HTTP 429, or a 429 body on 200).
pub const API_RATE_LIMITS: &str = "pricing_api_rate_limits_total";

/// Gives every metric above its `# HELP` text; call once after installing a recorder.
pub fn describe() {
    describe_counter!(
        API_RETRIES,
        Unit::Count,
        "CoinGecko calls retried (5xx, network errors, rate limits)"
    );
    describe_counter!(
        API_RATE_LIMITS,
        Unit::Count,
        "Rate-limit answers from CoinGecko (HTTP 429 or a 429 body)"
    );
}

/// A call failed in a way worth retrying (`rate_limited`: CoinGecko said slow down).
pub(crate) fn retryable_failure(rate_limited: bool, retried: bool) {
    if rate_limited {
        counter!(API_RATE_LIMITS).increment(1);
    }
    if retried {
        counter!(API_RETRIES).increment(1);
    }
}
