use super::*;
use std::collections::HashMap;
use std::time::Duration;

const SECRET: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "FwoGZXIvYXdzEXAMPLETOKEN0123456789";

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn full_config() -> S3Config {
    S3Config::from_vars(
        "bkt",
        vars(&[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", TOKEN),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/"),
            ("AWS_ALLOW_HTTP", "true"),
        ]),
    )
    .unwrap()
}

#[test]
fn out_dir_values() {
    let s3 = |bucket: &str, prefix: &str| OutDir::S3 {
        bucket: bucket.into(),
        prefix: prefix.into(),
    };
    let table: &[(&str, OutDir)] = &[
        ("data", OutDir::Local("data".into())),
        ("/var/lib/ticks/", OutDir::Local("/var/lib/ticks/".into())),
        ("./s3:bucket", OutDir::Local("./s3:bucket".into())),
        ("s3://bkt", s3("bkt", "")),
        ("s3://bkt/", s3("bkt", "")),
        ("s3://bkt/binance/spot/", s3("bkt", "binance/spot")),
        ("S3://bkt/p", s3("bkt", "p")),
    ];
    for (value, want) in table {
        assert_eq!(&OutDir::parse(value).unwrap(), want, "{value}");
        assert_eq!(&value.parse::<OutDir>().unwrap(), want, "{value}");
    }
    assert_eq!(s3("bkt", "a/b").to_string(), "s3://bkt/a/b");
    assert_eq!(s3("bkt", "").to_string(), "s3://bkt");
    assert!(s3("b", "").is_remote() && !OutDir::Local("d".into()).is_remote());
}

#[test]
fn bad_out_dir_values_get_one_clear_message() {
    let table = [
        ("", "the out-dir is empty"),
        ("gs://bkt/p", "unsupported out-dir scheme `gs://`"),
        ("file:///tmp/x", "unsupported out-dir scheme `file://`"),
        ("s3://", "names no bucket"),
        ("s3:///prefix", "names no bucket"),
        ("s3://bkt/a/../b", "must not contain"),
        ("s3://bkt/a//b", "must not contain"),
    ];
    for (value, want) in table {
        let err = OutDir::parse(value).unwrap_err().to_string();
        assert!(err.contains(want), "{value}: {err}");
        assert!(!err.contains('\n'), "{value}: {err}");
    }
}

#[test]
fn variables_and_defaults() {
    let c = S3Config::from_vars("bkt", vars(&[])).unwrap();
    assert_eq!(c.region, DEFAULT_REGION);
    assert_eq!(c.endpoint, None);
    assert!(!c.allow_http);
    assert_eq!(c.endpoint_display(), "https://s3.us-east-1.amazonaws.com");

    let c = S3Config::from_vars("bkt", vars(&[("AWS_DEFAULT_REGION", "eu-west-1")])).unwrap();
    assert_eq!(c.region, "eu-west-1");
    let c = S3Config::from_vars(
        "bkt",
        vars(&[("AWS_DEFAULT_REGION", "eu-west-1"), ("AWS_REGION", "auto")]),
    )
    .unwrap();
    assert_eq!(c.region, "auto");

    let c = full_config();
    assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert!(c.allow_http);
    assert_eq!(c.access_key_id.as_deref(), Some("AKIDEXAMPLE"));
    assert_eq!(
        c.secret_access_key.as_ref().map(Secret::expose),
        Some(SECRET)
    );
    assert_eq!(c.session_token.as_ref().map(Secret::expose), Some(TOKEN));
    assert!(c.retry.max_retries <= 5 && c.retry.retry_timeout <= Duration::from_secs(60));
    c.build().unwrap();
}

