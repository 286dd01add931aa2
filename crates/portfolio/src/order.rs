//! The simulated order: fills immediately, in full, at the current price, with an
//! optional fee in basis points of the notional (default 0: the seed's "filled at the
//! current price" holds exactly).

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

/// The stored text (a database column) back to a side.
impl TryFrom<String> for Side {
    type Error = OrderError;
    fn try_from(s: String) -> Result<Side, OrderError> {
        s.parse()
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
    /// Fee in basis points of the notional (1 bp = 0.01 %).
    pub fee_bps: f64,
}

impl Order {
    /// A market buy of `quantity` coins, without fee.
    pub fn buy(coin_id: impl Into<String>, quantity: f64) -> Order {
        Order {
            coin_id: coin_id.into(),
            side: Side::Buy,
            quantity,
            fee_bps: 0.0,
        }
    }

    /// The same order with a fee of `bps` basis points of the notional.
    pub fn with_fee_bps(mut self, bps: f64) -> Order {
        self.fee_bps = bps;
        self
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
    /// Fee paid, in the quote currency: `quantity × price × fee_bps / 10 000`.
    pub fee: f64,
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
    /// Fee negative or not finite.
    #[error("invalid fee {0} bps")]
    BadFee(f64),
    /// A stored side that is neither `buy` nor `sell`.
    #[error("unknown order side {0:?}")]
    UnknownSide(String),
}

/// Simulated execution: the whole order fills at `current_price`, at time `now`, and
/// pays the order's fee on the notional.
///
/// # Errors
///
/// [`OrderError::BadQuantity`], [`OrderError::BadPrice`] or [`OrderError::BadFee`] when
/// the quantity or the price is not finite and positive, or the fee is negative or not
/// finite; nothing is filled then.
///
/// ```
/// use portfolio::{submit_order, Order};
/// let fill = submit_order(&Order::buy("bitcoin", 1.0), 70_187.0, chrono::Utc::now()).unwrap();
/// assert_eq!((fill.quantity, fill.price, fill.fee), (1.0, 70_187.0, 0.0));
/// let order = Order::buy("bitcoin", 2.0).with_fee_bps(10.0); // 0.1 %
/// let fill = submit_order(&order, 100.0, chrono::Utc::now()).unwrap();
/// assert!((fill.fee - 0.2).abs() < 1e-12);
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
    if !(order.fee_bps.is_finite() && order.fee_bps >= 0.0) {
        return Err(OrderError::BadFee(order.fee_bps));
    }
    // Rate first: quantity × price may overflow where the fee does not.
    let fee = order.quantity * (current_price * (order.fee_bps / 10_000.0));
    Ok(Fill {
        coin_id: order.coin_id.clone(),
        side: order.side,
        quantity: order.quantity,
        price: current_price,
        fee,
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
                fee: 0.0,
                executed_at: now
            }
        );
        let fill =
            submit_order(&Order::buy("eth", 2.0).with_fee_bps(25.0), 1000.0, now).expect("fill");
        assert!((fill.fee - 5.0).abs() < 1e-9, "{}", fill.fee);
        assert_eq!(fill.price, 1000.0, "the fee does not move the price");
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
        for f in [-1.0, f64::INFINITY] {
            assert_eq!(
                submit_order(&Order::buy("x", 1.0).with_fee_bps(f), 1.0, now),
                Err(OrderError::BadFee(f))
            );
        }
    }

    #[test]
    fn side_round_trips() {
        for s in [Side::Buy, Side::Sell] {
            assert_eq!(s.as_str().parse::<Side>(), Ok(s));
            assert_eq!(Side::try_from(s.as_str().to_owned()), Ok(s));
        }
        assert_eq!(
            "BUY".parse::<Side>(),
            Err(OrderError::UnknownSide("BUY".into()))
        );
    }
}
