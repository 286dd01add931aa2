//! [`blocking`]: the dataset's file work (opening, checkpoints) called from async code.

/// Runs blocking file work without stalling the other tasks of a multi-threaded tokio
/// runtime (`block_in_place`: the stream keeps reading and answering pings meanwhile), or
/// inline on a current-thread runtime and outside any runtime.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}
