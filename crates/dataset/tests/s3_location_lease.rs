//! `dataset::location` and `dataset::lease` against a real S3-compatible server
//! (`sim::s3::S3Server`: moto_server on 127.0.0.1).

use std::sync::Arc;
use std::time::Duration;

use dataset::lease::{self, Lease, LeaseConfig, LeaseError, LeaseKeeper, LeaseStatus, Owner};
use dataset::location::{probe, LocationError, S3Config};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions};
use sim::s3::{S3Server, SECRET_ACCESS_KEY};

fn server() -> S3Server {
    S3Server::start().expect("S3 test server (run scripts/setup-test-env.sh)")
}

fn config(s3: &S3Server, bucket: &str) -> S3Config {
    S3Config::from_vars(bucket, |name| s3.var(name)).unwrap()
}

fn assert_clean(err: &dyn std::fmt::Display, debug: &dyn std::fmt::Debug) {
    for text in [err.to_string(), format!("{debug:?}")] {
        assert!(!text.contains(SECRET_ACCESS_KEY), "secret in {text}");
        assert!(!text.contains('\n'), "more than one line: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_and_create_only_puts() {
    let mut s3 = server();
    let cfg = config(&s3, s3.bucket());
    let store = cfg.build().unwrap();
    probe(store.as_ref(), &cfg, "ticks").await.unwrap();

    // What the publisher relies on: a create-only put never replaces an object.
    let key = Path::from("ticks/date=2024-01-02/a.parquet");
    let create = || PutOptions::from(PutMode::Create);
    store.put_opts(&key, "one".into(), create()).await.unwrap();
    let again = store
        .put_opts(&key, "two".into(), create())
        .await
        .unwrap_err();
    assert!(
        matches!(again, object_store::Error::AlreadyExists { .. }),
        "{again}"
    );
    let kept = store.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(&kept[..], b"one");

    // Missing bucket: its own message.
    let cfg_missing = config(&s3, "no-such-bucket");
    let missing = cfg_missing.build().unwrap();
    let err = probe(missing.as_ref(), &cfg_missing, "").await.unwrap_err();
    assert!(matches!(err, LocationError::NoSuchBucket { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("s3://no-such-bucket: no such bucket at http://127.0.0.1:"),
        "{err}"
    );
    assert_clean(&err, &err);

    // Endpoint down: unreachable, bounded by the retry policy (no hang), one line.
    s3.stop();
    let err = probe(store.as_ref(), &cfg, "ticks").await.unwrap_err();
    assert!(matches!(err, LocationError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("endpoint {} unreachable", s3.endpoint())),
        "{err}"
    );
    assert_clean(&err, &err);
    s3.restart().unwrap();
    probe(store.as_ref(), &cfg, "ticks").await.unwrap();
}

fn owner(name: &str) -> Owner {
    let me = Owner::this_process();
    Owner {
        id: format!("{name}-{}", me.id),
        ..me
    }
}

const CONFIG: LeaseConfig = LeaseConfig {
    ttl: Duration::from_secs(30),
    renew_every: Duration::from_secs(10),
    attempt_timeout: Duration::from_secs(5),
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_holders_renewal_takeover_and_release() {
    let s3 = server();
    let store: Arc<dyn ObjectStore> = config(&s3, s3.bucket()).build().unwrap();
    let t0 = 1_800_000_000_000_i64;

    let mut a = Lease::acquire_at(store.clone(), "p", owner("a"), CONFIG, None, t0)
        .await
        .unwrap();
    assert_eq!(a.path().as_ref(), "p/_lock");

    // A second recorder is refused, and told who holds the prefix.
    let err = Lease::acquire_at(store.clone(), "p", owner("b"), CONFIG, None, t0 + 1_000)
        .await
        .unwrap_err();
    let LeaseError::Held { holder, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(holder.id, a.record().owner.id);
    let text = err.to_string();
    assert!(
        text.contains("p/_lock is held by recorder a-")
            && text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
    assert_clean(&err, &err);

    // Renewal moves the expiry; a later contender within the new lease is still refused.
    a.renew_at(t0 + 20_000).await.unwrap();
    assert_eq!(a.record().expires_ms, t0 + 50_000);
    assert!(
        Lease::acquire_at(store.clone(), "p", owner("b"), CONFIG, None, t0 + 40_000)
            .await
            .is_err()
    );

    // After expiry b takes over; a's next renewal finds out and names b.
    let b = Lease::acquire_at(store.clone(), "p", owner("b"), CONFIG, None, t0 + 50_000)
        .await
        .unwrap();
    let lost = a.renew_at(t0 + 51_000).await.unwrap_err();
    assert!(matches!(lost, LeaseError::Lost { .. }), "{lost}");
    assert!(lost.to_string().contains("taken over by b-"), "{lost}");
    // ... and a's release cannot undo b's lease.
    assert!(a.release().await.is_err());
    assert!(
        Lease::acquire_at(store.clone(), "p", owner("c"), CONFIG, None, t0 + 52_000)
            .await
            .is_err()
    );

    // A clean release lets the next recorder start at once, long before expiry.
    b.release().await.unwrap();
    let c = Lease::acquire_at(store.clone(), "p", owner("c"), CONFIG, None, t0 + 53_000)
        .await
        .unwrap();
    c.release().await.unwrap();

    // Other prefixes are independent.
    Lease::acquire_at(store.clone(), "q", owner("d"), CONFIG, None, t0)
        .await
        .unwrap();
}

/// A live lease is taken over before its expiry only by the recorder that inherited its
/// holder's locked directory (the id in `lease_owner`), never because a pid looks dead:
/// same host, a pid that is certainly not running here, and still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_predecessor_token_shortens_a_live_lease() {
    let s3 = server();
    let store: Arc<dyn ObjectStore> = config(&s3, s3.bucket()).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A child that exits at once: its pid is free afterwards.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let me = Owner::this_process();
    let killed = Owner {
        id: "killed".into(),
        pid: dead_pid,
        ..me.clone()
    };
    let _killed = Lease::acquire(
        store.clone(),
        "k",
        killed.clone(),
        LeaseConfig::default(),
        None,
    )
    .await
    .unwrap();
    lease::remember_owner(dir.path(), &killed).unwrap();

    // Another journal (no predecessor, or another one): held, the holder named.
    for predecessor in [None, Some("someone-else")] {
        let err = Lease::acquire(
            store.clone(),
            "k",
            me.clone(),
            LeaseConfig::default(),
            predecessor,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, LeaseError::Held { holder, .. } if holder.id == "killed"),
            "{err}"
        );
    }
    // The same journal: its predecessor's lease is taken at once.
    let predecessor = lease::read_predecessor(dir.path());
    assert_eq!(predecessor.as_deref(), Some("killed"));
    let lease = Lease::acquire(
        store.clone(),
        "k",
        me,
        LeaseConfig::default(),
        predecessor.as_deref(),
    )
    .await
    .unwrap();
    assert_eq!(lease.record().owner.pid, std::process::id());
    assert_eq!(lease::read_predecessor(&dir.path().join("missing")), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keeper_renews_rides_out_an_outage_and_releases() {
    let mut s3 = server();
    let store: Arc<dyn ObjectStore> = config(&s3, s3.bucket()).build().unwrap();
    let fast = LeaseConfig {
        ttl: Duration::from_secs(30),
        renew_every: Duration::from_millis(200),
        attempt_timeout: Duration::from_secs(5),
    };
    let lease = Lease::acquire(store.clone(), "w", owner("w"), fast, None)
        .await
        .unwrap();
    let first_expiry = lease.record().expires_ms;
    let keeper = LeaseKeeper::spawn(lease);
    let mut status = keeper.watch();

    // Wait for a renewal (a status change), not for a time.
    status.changed().await.unwrap();
    let renewed = status.borrow_and_update().clone();
    assert!(
        matches!(renewed, LeaseStatus::Held { expires_ms } if expires_ms > first_expiry),
        "{renewed:?}"
    );

    s3.stop();
    loop {
        status.changed().await.unwrap();
        if matches!(*status.borrow_and_update(), LeaseStatus::Failing { .. }) {
            break;
        }
    }
    let failing = keeper.status();
    assert!(failing.may_write(), "not expired yet: {failing:?}");
    if let LeaseStatus::Failing { error, .. } = &failing {
        assert!(!error.contains(SECRET_ACCESS_KEY));
    }
    s3.restart().unwrap();
    assert!(matches!(keeper.renew_now().await, LeaseStatus::Held { .. }));

    keeper.release().await.unwrap();
    // Released: another owner takes it at once.
    Lease::acquire(store, "w", owner("x"), fast, None)
        .await
        .unwrap();
}

/// A black-holed endpoint (connections accepted, requests read, nothing ever answered):
/// a create-only put fails at its stated bound (15 s for a small body) with a message that
/// says so, and the lease keeper abandons its renewal after `attempt_timeout` and reports
/// `Failing` while the lease is still valid; once the endpoint answers again both work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_request_fails_within_its_bound() {
    let mut s3 = server();
    let cfg = config(&s3, s3.bucket());
    assert_eq!(cfg.limits.for_bytes(3), Duration::from_secs(16));
    let store = cfg.build().unwrap();
    let fast = LeaseConfig {
        ttl: Duration::from_secs(30),
        renew_every: Duration::from_millis(200),
        attempt_timeout: Duration::from_secs(3),
    };
    let lease = Lease::acquire(store.clone(), "bh", owner("bh"), fast, None)
        .await
        .unwrap();
    let keeper = LeaseKeeper::spawn(lease);
    let mut status = keeper.watch();

    s3.black_hole();
    let key = Path::from("bh/date=2024-01-02/a.parquet");
    let put = store.put_opts(&key, "one".into(), PutOptions::from(PutMode::Create));
    // A guard against the hang, well above the bound (the client's own timeout was 60 s).
    let err = tokio::time::timeout(Duration::from_secs(30), put)
        .await
        .expect("a black-holed put still pending after 30 s")
        .unwrap_err();
    let text = dataset::location::describe(&err);
    assert!(text.contains("no answer within 16 s"), "{text}");

    // The keeper's renewal attempts are abandoned after 3 s each: it says Failing (the
    // lease not yet expired), instead of hanging in its first renewal.
    let failing = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            status.changed().await.unwrap();
            let now = status.borrow_and_update().clone();
            if let LeaseStatus::Failing { error, .. } = &now {
                break (now.clone(), error.clone());
            }
        }
    })
    .await
    .expect("the renewal hung in the black hole");
    assert!(failing.0.may_write(), "{failing:?}");
    assert!(failing.1.contains("no answer within 3 s"), "{failing:?}");

    s3.restart().unwrap();
    store
        .put_opts(&key, "one".into(), PutOptions::from(PutMode::Create))
        .await
        .unwrap();
    assert!(matches!(keeper.renew_now().await, LeaseStatus::Held { .. }));
    keeper.release().await.unwrap();
}
