//! The connection to Redis or Redis Cluster, with a time limit on every command and a record of
//! whether the last command worked, so an outage is reported once and its end once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{
    Cmd, FromRedisValue, Pipeline, RedisError, RedisFuture, ScriptInvocation, TlsCertificates,
    Value,
};
use tokio::sync::OnceCell;

use super::config::RedisConfig;
use super::stored::Stored;

/// A command that did not complete: Redis is down, slow, read-only, refused the credentials or
/// answered nonsense.
#[derive(Debug, thiserror::Error)]
pub enum CommandFailure {
    /// Redis refused the user name or password of the URL.
    #[error("the cache refused the credentials; check the user name and password in the cache URL")]
    CredentialsRefused(#[source] RedisError),
    /// Redis asks for a password, and the URL has none.
    #[error(
        "the cache asks for a password and the cache URL has none; write \
         redis://:PASSWORD@host:port/db (or redis://USER:PASSWORD@host:port/db)"
    )]
    PasswordRequired(#[source] RedisError),
    /// Something answered that does not speak Redis's protocol: a wrong port, or a TLS port
    /// given as `redis://`.
    #[error(
        "the server at the cache URL answered, but not in Redis's protocol: check the host and \
         port, and use rediss:// for a TLS port"
    )]
    NotRedis(#[source] RedisError),
    /// Redis answered with another error, or the connection failed.
    #[error(transparent)]
    Redis(RedisError),
    /// No answer within the command time-out.
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    /// No answer within the command time-out from a `rediss://` server: a plain-TCP server
    /// waits for a command and never answers the TLS handshake.
    #[error(
        "no answer within {0:?}; the server may not speak TLS: use redis:// for a plain server, \
         or check that the port is its TLS port"
    )]
    TlsTimedOut(Duration),
}

impl CommandFailure {
    /// True when Redis answered with an error reply (WRONGTYPE, NOPERM, READONLY…), false when
    /// it did not answer in time or the connection failed.
    pub(super) fn is_error_reply(&self) -> bool {
        match self {
            Self::CredentialsRefused(_) | Self::PasswordRequired(_) | Self::NotRedis(_) => true,
            Self::Redis(error) => error.clone().into_server_errors().is_some(),
            Self::TimedOut(_) | Self::TlsTimedOut(_) => false,
        }
    }
}

impl From<RedisError> for CommandFailure {
    fn from(error: RedisError) -> Self {
        if error.kind() == redis::ErrorKind::AuthenticationFailed {
            Self::CredentialsRefused(error)
        } else if error.code() == Some("NOAUTH") {
            Self::PasswordRequired(error)
        } else if error.kind() == redis::ErrorKind::Parse {
            Self::NotRedis(error)
        } else {
            Self::Redis(error)
        }
    }
}

/// Redis or Redis Cluster, connected on first use and reconnected by redis-rs after a failure.
pub(super) struct Connection {
    target: Target,
    command_timeout: Duration,
    /// A `rediss://` URL: a time-out may mean that the server does not speak TLS.
    tls: bool,
    shown_nodes: String,
    unavailable: AtomicBool,
}

enum Target {
    Single(ConnectionManager),
    Cluster(Box<LazyCluster>),
}

/// A cluster client and its connection, made on first use.
struct LazyCluster {
    client: ClusterClient,
    connection: OnceCell<ClusterConnection>,
}

/// One command's handle on the connection; clones share the socket.
#[derive(Clone)]
enum Handle {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Connection {
    /// Sets up the connection without connecting: the first command connects.
    pub(super) fn new(config: &RedisConfig) -> Result<Self, RedisError> {
        let target = if config.cluster {
            let mut builder = ClusterClient::builder(config.nodes.iter().map(|url| url.as_str()))
                .connection_timeout(config.connect_timeout)
                .response_timeout(config.command_timeout)
                .retries(1);
            if let Some(roots) = tls_roots(config) {
                builder = builder.certs(roots);
            }
            let client = builder.build()?;
            Target::Cluster(Box::new(LazyCluster {
                client,
                connection: OnceCell::new(),
            }))
        } else {
            let url = config.nodes[0].as_str();
            let client = match tls_roots(config) {
                Some(roots) => redis::Client::build_with_tls(url, roots)?,
                None => redis::Client::open(url)?,
            };
            let manager_config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(config.connect_timeout))
                .set_response_timeout(Some(config.command_timeout))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(100));
            Target::Single(client.get_connection_manager_lazy(manager_config)?)
        };

