//! Where the NATS server is and how to log in, kept apart from anything that is printed.
//!
//! The URL is `nats://[user:password@|token@]host[:port]` (port 4222 by default). Two
//! environment variables add credentials without putting them on a command line:
//! `NATS_CREDS` (path of a `.creds` file: JWT + NKey seed, as `nsc` writes it) and
//! `NATS_TOKEN` (a token). None of them is ever shown: logs and errors name the server as
//! `nats://host:port` only ([`BusConfig::server`]).

use std::path::PathBuf;
use std::time::Duration;

use async_nats::ConnectOptions;

use crate::error::redacted;
use crate::BusError;

/// Default NATS client port.
const DEFAULT_PORT: u16 = 4222;

/// How to reach the NATS server. `Debug` shows no secret.
#[derive(Clone)]
pub struct BusConfig {
    host: String,
    port: u16,
    user_password: Option<(String, String)>,
    token: Option<String>,
    creds_file: Option<PathBuf>,
}

impl std::fmt::Debug for BusConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusConfig")
            .field("server", &self.server())
            .field("credentials", &self.has_credentials())
            .finish()
    }
}

impl BusConfig {
    /// Parses `nats://[user:password@|token@]host[:port]`.
    ///
    /// # Errors
    ///
    /// [`BusError::Config`] for a URL that is not `nats://[user:password@|token@]host[:port]`
    /// (another scheme, a path or query, an empty host, a bad port); the message never holds
    /// the credentials.
    ///
    /// ```
    /// let c = bus::BusConfig::from_url("nats://bot:s3cret@10.0.0.5").unwrap();
    /// assert_eq!(c.server(), "nats://10.0.0.5:4222");
    /// assert!(!format!("{c:?}").contains("s3cret"));
    /// assert!(bus::BusConfig::from_url("http://x").is_err());
    /// ```
    pub fn from_url(url: &str) -> Result<Self, BusError> {
        let bad = |why: &str| BusError::Config(format!("{why} (expected nats://HOST:PORT)"));
        let rest = url
            .strip_prefix("nats://")
            .ok_or_else(|| bad("the URL must start with nats://"))?;
        let authority = rest.trim_end_matches('/');
        if authority.contains(['/', '?', '#']) {
            return Err(bad("the URL must not have a path or query"));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("bad port"))?),
            None => (hostport, DEFAULT_PORT),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let (user_password, token) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (Some((user.to_owned(), pass.to_owned())), None),
                None => (None, Some(u.to_owned())),
            },
        };
        Ok(BusConfig {
            host: host.to_owned(),
            port,
            user_password,
            token,
            creds_file: None,
        })
    }

    /// [`BusConfig::from_url`], then `NATS_CREDS` and `NATS_TOKEN` from the environment
    /// (a token in the URL wins over `NATS_TOKEN`).
    ///
    /// # Errors
    ///
    /// As [`BusConfig::from_url`].
    pub fn from_url_and_env(url: &str) -> Result<Self, BusError> {
        let mut config = Self::from_url(url)?;
        if let Some(path) = std::env::var_os("NATS_CREDS").filter(|p| !p.is_empty()) {
            config.creds_file = Some(PathBuf::from(path));
        }
        if config.token.is_none() {
            config.token = std::env::var("NATS_TOKEN").ok().filter(|t| !t.is_empty());
        }
        Ok(config)
    }

    /// `nats://host:port`, safe to print.
    pub fn server(&self) -> String {
        format!("nats://{}:{}", self.host, self.port)
    }

    fn has_credentials(&self) -> bool {
        self.user_password.is_some() || self.token.is_some() || self.creds_file.is_some()
    }

    /// Connects once (no retry of the first attempt; the client reconnects by itself after
    /// that, forever, at most a second apart). `name` is the client name the server shows.
    pub(crate) async fn connect(
        &self,
        name: &str,
        on_event: impl Fn(async_nats::Event) + Send + Sync + 'static,
    ) -> Result<async_nats::Client, BusError> {
        let on_event = std::sync::Arc::new(on_event);
        let mut options = ConnectOptions::new()
            .name(name)
            .connection_timeout(Duration::from_secs(5))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(100 * attempts.min(10) as u64)
            })
            .event_callback(move |event| {
                let on_event = on_event.clone();
                async move { on_event(event) }
            });
        if let Some((user, pass)) = &self.user_password {
            options = options.user_and_password(user.clone(), pass.clone());
        }
        if let Some(token) = &self.token {
            options = options.token(token.clone());
        }
        if let Some(path) = &self.creds_file {
            options = options.credentials_file(path).await.map_err(|e| {
                BusError::Config(format!(
                    "cannot read the NATS_CREDS file {}: {}",
                    path.display(),
                    redacted(&e)
                ))
            })?;
        }
        options
            .connect(format!("{}:{}", self.host, self.port))
            .await
            .map_err(|e| BusError::Connect {
                server: self.server(),
                reason: self.scrub(&redacted(&e)),
            })
    }

    /// Removes the literal secrets from `text`, in case an error quotes them.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        let secrets = self
            .user_password
            .iter()
            .map(|(_, p)| p)
            .chain(self.token.iter());
        for secret in secrets.filter(|s| !s.is_empty()) {
            out = out.replace(secret.as_str(), "***");
        }
        out
    }
}

/// Connection events on the log: a lost connection is an outage of the bus.
pub(crate) fn log_event(server: &str, event: async_nats::Event) {
    match event {
        async_nats::Event::Disconnected => {
            log::warn!("NATS connection to {server} lost; reconnecting")
        }
        async_nats::Event::Connected => log::info!("NATS connection to {server} up"),
        other => log::debug!("NATS: {}", logging::redact(&other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_never_show_their_secrets() {
        let cases = [
            ("nats://127.0.0.1:4222", Some("nats://127.0.0.1:4222")),
            ("nats://localhost", Some("nats://localhost:4222")),
            ("nats://host:4333/", Some("nats://host:4333")),
            ("nats://u:pw-secret@h:1", Some("nats://h:1")),
            ("nats://tok-secret@h", Some("nats://h:4222")),
            ("nats://", None),
            ("nats://h:notaport", None),
            ("nats://h:99999", None),
            ("nats://h/path", None),
            ("tcp://h:4222", None),
            ("127.0.0.1:4222", None),
        ];
        for (url, want) in cases {
            match (BusConfig::from_url(url), want) {
                (Ok(c), Some(server)) => {
                    assert_eq!(c.server(), server, "{url}");
                    let shown = format!("{c:?}");
                    assert!(!shown.contains("secret"), "{shown}");
                    assert!(!c.scrub(url).contains("secret"), "{}", c.scrub(url));
                }
                (Err(e), None) => assert!(!e.to_string().contains("secret"), "{e}"),
                (got, want) => panic!("{url}: {got:?}, wanted {want:?}"),
            }
        }
    }
}
