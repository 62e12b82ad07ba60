//! Where the store connects: one Redis server named by its URL, or the primary that Redis
//! Sentinel names, asked again at each connection.
//!
//! ```text
//! redis://[user:password@]host[:port][/db]           one server (the redis crate parses it)
//! rediss://...                                       the same over TLS
//! redis+unix:///path/to/redis.sock[?db=N&user=..&pass=..]   (also unix://)
//! redis+sentinel://[user:password@]host[:port][,host[:port]...]/service[/db]
//!                  [?sentinel_user=..&sentinel_pass=..]
//! rediss+sentinel://...                              the same, TLS to the sentinels and the primary
//! ```
//!
//! A Sentinel URL lists sentinels (port 26379 unless given) and the name of the service they
//! watch; the user and password are the primary's, `sentinel_user` and `sentinel_pass` the
//! sentinels' own if they require one. Cluster URLs (`redis+cluster://` and the like) are
//! refused: the store needs one ordered primary (see [`BuildError::ClusterUnsupported`]).
//!
//! What the store shows of the URL (in `Debug`, logs and errors) is made from the parsed parts,
//! never from the text: a password is `***` whatever characters it holds.

use std::fmt::Write as _;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use redis::{
    Connection, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo as _,
    RedisConnectionInfo, RedisResult, TlsCertificates,
};

use crate::error::{BuildError, redact};

/// The port of a sentinel given without one.
const SENTINEL_PORT: u16 = 26379;

/// Schemes of Redis Cluster URLs, as other clients spell them: refused with a reason.
const CLUSTER_SCHEMES: [&str; 6] = [
    "redis+cluster",
    "rediss+cluster",
    "redis-cluster",
    "rediss-cluster",
    "valkey+cluster",
    "valkeys+cluster",
];

/// A checked URL: how to connect, and how to show it.
#[derive(Clone)]
pub(crate) struct Target {
    kind: Kind,
    /// The URL rebuilt from its parsed parts, any password as `***`.
    shown: String,
    tls: bool,
}

#[derive(Clone)]
enum Kind {
    Direct(redis::Client),
    Sentinel(Sentinel),
}

/// The sentinels to ask, and what to connect to the primary they name with.
#[derive(Clone)]
struct Sentinel {
    sentinels: Vec<redis::Client>,
    service: String,
    /// The primary's database and credentials.
    primary: RedisConnectionInfo,
    /// `Some` with TLS, holding the private roots if any were given.
    tls: Option<Option<TlsCertificates>>,
}

