//! Seeded randomness for tests: varied, yet repeatable.
//!
//! A value a test draws "at random" (a kill delay, where a fault lands) comes from
//! [`rng`], whose seed is printed on stderr (cargo test shows it for a failing test) and
//! is taken from the environment variable [`SEED_VAR`] when set, so a failure is repeated
//! with `TEST_SEED=<seed> cargo test <name>`. Put the seed into assertion messages too
//! ([`Rng::seed`](fastrand::Rng::get_seed)).

/// The environment variable that fixes the seed of every [`rng`].
pub const SEED_VAR: &str = "TEST_SEED";

/// A generator seeded from [`SEED_VAR`] if it holds a number, otherwise from fastrand's
/// own entropy; the seed is printed with `what` (the test's name or purpose).
///
/// ```
/// let rng = testkit::seed::rng("repeatable");
/// let again = fastrand::Rng::with_seed(rng.get_seed());
/// assert_eq!(rng.clone().u64(..), again.clone().u64(..));
/// ```
pub fn rng(what: &str) -> fastrand::Rng {
    let seed = std::env::var(SEED_VAR)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("{what}: random values from seed {seed} (repeat with {SEED_VAR}={seed})");
    fastrand::Rng::with_seed(seed)
}
