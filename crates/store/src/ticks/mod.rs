//! Parquet tick store (being written).