impl Target {
    /// Parses `url`, with the root certificates `pem` for TLS if given.
    pub(crate) fn parse(url: &str, pem: Option<Vec<u8>>) -> Result<Self, BuildError> {
        let invalid = || BuildError::InvalidUrl { url: redact(url) };
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        if CLUSTER_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) {
            return Err(BuildError::ClusterUnsupported { url: redact(url) });
        }
        let certificates = pem.map(|pem| TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        });
        match scheme.to_ascii_lowercase().as_str() {
            "redis+sentinel" | "valkey+sentinel" => Self::sentinel(url, false, None),
            "rediss+sentinel" | "valkeys+sentinel" => Self::sentinel(url, true, certificates),
            _ => {
                let info = url.into_connection_info().map_err(|_| invalid())?;
                let tls = match info.addr() {
                    ConnectionAddr::TcpTls { insecure: true, .. } => {
                        return Err(BuildError::InsecureTls { url: redact(url) });
                    }
                    ConnectionAddr::TcpTls { .. } => true,
                    _ => false,
                };
                if certificates.is_some() && !tls {
                    return Err(BuildError::RootCertificatesWithoutTls { url: redact(url) });
                }
                let shown = show_direct(&info);
                let client = open(tuned(info), certificates).map_err(|_| invalid())?;
                Ok(Self {
                    kind: Kind::Direct(client),
                    shown,
                    tls,
                })
            }
        }
    }

    /// `redis+sentinel://[user:password@]hosts/service[/db][?sentinel_user=..&sentinel_pass=..]`
    fn sentinel(
        url: &str,
        tls: bool,
        certificates: Option<TlsCertificates>,
    ) -> Result<Self, BuildError> {
        let invalid = || BuildError::InvalidUrl { url: redact(url) };
        let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
        if let Some((_, fragment)) = rest.rsplit_once('#') {
            return Err(if fragment == "insecure" {
                BuildError::InsecureTls { url: redact(url) }
            } else {
                invalid()
            });
        }
        // The user info ends at the last `@`: a password may hold `/`, `?` or `@` unencoded.
        let (user_info, rest) = match rest.rsplit_once('@') {
            Some((user_info, rest)) => (Some(user_info), rest),
            None => (None, rest),
        };
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut parts = location.split('/');
        let hosts = parts.next().unwrap_or_default();
        let service = decode(parts.next().unwrap_or_default()).ok_or_else(invalid)?;
        let db = match parts.next() {
            None | Some("") => 0,
            Some(db) => db.parse::<i64>().map_err(|_| invalid())?,
        };
        if service.is_empty() || parts.any(|extra| !extra.is_empty()) {
            return Err(BuildError::InvalidUrl { url: redact(url) });
        }
        let mut primary = RedisConnectionInfo::default().set_db(db);
        if let Some(user_info) = user_info {
            let (user, password) = match user_info.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (user_info, None),
            };
            let user = decode(user).ok_or_else(invalid)?;
            if !user.is_empty() {
                primary = primary.set_username(user);
            }
            if let Some(password) = password {
                primary = primary.set_password(decode(password).ok_or_else(invalid)?);
            }
        }
        let mut sentinel_auth = RedisConnectionInfo::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value).ok_or_else(invalid)?;
            sentinel_auth = match name {
                "sentinel_user" => sentinel_auth.set_username(value),
                "sentinel_pass" => sentinel_auth.set_password(value),
                _ => return Err(invalid()),
            };
        }
        let mut sentinels = Vec::new();
        let mut shown_hosts = Vec::new();
        for host in hosts.split(',') {
            let (host, port) = host_and_port(host).ok_or_else(invalid)?;
            shown_hosts.push(if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            });
            let info = address(host, port, tls)
                .into_connection_info()
                .map_err(|_| invalid())?
                .set_redis_settings(sentinel_auth.clone());
            sentinels.push(open(tuned(info), certificates.clone()).map_err(|_| invalid())?);
        }
        let mut shown = format!("{}://", scheme.to_ascii_lowercase());
        push_user(&mut shown, &primary);
        let _ = write!(shown, "{}/{service}/{db}", shown_hosts.join(","));
        if sentinel_auth.username().is_some() || sentinel_auth.password().is_some() {
            shown.push('?');
            if let Some(user) = sentinel_auth.username() {
                let _ = write!(shown, "sentinel_user={user}&");
            }
            if sentinel_auth.password().is_some() {
                shown.push_str("sentinel_pass=***&");
            }
            shown.pop();
        }
        Ok(Self {
            kind: Kind::Sentinel(Sentinel {
                sentinels,
                service,
                primary,
                tls: tls.then_some(certificates),
            }),
            shown,
            tls,
        })
    }

    /// The URL as logs show it: made from the parsed parts, any password as `***`.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// Whether connections use TLS.
    pub(crate) fn tls(&self) -> bool {
        self.tls
    }

    /// A connection to the server (for Sentinel: to the primary the first sentinel that
    /// answers names, checked with `ROLE`). Every connect waits at most `connect_timeout`,
    /// every command to a sentinel at most `io_timeout`.
    pub(crate) fn connect(
        &self,
        connect_timeout: Duration,
        io_timeout: Duration,
    ) -> RedisResult<Connection> {
        match &self.kind {
            Kind::Direct(client) => client.get_connection_with_timeout(connect_timeout),
            Kind::Sentinel(sentinel) => sentinel.connect(connect_timeout, io_timeout),
        }
    }
}

impl Sentinel {
    fn connect(&self, connect_timeout: Duration, io_timeout: Duration) -> RedisResult<Connection> {
        let mut last = None;
        for sentinel in &self.sentinels {
            match self.primary_from(sentinel, connect_timeout, io_timeout) {
                Ok(con) => return Ok(con),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| (ErrorKind::EmptySentinelList, "no sentinel in the URL").into()))
    }

