//! The local-directory backend of [`Dataset`](super::Dataset): listing and removing files.
//! (Writing goes through [`StagedFile`](crate::StagedFile): temporary name, fsync,
//! hard link, directory fsync.)

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use super::FileEntry;
use crate::{layout, TickError};

/// The visible Parquet files under `root/dir`, recursively (none if it is missing).
pub(super) fn files(root: &Path, dir: &str) -> Result<Vec<FileEntry>, TickError> {
    let mut out = Vec::new();
    walk(root, dir, &mut out)?;
    Ok(out)
}

fn walk(root: &Path, dir: &str, out: &mut Vec<FileEntry>) -> Result<(), TickError> {
    let path = root.join(dir);
    let entries = match fs::read_dir(&path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound && !dir.is_empty() => return Ok(()),
        Err(e) => return Err(TickError::io(&path)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(TickError::io(&path))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if layout::is_hidden(&name) {
            continue;
        }
        let key = layout::join(dir, &name);
        let kind = entry.file_type().map_err(TickError::io(entry.path()))?;
        if kind.is_dir() {
            walk(root, &key, out)?;
        } else if layout::is_visible_file(&key) {
            let size = entry.metadata().map_err(TickError::io(entry.path()))?.len();
            out.push(FileEntry { key, size });
        }
    }
    Ok(())
}

/// (sub-directory names, file names) of `dir` that are valid UTF-8 (none if it is missing).
pub(super) fn names(dir: &Path) -> Result<(Vec<String>, Vec<String>), TickError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(TickError::io(dir)(e)),
    };
    let (mut dirs, mut files) = (Vec::new(), Vec::new());
    for entry in entries {
        let entry = entry.map_err(TickError::io(dir))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if entry
            .file_type()
            .map_err(TickError::io(entry.path()))?
            .is_dir()
        {
            dirs.push(name);
        } else {
            files.push(name);
        }
    }
    Ok((dirs, files))
}

/// Removes a file; a missing one is not an error.
pub(super) fn remove(path: &Path) -> Result<(), TickError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(TickError::io(path)(e)),
        _ => Ok(()),
    }
}
