//! [`blocking`]: storage work (Diesel queries, file writes) called from async code.

/// Runs blocking storage work without stalling the other tasks of a multi-threaded tokio
/// runtime (`block_in_place`: the stream keeps reading and answering pings meanwhile), or
/// inline on a current-thread runtime and outside any runtime.
///
/// ```
/// let rows = store::blocking(|| 2 + 2); // e.g. a Diesel query
/// assert_eq!(rows, 4);
/// ```
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}
