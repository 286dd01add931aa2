//! File-system durability shared by every writer of the workspace (the dataset's files, the
//! recorder's journal).

use std::path::Path;

/// Makes the directory entries of `dir` durable (`fsync` on the directory): a file created,
/// renamed or linked into `dir` survives a power cut once this returns. A no-op where
/// directories cannot be opened (not Unix).
///
/// # Errors
/// `dir` cannot be opened or synced.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn syncs_a_directory_and_reports_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        super::sync_dir(dir.path()).unwrap();
        let missing = dir.path().join("missing");
        assert!(super::sync_dir(&missing).is_err());
    }
}