#[test]
fn bad_variables() {
    let table: &[(&[(&str, &str)], &str)] = &[
        (
            &[("AWS_ALLOW_HTTP", "maybe")],
            "AWS_ALLOW_HTTP: `maybe` is not true or false",
        ),
        (
            &[("AWS_ENDPOINT_URL", "http://h:9000")],
            "set AWS_ALLOW_HTTP=true",
        ),
        (
            &[("AWS_ENDPOINT_URL", "h:9000")],
            "AWS_ENDPOINT_URL: not a URL",
        ),
        (
            &[("AWS_ENDPOINT_URL", "ftp://h")],
            "scheme must be http or https",
        ),
        (&[("AWS_ENDPOINT_URL", "https:///path")], "has no host"),
        (
            &[("AWS_ACCESS_KEY_ID", "AKID")],
            "AWS_SECRET_ACCESS_KEY: must be set together",
        ),
        (
            &[("AWS_SECRET_ACCESS_KEY", SECRET)],
            "AWS_ACCESS_KEY_ID: must be set together",
        ),
    ];
    for (pairs, want) in table {
        let err = S3Config::from_vars("bkt", vars(pairs))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{pairs:?}: {err}");
        assert!(!err.contains(SECRET));
    }
    // Credentials in the endpoint would be printed with every message naming it.
    let err = S3Config::from_vars(
        "bkt",
        vars(&[("AWS_ENDPOINT_URL", "https://user:hunter2@h.example")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("must not contain credentials") && !err.contains("hunter2"),
        "{err}"
    );
}

#[test]
fn debug_of_the_config_shows_no_secret() {
    let text = format!("{:?}", full_config());
    assert!(text.contains("AKIDEXAMPLE"), "{text}");
    assert!(!text.contains(SECRET) && !text.contains(TOKEN), "{text}");
    assert_eq!(Secret::new(SECRET).to_string(), "***");
}

/// An error as `object_store` builds it for a failed LIST: its message quotes the body.
fn list_error(status: &str, code: &str) -> object_store::Error {
    let body = format!(
        "<Error><Code>{code}</Code><Message>m</Message>\
         <CanonicalRequest>x-amz-security-token:{TOKEN}</CanonicalRequest>\
         <StringToSign>{SECRET}</StringToSign></Error>"
    );
    object_store::Error::Generic {
        store: "S3",
        source: format!(
            "Error performing list request: Error performing GET http://127.0.0.1:9000/bkt?list-type=2 \
             in 3ms - Server returned non-2xx status code: {status}: {body}"
        )
        .into(),
    }
}

#[test]
fn probe_failures_are_classified_without_the_body() {
    let config = full_config();
    let table: &[(object_store::Error, &str)] = &[
        (list_error("404 Not Found", "NoSuchBucket"), "s3://bkt: no such bucket at http://127.0.0.1:9000"),
        (list_error("403 Forbidden", "InvalidAccessKeyId"), "credentials rejected by http://127.0.0.1:9000 (InvalidAccessKeyId)"),
        (list_error("403 Forbidden", "SignatureDoesNotMatch"), "credentials rejected by http://127.0.0.1:9000 (SignatureDoesNotMatch)"),
        (list_error("400 Bad Request", "ExpiredToken"), "(ExpiredToken)"),
        (list_error("403 Forbidden", "AccessDenied"), "s3://bkt/pre: access denied by http://127.0.0.1:9000 (AccessDenied)"),
        (list_error("500 Internal Server Error", "InternalError"), "cannot list the dataset at http://127.0.0.1:9000: request failed (HTTP 500, InternalError)"),
        (
            object_store::Error::Unauthenticated { path: "pre".into(), source: SECRET.into() },
            "credentials rejected",
        ),
    ];
    for (e, want) in table {
        let err = LocationError::classify(e, &config, "pre");
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(SECRET) && !text.contains(TOKEN), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
        assert!(err.to_string().contains(want), "{err}");
    }
}

#[test]
fn describe_says_what_and_never_the_body() {
    let text = describe(&list_error("403 Forbidden", "SignatureDoesNotMatch"));
    assert_eq!(text, "request failed (HTTP 403, SignatureDoesNotMatch)");
    let e = object_store::Error::AlreadyExists {
        path: "a/b".into(),
        source: SECRET.into(),
    };
    assert_eq!(describe(&e), "already exists: a/b");
    // A code that is not an identifier is dropped rather than quoted.
    let e = object_store::Error::Generic {
        store: "S3",
        source: "status code: 403 Forbidden: <Code>a b</Code>".into(),
    };
    assert_eq!(describe(&e), "request failed (HTTP 403)");
}
