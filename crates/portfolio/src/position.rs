//! Positions: quantity held and average cost, updated by fills.

use crate::order::{Fill, Side};

/// What is held of one coin.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// CoinGecko id of the coin.
    pub coin_id: String,
    /// Coins held.
    pub quantity: f64,
    /// Average cost per coin of what is held (weighted by quantity).
    pub avg_cost: f64,
}

/// Why a fill cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PositionError {
    /// The fill is for another coin.
    #[error("fill for {fill} applied to the position in {position}")]
    OtherCoin {
        /// The position's coin.
        position: String,
        /// The fill's coin.
        fill: String,
    },
    /// Selling more than is held.
    #[error("cannot sell {sell} coins, only {held} held")]
    Oversold {
        /// Coins held.
        held: f64,
        /// Coins to sell.
        sell: f64,
    },
}

impl Position {
    /// An empty position.
    pub fn empty(coin_id: impl Into<String>) -> Position {
        Position {
            coin_id: coin_id.into(),
            quantity: 0.0,
            avg_cost: 0.0,
        }
    }

    /// Applies a fill. A buy moves the average cost to
    /// `(quantity * avg_cost + fill.quantity * fill.price) / (quantity + fill.quantity)`;
    /// a sell reduces the quantity and keeps the average cost (reset to 0 when flat).
    ///
    /// # Errors
    ///
    /// [`PositionError::OtherCoin`] for a fill of another coin; [`PositionError::Oversold`]
    /// when a sell exceeds the quantity held. The position is unchanged then.
    ///
    /// ```
    /// use portfolio::{submit_order, Order, Position};
    /// let now = chrono::Utc::now();
    /// let mut p = Position::empty("bitcoin");
    /// p.apply(&submit_order(&Order::buy("bitcoin", 1.0), 100.0, now).unwrap()).unwrap();
    /// p.apply(&submit_order(&Order::buy("bitcoin", 1.0), 70.0, now).unwrap()).unwrap();
    /// assert_eq!((p.quantity, p.avg_cost), (2.0, 85.0));
    /// ```
    pub fn apply(&mut self, fill: &Fill) -> Result<(), PositionError> {
        if fill.coin_id != self.coin_id {
            return Err(PositionError::OtherCoin {
                position: self.coin_id.clone(),
                fill: fill.coin_id.clone(),
            });
        }
        match fill.side {
            Side::Buy => {
                // The fee is part of the cost. Weighted mean of the old average and the
                // fill's cost per coin, written so that it cannot overflow where the
                // prices themselves do not (q × avg + qty × price would for 1e308).
                let quantity = self.quantity + fill.quantity;
                let unit_cost = fill.price + fill.fee / fill.quantity;
                self.avg_cost = self.avg_cost * (self.quantity / quantity)
                    + unit_cost * (fill.quantity / quantity);
                self.quantity = quantity;
            }
            Side::Sell => {
                if fill.quantity > self.quantity {
                    return Err(PositionError::Oversold {
                        held: self.quantity,
                        sell: fill.quantity,
                    });
                }
                self.quantity -= fill.quantity;
                if self.quantity == 0.0 {
                    self.avg_cost = 0.0;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn fill(coin: &str, side: Side, quantity: f64, price: f64) -> Fill {
        Fill {
            coin_id: coin.into(),
            side,
            quantity,
            price,
            fee: 0.0,
            executed_at: Utc::now(),
        }
    }

    #[test]
    fn huge_prices_average_without_overflow() {
        let mut p = Position::empty("c");
        for _ in 0..3 {
            p.apply(&fill("c", Side::Buy, 1.0, 1e308)).expect("apply");
        }
        assert!(p.avg_cost.is_finite(), "{}", p.avg_cost);
        assert!((p.avg_cost - 1e308).abs() / 1e308 < 1e-12, "{}", p.avg_cost);
    }

    #[test]
    fn the_fee_is_part_of_the_cost() {
        let mut p = Position::empty("c");
        let mut f = fill("c", Side::Buy, 2.0, 100.0);
        f.fee = 1.0;
        p.apply(&f).expect("apply");
        assert_eq!((p.quantity, p.avg_cost), (2.0, 100.5));
    }

    #[test]
    fn average_cost_is_weighted_by_quantity() {
        // (fills as (quantity, price), quantity, avg_cost)
        type Case<'a> = (&'a [(f64, f64)], f64, f64);
        let cases: &[Case] = &[
            (&[(1.0, 100.0)], 1.0, 100.0),
            (&[(1.0, 100.0), (1.0, 50.0)], 2.0, 75.0),
            (&[(1.0, 100.0), (1.0, 50.0), (1.0, 60.0)], 3.0, 70.0),
            (&[(2.0, 10.0), (1.0, 40.0)], 3.0, 20.0),
        ];
        for (fills, q, avg) in cases {
            let mut p = Position::empty("c");
            for &(fq, fp) in *fills {
                p.apply(&fill("c", Side::Buy, fq, fp)).expect("apply");
            }
            assert_eq!(p.quantity, *q);
            assert!((p.avg_cost - avg).abs() < 1e-9, "{fills:?}: {}", p.avg_cost);
        }
    }

    #[test]
    fn sells_keep_the_average_and_cannot_oversell() {
        let mut p = Position::empty("c");
        p.apply(&fill("c", Side::Buy, 2.0, 10.0)).expect("buy");
        p.apply(&fill("c", Side::Sell, 1.0, 99.0)).expect("sell");
        assert_eq!((p.quantity, p.avg_cost), (1.0, 10.0));
        assert_eq!(
            p.apply(&fill("c", Side::Sell, 5.0, 1.0)),
            Err(PositionError::Oversold {
                held: 1.0,
                sell: 5.0
            })
        );
        p.apply(&fill("c", Side::Sell, 1.0, 1.0)).expect("sell");
        assert_eq!((p.quantity, p.avg_cost), (0.0, 0.0));
    }

    #[test]
    fn refuses_another_coins_fill() {
        let mut p = Position::empty("a");
        assert!(matches!(
            p.apply(&fill("b", Side::Buy, 1.0, 1.0)),
            Err(PositionError::OtherCoin { .. })
        ));
        assert_eq!(p, Position::empty("a"));
    }
}
