//! The simulated order: fills immediately, in full, at the current price.

use chrono::{DateTime, Utc};

/// Order side. The bot only buys; `Sell` exists so that stored trades can say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// A purchase.
    Buy,
    /// A sale.
    Sell,
}

impl Side {
    /// `"buy"` or `"sell"`, as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

impl std::str::FromStr for Side {
    type Err = OrderError;
    fn from_str(s: &str) -> Result<Side, OrderError> {
        match s {
            "buy" => Ok(Side::Buy),
            "sell" => Ok(Side::Sell),
            other => Err(OrderError::UnknownSide(other.to_owned())),
        }
    }
}

/// An order to place.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// CoinGecko id of the coin.
    pub coin_id: String,
    /// Side.
    pub side: Side,
    /// Quantity in coins.
    pub quantity: f64,
}

impl Order {
    /// A market buy of `quantity` coins.
    pub fn buy(coin_id: impl Into<String>, quantity: f64) -> Order {
        Order {
            coin_id: coin_id.into(),
            side: Side::Buy,
            quantity,
        }
    }
}

/// An executed order.
#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    /// CoinGecko id of the coin.
    pub coin_id: String,
    /// Side.
    pub side: Side,
    /// Quantity filled (always the whole order).
    pub quantity: f64,
    /// Fill price.
    pub price: f64,
    /// Execution time.
    pub executed_at: DateTime<Utc>,
}

/// Why an order was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OrderError {
    /// Quantity zero, negative or not finite.
    #[error("invalid quantity {0}")]
    BadQuantity(f64),
    /// Price zero, negative or not finite.
    #[error("invalid price {0}")]
    BadPrice(f64),
    /// A stored side that is neither `buy` nor `sell`.
    #[error("unknown order side {0:?}")]
    UnknownSide(String),
}

/// Simulated execution: the whole order fills at `current_price`, at time `now`.
///
/// ```
/// use portfolio::{submit_order, Order};
/// let fill = submit_order(&Order::buy("bitcoin", 1.0), 70_187.0, chrono::Utc::now()).unwrap();
/// assert_eq!((fill.quantity, fill.price), (1.0, 70_187.0));
/// ```
pub fn submit_order(
    order: &Order,
    current_price: f64,
    now: DateTime<Utc>,
) -> Result<Fill, OrderError> {
    if !(order.quantity.is_finite() && order.quantity > 0.0) {
        return Err(OrderError::BadQuantity(order.quantity));
    }
    if !(current_price.is_finite() && current_price > 0.0) {
        return Err(OrderError::BadPrice(current_price));
    }
    Ok(Fill {
        coin_id: order.coin_id.clone(),
        side: order.side,
        quantity: order.quantity,
        price: current_price,
        executed_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_at_the_current_price() {
        let now = Utc::now();
        let fill = submit_order(&Order::buy("eth", 1.0), 3000.5, now).expect("fill");
        assert_eq!(
            fill,
            Fill {
                coin_id: "eth".into(),
                side: Side::Buy,
                quantity: 1.0,
                price: 3000.5,
                executed_at: now
            }
        );
    }

    #[test]
    fn refuses_bad_input() {
        let now = Utc::now();
        for q in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let r = submit_order(&Order::buy("x", q), 1.0, now);
            assert!(
                matches!(r, Err(OrderError::BadQuantity(v)) if v.to_bits() == q.to_bits()),
                "{q}: {r:?}"
            );
        }
        for p in [0.0, -2.0, f64::INFINITY] {
            assert_eq!(
                submit_order(&Order::buy("x", 1.0), p, now),
                Err(OrderError::BadPrice(p))
            );
        }
        assert!(matches!(
            submit_order(&Order::buy("x", 1.0), f64::NAN, now),
            Err(OrderError::BadPrice(_))
        ));
    }

    #[test]
    fn side_round_trips() {
        for s in [Side::Buy, Side::Sell] {
            assert_eq!(s.as_str().parse::<Side>(), Ok(s));
        }
        assert_eq!(
            "BUY".parse::<Side>(),
            Err(OrderError::UnknownSide("BUY".into()))
        );
    }
}
