//! Diesel table definitions, written by hand to match the three migration flavours
//! (`migrations/sqlite/`, `migrations/mysql/`, `migrations/postgres/`). Times are UTC
//! `NaiveDateTime`s.

diesel::table! {
    /// Named portfolios; every trade and position belongs to one.
    portfolios (name) {
        /// The name given with `--portfolio` (`default` unless told otherwise).
        name -> Varchar,
        /// When it was first used.
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Coins seen in a top-N answer.
    coins (id) {
        /// CoinGecko id, e.g. `bitcoin`.
        id -> Varchar,
        /// Ticker as CoinGecko sends it (lower case).
        symbol -> Varchar,
        /// Display name.
        name -> Varchar,
        /// First cycle that saw the coin.
        first_seen_at -> Timestamp,
        /// Last cycle that saw the coin.
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// One row per coin per cycle.
    market_snapshots (id) {
        /// Row id.
        id -> BigInt,
        /// The coin.
        coin_id -> Varchar,
        /// When the cycle fetched it.
        fetched_at -> Timestamp,
        /// USD price, null when CoinGecko had none.
        current_price -> Nullable<Double>,
        /// Market cap.
        market_cap -> Nullable<Double>,
        /// Rank by market cap.
        market_cap_rank -> Nullable<Integer>,
        /// 24 h volume.
        total_volume -> Nullable<Double>,
        /// CoinGecko's `last_updated`.
        last_updated -> Nullable<Timestamp>,
        /// Average of the last 10 daily prices, null when it could not be computed.
        avg_price_10d -> Nullable<Double>,
    }
}

diesel::table! {
    /// Executed (simulated) orders; UNIQUE (portfolio, coin_id, slot).
    trades (id) {
        /// Row id.
        id -> BigInt,
        /// The portfolio.
        portfolio -> Varchar,
        /// The coin.
        coin_id -> Varchar,
        /// `buy` or `sell`.
        side -> Varchar,
        /// Coins.
        quantity -> Double,
        /// Fill price.
        price -> Double,
        /// Fill time.
        executed_at -> Timestamp,
        /// `executed_at` truncated to the hour.
        slot -> Timestamp,
        /// Fee paid, in the quote currency (part of the cost).
        fee -> Double,
        /// Where the fill price came from, e.g. `coingecko:markets.current_price`.
        price_source -> Varchar,
        /// When that price was current (null for trades recorded before it was stored).
        price_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Current holdings, one row per (portfolio, coin).
    positions (portfolio, coin_id) {
        /// The portfolio.
        portfolio -> Varchar,
        /// The coin.
        coin_id -> Varchar,
        /// Coins held.
        quantity -> Double,
        /// Average cost per coin.
        avg_cost -> Double,
        /// Last change.
        updated_at -> Timestamp,
    }
}

diesel::joinable!(market_snapshots -> coins (coin_id));
diesel::joinable!(trades -> coins (coin_id));
diesel::joinable!(positions -> coins (coin_id));
diesel::allow_tables_to_appear_in_same_query!(
    portfolios,
    coins,
    market_snapshots,
    trades,
    positions
);
