//! Diesel database layer (being written).
