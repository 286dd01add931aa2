//! The recorder against a real S3-compatible server (`sim::s3::S3Server`, moto_server
//! behind a cuttable endpoint), and the bucket as a test sees it: keys, ETags, objects.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};
use sim::s3::{S3Server, SECRET_ACCESS_KEY};

use super::{spawn, Running};

pub fn s3_server() -> S3Server {
    S3Server::start().expect("S3 test server (run scripts/setup-test-env.sh)")
}

/// The recorder on `s3.url(prefix)` with its journal in `journal`, checkpoints every second
/// unless `extra` says otherwise.
pub fn spawn_s3(
    s3: &S3Server,
    prefix: &str,
    journal: &Path,
    ws_url: &str,
    extra: &[&str],
) -> Running {
    spawn(s3_command(&[], s3, prefix, journal, ws_url, extra))
}

/// The command [`spawn_s3`] runs, run by `wrapper` (e.g. `unshare --pid …`) when not empty.
pub fn s3_command(
    wrapper: &[&str],
    s3: &S3Server,
    prefix: &str,
    journal: &Path,
    ws_url: &str,
    extra: &[&str],
) -> std::process::Command {
    let recorder = env!("CARGO_BIN_EXE_recorder");
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut cmd = std::process::Command::new(program);
            cmd.args(args).arg(recorder);
            cmd
        }
        None => std::process::Command::new(recorder),
    };
    cmd.arg("--out-dir")
        .arg(s3.url(prefix))
        .arg("--journal-dir")
        .arg(journal)
        .args(["--idle-timeout-secs", "2"]);
    if !extra.contains(&"--checkpoint-secs") {
        cmd.args(["--checkpoint-secs", "1"]);
    }
    cmd.args(extra)
        .envs(s3.env())
        .env("BINANCE_WS_URL", ws_url)
        .env("LOG_FILE", journal.with_extension("log"))
        .env_remove("RECORDER_OUT_DIR")
        .env_remove("RECORDER_JOURNAL_DIR")
        .env_remove("RECORDER_CHECKPOINT_SECS")
        .env_remove("RECORDER_COMPACT_AFTER_SECS");
    cmd
}

/// The test's own client of the server's bucket.
pub struct Bucket {
    pub store: Arc<dyn ObjectStore>,
    pub rt: tokio::runtime::Runtime,
}

impl Bucket {
    pub fn new(s3: &S3Server) -> Bucket {
        let config =
            dataset::location::S3Config::from_vars(s3.bucket(), |name| s3.var(name)).unwrap();
        Bucket {
            store: config.build().unwrap(),
            rt: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    /// Key (below `prefix`) -> ETag of every object under it.
    pub fn etags(&self, prefix: &str) -> HashMap<String, String> {
        use futures::TryStreamExt;
        let metas: Vec<_> = self
            .rt
            .block_on(self.store.list(Some(&Key::from(prefix))).try_collect())
            .unwrap();
        metas
            .into_iter()
            .map(|m| (m.location.to_string(), m.e_tag.unwrap_or_default()))
            .collect()
    }

    /// The whole object at `key`.
    pub fn get(&self, key: &str) -> Vec<u8> {
        let key = Key::from(key);
        self.rt
            .block_on(async { self.store.get(&key).await?.bytes().await })
            .unwrap()
            .to_vec()
    }

    /// True if an object is at `key` (one HEAD: cheaper for the server than a listing, to
    /// poll with).
    pub fn exists(&self, key: &str) -> bool {
        let key = Key::from(key);
        match self.rt.block_on(self.store.head(&key)) {
            Ok(_) => true,
            Err(object_store::Error::NotFound { .. }) => false,
            Err(e) => panic!("HEAD {key}: {e}"),
        }
    }

    /// Checkpoint objects (`…/date=…/….parquet`) under `prefix`.
    pub fn tick_objects(&self, prefix: &str) -> usize {
        self.etags(prefix)
            .keys()
            .filter(|k| k.contains("/date=") && k.ends_with(".parquet"))
            .count()
    }

    /// The dataset under `prefix`, read through `dataset`.
    pub fn dataset(&self, prefix: &str) -> dataset::Dataset {
        let spool = std::env::temp_dir().join(format!("s3-test-spool-{}", std::process::id()));
        dataset::Dataset::object(self.store.clone(), prefix, format!("s3://test/{prefix}"))
            .with_spool(spool)
    }
}

/// No object seen before changed its ETag (it may have been removed by compaction).
pub fn assert_nothing_overwritten(
    before: &HashMap<String, String>,
    after: &HashMap<String, String>,
) {
    for (key, etag) in before {
        if key.ends_with("_lock") {
            continue; // the lease object is rewritten by design (If-Match)
        }
        if let Some(now) = after.get(key) {
            assert_eq!(now, etag, "{key} was overwritten");
        }
    }
}

pub fn assert_no_secret(rec: &Running) {
    for line in rec.out.iter().chain(&rec.err) {
        assert!(
            !line.contains(SECRET_ACCESS_KEY),
            "secret in output: {line}"
        );
    }
}
