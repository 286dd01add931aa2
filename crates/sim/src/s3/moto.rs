//! Talking to the `moto_server` process itself: finding and spawning it, plain HTTP
//! requests straight to it (not through the proxy), and the IAM user of an authenticating
//! server.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::START_PATIENCE;

/// A `sitecustomize.py` for an authenticating moto (found through `PYTHONPATH`, so it works
/// whichever way `moto_server` is installed). moto checks a SigV4 signature against the URL
/// as werkzeug rebuilds it, which decodes `%2F` and `%3D` in the path and the query: every
/// request of a client that signs what it sends (`prefix=p%2F`, `date%3D2024-01-01`, as
/// `object_store` does) would fail with `SignatureDoesNotMatch`. This wraps moto's check so
/// that it sees the request target as received (`RAW_URI`), as S3 itself does.
pub(super) const RAW_URI_SIGNATURES: &str = r#"
try:
    import urllib.parse, flask
    import moto.core.authorization as _auth

    _check = _auth.ActionAuthenticatorMixin._authenticate_and_authorize_action

    def _check_raw_uri(self, *args, **kwargs):
        uri = self.uri
        raw = flask.request.environ.get("RAW_URI") if flask.has_request_context() else None
        if raw:
            target = urllib.parse.urlsplit(raw)
            self.uri = urllib.parse.urlsplit(uri)._replace(path=target.path, query=target.query).geturl()
        try:
            return _check(self, *args, **kwargs)
        finally:
            self.uri = uri

    _auth.ActionAuthenticatorMixin._authenticate_and_authorize_action = _check_raw_uri
except Exception as e:
    import sys
    print("sitecustomize: moto signature check not patched:", e, file=sys.stderr)
"#;

/// Spawns moto on `port` and waits until it answers HTTP; on failure the child is killed
/// and the error carries its log (which says "Address already in use" on a port race).
pub(super) fn spawn_and_wait(
    program: &PathBuf,
    port: u16,
    log: &std::path::Path,
    env: &[(&str, String)],
) -> io::Result<Child> {
    let out = std::fs::File::create(log)?;
    let mut child = Command::new(program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run moto_server: {e}")))?;
    let deadline = Instant::now() + START_PATIENCE;
    loop {
        if request(port, "GET", "/").is_ok() {
            return Ok(child);
        }
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(log).unwrap_or_default();
            return Err(io::Error::other(format!(
                "moto_server did not start on port {port}: {text}"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One unsigned HTTP/1.1 request to moto directly (not through the proxy); returns the
/// status code. moto accepts unsigned requests, which is all bucket creation needs.
pub(super) fn request(port: u16, method: &str, path: &str) -> io::Result<u16> {
    http(port, method, path, &[], "").map(|(status, _)| status)
}

/// One HTTP/1.1 request to moto directly with `headers` and `body`: (status, body).
pub(super) fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> io::Result<(u16, String)> {
    let mut conn = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n\
         Connection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    conn.write_all(body.as_bytes())?;
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not an HTTP answer: {text:.80}")))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_owned()))
}

/// Makes an IAM user allowed everything and an access key of it, through moto's IAM API
/// (not yet checking signatures); returns (key id, secret). The `Authorization` header only
/// routes the request to IAM (moto reads the service from its credential scope).
pub(super) fn iam_user(port: u16) -> io::Result<(String, String)> {
    const ROUTE: &str = "AWS4-HMAC-SHA256 Credential=SETUP/20240101/us-east-1/iam/aws4_request, \
                         SignedHeaders=host, Signature=0";
    let iam = |action: &str, params: &str| -> io::Result<String> {
        let headers = [
            ("Authorization", ROUTE),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        let body = format!("Action={action}&Version=2010-05-08&UserName=recorder{params}");
        let (status, answer) = http(port, "POST", "/", &headers, &body)?;
        if status == 200 {
            Ok(answer)
        } else {
            Err(io::Error::other(format!(
                "moto_server answered {status} to IAM {action}: {answer:.200}"
            )))
        }
    };
    iam("CreateUser", "")?;
    let policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    iam(
        "PutUserPolicy",
        &format!(
            "&PolicyName=all&PolicyDocument={}",
            url::form_urlencoded::byte_serialize(policy.as_bytes()).collect::<String>()
        ),
    )?;
    let answer = iam("CreateAccessKey", "")?;
    let field = |name: &str| {
        let (_, rest) = answer.split_once(&format!("<{name}>"))?;
        Some(rest.split_once(&format!("</{name}>"))?.0.to_owned())
    };
    match (field("AccessKeyId"), field("SecretAccessKey")) {
        (Some(id), Some(secret)) => Ok((id, secret)),
        _ => Err(io::Error::other(
            "moto_server's CreateAccessKey answer has no key",
        )),
    }
}

pub(super) fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("moto_server"))
            .collect::<Vec<_>>()
    });
    let venv = std::env::var_os("MOTO_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/marketdata/moto"))
        })
        .map(|v| v.join("bin/moto_server"));
    on_path.chain(venv).find(|p| p.is_file())
}