        Ok(Self {
            target,
            command_timeout: config.command_timeout,
            tls: config.nodes.iter().any(|url| url.scheme() == "rediss"),
            shown_nodes: config.shown_nodes(),
            unavailable: AtomicBool::new(false),
        })
    }

    /// Runs one command for the token path, whose failures are reported as an outage.
    pub(super) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, CommandFailure> {
        let outcome = self.query_quietly(cmd).await;
        self.record(outcome.as_ref().err());
        outcome
    }

    /// Runs one command whose failure the caller reports (listing, clearing).
    pub(super) async fn query_quietly<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
    ) -> Result<T, CommandFailure> {
        self.timed(async {
            let mut handle = self.handle().await?;
            cmd.query_async(&mut handle).await
        })
        .await
    }

    /// Runs a pipeline, several commands in one round trip, whose failure the caller reports.
    pub(super) async fn query_pipeline_quietly<T: FromRedisValue>(
        &self,
        pipeline: &Pipeline,
    ) -> Result<T, CommandFailure> {
        self.timed(async {
            let mut handle = self.handle().await?;
            pipeline.query_async(&mut handle).await
        })
        .await
    }

    /// Reads what `name` holds with `GET` and `PTTL` in one round trip, for the token path. A
    /// value of another type is [`Stored::Unusable`]: Redis answered, so it is no outage.
    pub(super) async fn read(&self, name: &str) -> Result<Stored, CommandFailure> {
        let outcome = self.read_quietly(name).await;
        self.record(outcome.as_ref().err());
        outcome
    }

    /// Reads what `name` holds; the caller reports a failure (listing, clearing).
    pub(super) async fn read_quietly(&self, name: &str) -> Result<Stored, CommandFailure> {
        let mut pipeline = redis::pipe();
        // Errors stay replies: a WRONGTYPE from GET is about the value, not the server.
        pipeline
            .cmd("GET")
            .arg(name)
            .cmd("PTTL")
            .arg(name)
            .ignore_errors();
        let (get, pttl): (Value, Value) = self.query_pipeline_quietly(&pipeline).await?;
        Stored::from_replies(get, pttl).map_err(CommandFailure::from)
    }

    /// Runs a Lua script for the token path.
    pub(super) async fn invoke<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> Result<T, CommandFailure> {
        let outcome = self.invoke_quietly(script).await;
        self.record(outcome.as_ref().err());
        outcome
    }

    /// Runs a Lua script whose failure the caller reports (clearing).
    pub(super) async fn invoke_quietly<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> Result<T, CommandFailure> {
        self.timed(async {
            let mut handle = self.handle().await?;
            script.invoke_async(&mut handle).await
        })
        .await
    }

    /// Runs `cmd` on every primary of a cluster and joins the arrays they answer; on one
    /// server, runs it there. The caller reports a failure.
    pub(super) async fn query_all_primaries<T: FromRedisValue>(
        &self,
        cmd: Cmd,
    ) -> Result<T, CommandFailure> {
        use redis::cluster_routing::{MultipleNodeRoutingInfo, ResponsePolicy, RoutingInfo};

        self.timed(async {
            match self.handle().await? {
                Handle::Single(mut manager) => cmd.query_async(&mut manager).await,
                Handle::Cluster(mut cluster) => {
                    let routing = RoutingInfo::MultiNode((
                        MultipleNodeRoutingInfo::AllMasters,
                        Some(ResponsePolicy::CombineArrays),
                    ));
                    let value = cluster.route_command(cmd, routing).await?;
                    T::from_redis_value(value).map_err(RedisError::from)
                }
            }
        })
        .await
    }

    /// The connection manager of a single server.
    pub(super) fn single_node(&self) -> Option<ConnectionManager> {
        match &self.target {
            Target::Single(manager) => Some(manager.clone()),
            Target::Cluster(_) => None,
        }
    }

    /// The servers, without password, for messages.
    pub(super) fn shown_nodes(&self) -> &str {
        &self.shown_nodes
    }

    async fn handle(&self) -> Result<Handle, RedisError> {
        match &self.target {
            Target::Single(manager) => Ok(Handle::Single(manager.clone())),
            Target::Cluster(cluster) => {
                // A failed first connection leaves the cell empty: the next command tries again.
                let connection = cluster
                    .connection
                    .get_or_try_init(|| cluster.client.get_async_connection())
                    .await?;
                Ok(Handle::Cluster(connection.clone()))
            }
        }
    }

    async fn timed<T>(
        &self,
        command: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, CommandFailure> {
        match tokio::time::timeout(self.command_timeout, command).await {
            Ok(Ok(value)) => Ok(value),
            // redis-rs's own response time-out is the command time-out too.
            Ok(Err(error)) if self.tls && error.is_timeout() => {
                Err(CommandFailure::TlsTimedOut(self.command_timeout))
            }
            Ok(Err(error)) => Err(CommandFailure::from(error)),
            Err(_) if self.tls => Err(CommandFailure::TlsTimedOut(self.command_timeout)),
            Err(_) => Err(CommandFailure::TimedOut(self.command_timeout)),
        }
    }

    /// Warns when the cache becomes unavailable and when it is back, once each: a command that
    /// fails while the cache is already known to be unavailable is logged at debug only.
    fn record(&self, failure: Option<&CommandFailure>) {
        match failure {
            Some(failure) => {
                if !self.unavailable.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        cache = %self.shown_nodes,
                        error = %failure,
                        "the shared token cache is unavailable; using the in-memory cache and \
                         direct token requests until it is back"
                    );
                } else {
                    tracing::debug!(cache = %self.shown_nodes, error = %failure, "cache command failed");
                }
            }
            None => {
                if self.unavailable.load(Ordering::Relaxed)
                    && self.unavailable.swap(false, Ordering::Relaxed)
                {
                    tracing::warn!(cache = %self.shown_nodes, "the shared token cache is back");
                }
            }
        }
    }
}

fn tls_roots(config: &RedisConfig) -> Option<TlsCertificates> {
    config.tls_roots.as_ref().map(|pem| TlsCertificates {
        client_tls: None,
        root_cert: Some(pem.clone()),
    })
}

impl ConnectionLike for Handle {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Handle::Single(manager) => manager.req_packed_command(cmd),
            Handle::Cluster(cluster) => cluster.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Handle::Single(manager) => manager.req_packed_commands(pipeline, offset, count),
            Handle::Cluster(cluster) => cluster.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Handle::Single(manager) => manager.get_db(),
            Handle::Cluster(cluster) => cluster.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found in review: `redis://` to an HTTP or TLS port said the cache did not answer and
    /// showed only redis-rs's parse error.
    #[test]
    fn answer_that_is_not_redis_protocol_says_to_check_the_port() {
        let error = redis::parse_redis_value(b"HTTP/1.0 400 Bad Request\r\n").unwrap_err();

        let failure = CommandFailure::from(error);

        assert!(matches!(failure, CommandFailure::NotRedis(_)));
        assert!(failure.to_string().contains("not in Redis's protocol"));
    }
}
