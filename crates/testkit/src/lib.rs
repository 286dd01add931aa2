//! Helpers for the workspace's tests, written once: every crate takes this as a
//! dev-dependency, never as a dependency (`scripts/layer-check.sh` fails otherwise).
//!
//! - `db` (module, only with feature `db`): a fresh, uniquely named database on the local MariaDB
//!   (127.0.0.1:3306, `root`, empty password) or PostgreSQL (127.0.0.1:5432, `postgres`,
//!   trust) server, dropped when the value is dropped. `make test`'s set-up starts both
//!   servers; a test that needs one FAILS when it is not reachable.
//! - [`seed`]: a random number generator whose seed is printed and can be set again
//!   (`TEST_SEED`), for tests that want varied values (a kill delay, an order of events)
//!   without being impossible to repeat.
//! - [`errors`]: checks that an error's `{:#}` chain says each cause once.
//! - [`http`]: a server answering bodies over any size cap (announced or endless).
//!
//! ```
//! let mut rng = testkit::seed::rng("doc example");
//! let delay_ms = rng.u64(5..50);
//! assert!((5..50).contains(&delay_ms));
//! ```

#![warn(missing_docs)]

#[cfg(feature = "db")]
pub mod db;
pub mod errors;
pub mod http;
pub mod seed;