    /// Asks `sentinel` where the primary is, connects to it, and checks it is one.
    fn primary_from(
        &self,
        sentinel: &redis::Client,
        connect_timeout: Duration,
        io_timeout: Duration,
    ) -> RedisResult<Connection> {
        let mut asking = sentinel.get_connection_with_timeout(connect_timeout)?;
        asking.set_read_timeout(Some(io_timeout))?;
        asking.set_write_timeout(Some(io_timeout))?;
        // SENTINEL GET-MASTER-ADDR-BY-NAME <service>: [ip, port], or nil for a name the
        // sentinel does not watch.
        let primary: Option<(String, u16)> = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(&self.service)
            .query(&mut asking)?;
        let Some((host, port)) = primary else {
            return Err((
                ErrorKind::MasterNameNotFoundBySentinel,
                "the sentinel does not watch this service name",
            )
                .into());
        };
        let info = address(&host, port, self.tls.is_some())
            .into_connection_info()?
            .set_redis_settings(self.primary.clone());
        let client = open(tuned(info), self.tls.clone().flatten())?;
        let mut con = client.get_connection_with_timeout(connect_timeout)?;
        con.set_read_timeout(Some(io_timeout))?;
        // ROLE: ["master", ...] on a primary. A sentinel's answer can be stale during a
        // failover; writing to a replica would fail each write with READONLY.
        let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut con)?;
        match role.first() {
            Some(redis::Value::BulkString(role)) if role == b"master" => Ok(con),
            _ => Err((
                ErrorKind::InvalidClientConfig,
                "the server the sentinel named is not a primary (a failover in progress?)",
            )
                .into()),
        }
    }
}

/// Opens a client, with private root certificates if given.
fn open(info: ConnectionInfo, certificates: Option<TlsCertificates>) -> RedisResult<redis::Client> {
    match certificates {
        None => redis::Client::open(info),
        Some(certificates) => redis::Client::build_with_tls(info, certificates),
    }
}

/// Messages are tiny and latency is the point: don't let Nagle hold them back.
fn tuned(info: ConnectionInfo) -> ConnectionInfo {
    info.set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true))
}

