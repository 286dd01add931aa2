//! `sim::s3::S3Server` over plain HTTP: the bucket exists, the endpoint refuses connections
//! while it is down, and what the server holds survives the outage. (Objects and conditional
//! puts are tested through `object_store` in `store`'s tests: moto wants signed requests.)

use sim::s3::{S3Options, S3Server, ACCESS_KEY_ID, SECRET_ACCESS_KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_and_an_outage_that_keeps_the_state() {
    let mut s3 = S3Server::start().expect("S3 test server (run scripts/setup-test-env.sh)");
    let http = reqwest::Client::new();
    let endpoint = s3.endpoint();
    let list = |bucket: &str| format!("{endpoint}/{bucket}?list-type=2");

    let got = http.get(list(s3.bucket())).send().await.unwrap();
    assert_eq!(got.status().as_u16(), 200, "{}", s3.log());
    let missing = http.get(list("no-such-bucket")).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    s3.create_bucket("second").unwrap();

    s3.stop();
    assert!(!s3.is_up());
    assert!(
        http.get(list("second")).send().await.is_err(),
        "endpoint still answers"
    );

    s3.restart().unwrap();
    let got = http.get(list("second")).send().await.unwrap();
    assert_eq!(got.status().as_u16(), 200, "state lost across the outage");
    assert_eq!(s3.outages(), 1);

    let env = s3.env();
    assert!(env.contains(&("AWS_ENDPOINT_URL", s3.endpoint())));
    assert!(env.contains(&("AWS_ALLOW_HTTP", "true".to_owned())));
    assert_eq!(s3.url("/ticks/"), format!("s3://{}/ticks", s3.bucket()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticating_server_refuses_unsigned_requests_and_has_a_key_of_its_own() {
    let s3 = S3Server::start_with(S3Options {
        authenticate: true,
        ..S3Options::default()
    })
    .expect("S3 test server (run scripts/setup-test-env.sh)");
    let list = format!("{}/{}?list-type=2", s3.endpoint(), s3.bucket());
    let got = reqwest::get(&list).await.unwrap();
    // moto answers an unsigned request with 500 once it checks signatures.
    assert!(!got.status().is_success(), "{}", s3.log());
    assert!(
        s3.create_bucket("second").is_err(),
        "an unsigned PUT is refused"
    );
    // The key moto's IAM made, not the dummies (signed requests: store's and the
    // recorder's tests).
    assert!(
        s3.access_key_id().starts_with("AKIA"),
        "{}",
        s3.access_key_id()
    );
    assert_ne!(s3.access_key_id(), ACCESS_KEY_ID);
    assert_ne!(s3.secret_access_key(), SECRET_ACCESS_KEY);
    let env = s3.env();
    assert!(env.contains(&("AWS_SECRET_ACCESS_KEY", s3.secret_access_key().to_owned())));
}

#[test]
fn a_missing_program_says_how_to_install_it() {
    // The variable is set only in a child test process: the other tests share this one.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "missing_program_child",
            "--nocapture",
            "--ignored",
        ])
        .env("MOTO_SERVER", "/nonexistent/moto_server")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("test result: ok. 1 passed"), "{text}");
}

#[test]
#[ignore = "run by a_missing_program_says_how_to_install_it in a child process"]
fn missing_program_child() {
    let err = S3Server::start().unwrap_err();
    assert!(
        err.to_string().contains("run scripts/setup-test-env.sh"),
        "{err}"
    );
}