fn address(host: &str, port: u16, tls: bool) -> ConnectionAddr {
    if tls {
        ConnectionAddr::TcpTls {
            host: host.to_owned(),
            port,
            insecure: false,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(host.to_owned(), port)
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn host_and_port(text: &str) -> Option<(&str, u16)> {
    let (host, port) = match text.strip_prefix('[') {
        Some(v6) => {
            let (host, rest) = v6.split_once(']')?;
            match rest {
                "" => (host, None),
                rest => (host, Some(rest.strip_prefix(':')?)),
            }
        }
        None => match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        },
    };
    let port = match port {
        None => SENTINEL_PORT,
        Some(port) => port.parse().ok().filter(|&port| port != 0)?,
    };
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    valid.then_some((host, port))
}

/// Percent-decoded text, if it is UTF-8.
fn decode(text: &str) -> Option<String> {
    percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|text| text.into_owned())
}

/// `user:***@`, `user@`, `:***@`, or nothing.
fn push_user(shown: &mut String, redis: &RedisConnectionInfo) {
    match (redis.username(), redis.password()) {
        (Some(user), Some(_)) => {
            let _ = write!(shown, "{user}:***@");
        }
        (Some(user), None) => {
            let _ = write!(shown, "{user}@");
        }
        (None, Some(_)) => shown.push_str(":***@"),
        (None, None) => {}
    }
}

/// A server's URL as logs show it, from the parsed parts.
fn show_direct(info: &ConnectionInfo) -> String {
    let redis = info.redis_settings();
    match info.addr() {
        ConnectionAddr::Unix(path) => {
            let mut shown = format!("redis+unix://{}?db={}", path.display(), redis.db());
            if let Some(user) = redis.username() {
                let _ = write!(shown, "&user={user}");
            }
            if redis.password().is_some() {
                shown.push_str("&pass=***");
            }
            shown
        }
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
            let scheme = if matches!(info.addr(), ConnectionAddr::Tcp(..)) {
                "redis"
            } else {
                "rediss"
            };
            let mut shown = format!("{scheme}://");
            push_user(&mut shown, redis);
            if host.contains(':') {
                let _ = write!(shown, "[{host}]:{port}/{}", redis.db());
            } else {
                let _ = write!(shown, "{host}:{port}/{}", redis.db());
            }
            shown
        }
        // A kind of address a newer redis crate adds: shown by kind only.
        _ => "<a Redis address>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(url: &str) -> String {
        Target::parse(url, None)
            .map(|target| target.shown().to_owned())
            .unwrap_or_else(|err| format!("error: {err}"))
    }

    #[test]
    fn every_url_form_is_shown_without_its_password() {
        for (url, expected) in [
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            ("redis://u:s3cret@h:1/2", "redis://u:***@h:1/2"),
            ("redis://:s3cret@h", "redis://:***@h:6379/0"),
            ("rediss://u:s3cret@h:6380/", "rediss://u:***@h:6380/0"),
            ("redis://u:s3%2Fcr%3Fet@h/", "redis://u:***@h:6379/0"),
            (
                "redis+unix:///run/redis.sock?db=2&pass=s3cret",
                "redis+unix:///run/redis.sock?db=2&pass=***",
            ),
            (
                "unix:///run/redis.sock?user=app&pass=s3cret",
                "redis+unix:///run/redis.sock?db=0&user=app&pass=***",
            ),
            (
                "redis+sentinel://u:s3cret@s1:26379,s2,[::1]:5000/mymaster/3",
                "redis+sentinel://u:***@s1:26379,s2:26379,[::1]:5000/mymaster/3",
            ),
            (
                "rediss+sentinel://:s3/c?r#t@s1/primary?sentinel_user=sen&sentinel_pass=s3cret",
                "error",
            ),
            (
                "rediss+sentinel://:s3/c?r@et@s1/primary?sentinel_user=sen&sentinel_pass=s3cret",
                "rediss+sentinel://:***@s1:26379/primary/0?sentinel_user=sen&sentinel_pass=***",
            ),
        ] {
            let got = shown(url);
            assert!(!got.contains("s3"), "{url} -> {got}");
            if expected != "error" {
                assert_eq!(got, expected, "{url}");
            }
        }
    }

    #[test]
    fn sentinel_urls_need_a_service_and_valid_hosts() {
        for url in [
            "redis+sentinel://s1:26379",
            "redis+sentinel://s1:26379/",
            "redis+sentinel:///mymaster",
            "redis+sentinel://s1:0/mymaster",
            "redis+sentinel://s1:x/mymaster",
            "redis+sentinel://s1,/mymaster",
            "redis+sentinel://s1/mymaster/notadb",
            "redis+sentinel://s1/mymaster/0/extra",
            "redis+sentinel://s1/mymaster?unknown=1",
        ] {
            assert!(
                matches!(Target::parse(url, None), Err(BuildError::InvalidUrl { .. })),
                "{url}"
            );
        }
        let target = Target::parse("rediss+sentinel://s1,s2:1/m", None).unwrap();
        assert!(target.tls());
        assert!(matches!(
            Target::parse("rediss+sentinel://s1/m#insecure", None),
            Err(BuildError::InsecureTls { .. })
        ));
        let Kind::Sentinel(sentinel) = &target.kind else {
            panic!("not a sentinel target");
        };
        assert_eq!(sentinel.sentinels.len(), 2);
        assert_eq!(sentinel.service, "m");
        let target = Target::parse("redis+sentinel://app:p%40ss@s1/my%20master/4", None).unwrap();
        let Kind::Sentinel(sentinel) = &target.kind else {
            panic!("not a sentinel target");
        };
        assert_eq!(sentinel.service, "my master");
        assert_eq!(sentinel.primary.db(), 4);
        assert_eq!(sentinel.primary.username(), Some("app"));
        assert_eq!(sentinel.primary.password(), Some("p@ss"));
        assert!(!target.tls());
    }

    #[test]
    fn cluster_urls_are_refused_with_the_reason() {
        for url in [
            "redis+cluster://h1:7000,h2:7001/",
            "rediss+cluster://u:s3cret@h1:7000/",
            "redis-cluster://h1:7000",
        ] {
            let err = Target::parse(url, None).map(|_| ()).unwrap_err();
            assert!(
                matches!(err, BuildError::ClusterUnsupported { .. }),
                "{url}: {err}"
            );
            assert!(!err.to_string().contains("s3cret"));
            assert!(err.to_string().contains("Sentinel"), "{err}");
        }
    }
}
