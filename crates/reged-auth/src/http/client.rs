use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, Response};
use rustls::pki_types::CertificateDer;
use url::Url;
use zeroize::Zeroizing;

use super::hint::transport_hint;
use super::{client_config, request_token};
use crate::cache::redis::{RedisCache, RedisEntry};
use crate::cache::{CacheEncryptionKey, CacheEntry, CacheKey, MemoryCache, TokenHandle};
use crate::token::{LifetimePolicy, Scope, TokenRequest};
use crate::{Environment, Error, Identity};

/// Connect time-out by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request time-out by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of one token endpoint and one API, for one client identity.
///
/// Tokens come from the cache while they are fresh; on a 401 `invalid_token` from the API the
/// token is evicted, a new one fetched once, and the request sent once more. Cloning is cheap
/// and clones share the cache and the connections.
///
/// With a shared cache ([`ClientBuilder::shared_cache`]) the in-memory cache stays in front: a
/// hit in memory costs what it costs without Redis, a miss in memory reads Redis, and a miss in
/// both makes one process of the fleet fetch the token for all.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    token_url: Url,
    api_base: Option<Url>,
    request: TokenRequest,
    policy: LifetimePolicy,
    key: CacheKey,
    cache_entry: CacheEntry,
    shared_entry: Option<RedisEntry>,
    thumbprint: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("token_url", &inner.token_url.as_str())
            .field("api_base", &inner.api_base.as_ref().map(Url::as_str))
            .field("client_id", &inner.request.client_id)
            .field("audience", &inner.request.audience)
            .field("scope", &inner.request.scope.to_string())
            .field("thumbprint", &inner.thumbprint)
            .finish_non_exhaustive()
    }
}

/// A request to the API: a path under the API base, headers and a body that can be replayed.
///
/// Its Debug output names the headers but shows none of their values, which may be credentials.
#[derive(Clone)]
pub struct ApiRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path (and query) under the API base, starting with `/`.
    pub path: String,
    /// Extra headers; an `Authorization` header here is replaced.
    pub headers: HeaderMap,
    /// The body, if any.
    pub body: Option<Bytes>,
}

/// Headers the client sets itself: the API base decides the host and the client the
/// credentials, so overriding either could send the token elsewhere; the others frame the
/// request or manage the connection, and a wrong one breaks the exchange (HTTP/2 refuses them
/// outright, RFC 9113 section 8.2.2). An `Authorization` in [`ApiRequest::headers`] is
/// replaced; the others are refused.
pub const HEADERS_SET_BY_THE_CLIENT: [&str; 9] = [
    "host",
    "authorization",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "keep-alive",
    "proxy-connection",
];

/// Refuses a header the client sets itself, other than `Authorization`, which is replaced.
fn check_headers(headers: &HeaderMap) -> Result<(), Error> {
    let refused = headers.keys().find(|name| {
        *name != reqwest::header::AUTHORIZATION
            && HEADERS_SET_BY_THE_CLIENT.contains(&name.as_str())
    });
    match refused {
        Some(name) => Err(Error::Config {
            setting: "headers",
            reason: format!("`{name}` is set by the client itself; leave it out of the request"),
        }),
        None => Ok(()),
    }
}

impl std::fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.keys().map(|name| name.as_str()).collect();
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.path.split('?').next().unwrap_or_default())
            .field("headers", &header_names)
            .field("body_bytes", &self.body.as_ref().map(Bytes::len))
            .finish()
    }
}

impl ApiRequest {
    /// A request with no extra headers and no body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: HeaderMap::new(),
            body: None,
        }
    }
}

impl Client {
    /// Starts building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A token for this client: from the cache while fresh, else from the token endpoint.
    pub async fn token(&self) -> Result<TokenHandle, Error> {
        let inner = &self.inner;
        if let Some(hit) = inner.cache_entry.get() {
            tracing::trace!(client_id = %inner.request.client_id, "token cache hit");
            return Ok(hit);
        }

        tracing::debug!(
            client_id = %inner.request.client_id,
            thumbprint = %inner.thumbprint,
            "token cache miss"
        );
        let fetch_from = Arc::clone(inner);
        inner
            .cache_entry
            .get_or_fetch(move || async move {
                let request = || {
                    request_token(
                        &fetch_from.http,
                        &fetch_from.token_url,
                        &fetch_from.request,
                        &fetch_from.policy,
                    )
                };
                match &fetch_from.shared_entry {
                    Some(shared) => shared.get_or_fetch(request).await,
                    None => request().await,
                }
            })
            .await
            .map_err(|source| Error::Token {
                token_url: inner.token_url.to_string(),
                source,
            })
    }

    /// Drops `token` from the cache, both tiers, unless a newer token has replaced it.
    pub async fn evict(&self, token: &TokenHandle) {
        self.inner.cache_entry.evict(token);
        if let Some(shared) = &self.inner.shared_entry {
            shared.evict(token).await;
        }
    }

    /// Sends `request` to the API with the bearer token and the client certificate.
    ///
    /// Any status is returned as a response, except that a 401 `invalid_token` is retried once
    /// with a new token.
    pub async fn send(&self, request: &ApiRequest) -> Result<Response, Error> {
        let url = self.api_url(&request.path)?;
        check_headers(&request.headers)?;

        let token = self.token().await?;
        let response = self.send_once(&url, request, &token).await?;
        if !is_invalid_token(&response) {
            return Ok(response);
        }

        tracing::info!(
            url = %url_without_query(&url),
            "the API rejected the token as invalid_token; fetching a new one"
        );
        self.evict(&token).await;
        drop(token);
        let token = self.token().await?;
        self.send_once(&url, request, &token).await
    }

    /// The cache key of this client's tokens.
    pub fn cache_key(&self) -> &CacheKey {
        &self.inner.key
    }

    /// The entry of this client's tokens in the shared cache, when there is one.
    pub fn shared_cache_entry(&self) -> Option<&RedisEntry> {
        self.inner.shared_entry.as_ref()
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.inner.token_url
    }

    /// The API base, when one is set.
    pub fn api_base(&self) -> Option<&Url> {
        self.inner.api_base.as_ref()
    }

    /// The thumbprint (`x5t#S256`) of the certificate this client presents.
    pub fn thumbprint(&self) -> &str {
        &self.inner.thumbprint
    }

    async fn send_once(
        &self,
        url: &Url,
        request: &ApiRequest,
        token: &TokenHandle,
    ) -> Result<Response, Error> {
        let mut headers = request.headers.clone();
        headers.insert(AUTHORIZATION, bearer_header(token.access_token.secret())?);
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), url.clone())
            .headers(headers);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }

        let started = std::time::Instant::now();
        let response = builder.send().await.map_err(|source| Error::Api {
            url: url_without_query(url),
            hint: transport_hint(&source, url.host_str().unwrap_or("the API")),
            // The URL is named above without its query, which may hold a credential.
            source: source.without_url(),
        })?;
        tracing::debug!(
            method = %request.method,
            url = %url_without_query(url),
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "api request"
        );
        Ok(response)
    }

    fn api_url(&self, path: &str) -> Result<Url, Error> {
        let base = self.inner.api_base.as_ref().ok_or_else(|| Error::Config {
            setting: "api_base",
            reason: "no API base URL: choose an environment or set the API base".into(),
        })?;
        check_api_path(path, base)?;
        let joined = format!("{}{path}", base.as_str().trim_end_matches('/'));
        let url = Url::parse(&joined).map_err(|error| Error::Config {
            setting: "path",
            reason: format!("`{path}` does not make a valid URL under {base}: {error}"),
        })?;
        // The token must never travel to a host other than the API's.
        if url.origin() != base.origin() {
            return Err(Error::Config {
                setting: "path",
                reason: format!("`{path}` leaves the API base {base}"),
            });
        }
        Ok(url)
    }
}

/// A path must stay under the API base: `..` and `.` segments, in any spelling, would let it
/// climb out of a base path such as `/api`, and control characters have no place in a URL.
fn check_api_path(path: &str, base: &Url) -> Result<(), Error> {
    let refuse = |why: &str| {
        Err(Error::Config {
            setting: "path",
            reason: format!("`{}` {why}: it is a path under {base}", path.escape_debug()),
        })
    };
    if !path.starts_with('/') {
        return refuse("must start with `/`");
    }
    if path.chars().any(char::is_control) {
        return refuse("holds a control character");
    }
    let path_part = path.split(['?', '#']).next().unwrap_or_default();
    let climbs = path_part.split('/').any(|segment| {
        let decoded = url::form_urlencoded::parse(format!("s={segment}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        decoded == "." || decoded == ".."
    });
    if climbs {
        return refuse("has a `.` or `..` segment");
    }
    Ok(())
}

fn bearer_header(token: &str) -> Result<HeaderValue, Error> {
    let value = Zeroizing::new(format!("Bearer {token}"));
    let mut header = HeaderValue::from_str(&value).map_err(|_| Error::Config {
        setting: "access_token",
        reason: "the token endpoint issued a token that cannot go in an HTTP header".into(),
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// RFC 6750 section 3.1: `WWW-Authenticate: Bearer error="invalid_token"`.
fn is_invalid_token(response: &Response) -> bool {
    response.status() == reqwest::StatusCode::UNAUTHORIZED
        && response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| {
                let value = value.to_ascii_lowercase();
                value.trim_start().starts_with("bearer")
                    && (value.contains("error=\"invalid_token\"")
                        || value.contains("error=invalid_token"))
            })
}

fn url_without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// Builds a [`Client`].
#[derive(Default)]
pub struct ClientBuilder {
    environment: Option<Environment>,
    token_url: Option<Url>,
    api_base: Option<Url>,
    identity: Option<Identity>,
    client_id: Option<String>,
    audience: Option<String>,
    scope: Scope,
    extra_roots: Vec<CertificateDer<'static>>,
    policy: LifetimePolicy,
    cache: Option<Arc<MemoryCache>>,
    shared_cache: Option<Arc<RedisCache>>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // URLs with credentials are refused at build, but not before: show hosts only.
        let host = |url: &Option<Url>| {
            url.as_ref()
                .and_then(|url| url.host_str().map(str::to_owned))
        };
        f.debug_struct("ClientBuilder")
            .field("environment", &self.environment)
            .field("token_url_host", &host(&self.token_url))
            .field("api_base_host", &host(&self.api_base))
            .field("identity", &self.identity)
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .field("extra_roots", &self.extra_roots.len())
            .field("shared_cache", &self.shared_cache)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Uses a RegEd environment's token endpoint and API base; explicit URLs win.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// The token endpoint.
    pub fn token_url(mut self, url: Url) -> Self {
        self.token_url = Some(url);
        self
    }

    /// The API base URL.
    pub fn api_base(mut self, url: Url) -> Self {
        self.api_base = Some(url);
        self
    }

    /// The certificate and key to present.
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// The client identifier RegEd assigned.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The audience RegEd assigned.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The scope, space-separated.
    pub fn scope(mut self, scope: &str) -> Self {
        self.scope = Scope::parse(scope);
        self
    }

    /// Trusts these CA certificates for the servers, in addition to the system's.
    pub fn add_root_certificates(mut self, roots: Vec<CertificateDer<'static>>) -> Self {
        self.extra_roots.extend(roots);
        self
    }

    /// How long tokens are cached.
    pub fn lifetime_policy(mut self, policy: LifetimePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Shares a cache with other clients; by default each client has its own.
    pub fn cache(mut self, cache: Arc<MemoryCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Shares tokens through Redis with every process that uses the same server and identity,
    /// behind the in-memory cache.
    ///
    /// Tokens are sealed with the cache's configured encryption key or, by default, with a key
    /// derived from this client's private key.
    pub fn shared_cache(mut self, cache: Arc<RedisCache>) -> Self {
        self.shared_cache = Some(cache);
        self
    }

    /// The connect time-out; 10 s by default.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The time-out of a whole request; 30 s by default.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let token_url = self
            .token_url
            .or_else(|| self.environment.map(Environment::token_url))
            .ok_or_else(|| {
                missing(
                    "token_url",
                    "choose an environment (uat or prod) or set the token URL",
                )
            })?;
        // Before any check that shows the URL: a password in it must not reach a message.
        refuse_credentials("token_url", &token_url)?;
        require_https("token_url", &token_url)?;
        let api_base = self
            .api_base
            .or_else(|| self.environment.map(Environment::api_base));
        if let Some(api_base) = &api_base {
            refuse_credentials("api_base", api_base)?;
            require_https("api_base", api_base)?;
            if api_base.query().is_some() || api_base.fragment().is_some() {
                return Err(Error::Config {
                    setting: "api_base",
                    reason: format!("{api_base} has a query or fragment; give the base URL alone"),
                });
            }
        }
        let identity = self.identity.ok_or_else(|| {
            missing(
                "identity",
                "give the client's certificate and key (Identity::from_pem_files or from_pkcs12)",
            )
        })?;
        for (setting, timeout) in [
            ("connect_timeout", self.connect_timeout),
            ("request_timeout", self.request_timeout),
        ] {
            if timeout.is_some_and(|timeout| timeout.is_zero()) {
                return Err(Error::Config {
                    setting,
                    reason: "zero: every request would fail at once; give a time-out of at \
                             least a second, or leave it for the default"
                        .into(),
                });
            }
        }
        if let Some(token) = self
            .scope
            .tokens()
            .iter()
            .find(|token| !is_scope_token(token))
        {
            return Err(Error::Config {
                setting: "scope",
                reason: format!(
                    "{token:?} is not a scope token (RFC 6749 section 3.3: no quotes or \
                     backslashes); give the scope RegEd gave you"
                ),
            });
        }
        let client_id = non_empty(
            self.client_id,
            "client_id",
            "set the client id RegEd gave you",
        )?;
        let audience = non_empty(self.audience, "audience", "set the audience RegEd gave you")?;

        let tls = client_config(&identity, &self.extra_roots)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
            .timeout(self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(Error::HttpClient)?;

        let thumbprint = identity.thumbprint().as_str().to_owned();
        let key = CacheKey::new(
            token_url.as_str(),
            &client_id,
            &audience,
            &self.scope,
            &thumbprint,
        );
        let shared_entry = self.shared_cache.map(|shared| {
            let private_key = Zeroizing::new(identity.private_key());
            let derived = CacheEncryptionKey::derive_from_private_key(private_key.secret_der());
            shared.entry(&key, derived)
        });
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                token_url,
                api_base,
                request: TokenRequest {
                    client_id,
                    audience,
                    scope: self.scope,
                },
                policy: self.policy,
                cache_entry: self.cache.unwrap_or_default().entry(&key),
                shared_entry,
                key,
                thumbprint,
            }),
        })
    }
}

/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && byte != b'"' && byte != b'\\')
}

fn missing(setting: &'static str, next_step: &str) -> Error {
    Error::Config {
        setting,
        reason: format!("missing: {next_step}"),
    }
}

fn non_empty(value: Option<String>, setting: &'static str, next: &str) -> Result<String, Error> {
    match value {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(missing(setting, next)),
    }
}

/// Refuses a URL with a user name or password in it.
///
/// reqwest would send them as a Basic Authorization header, and every error that names the URL
/// would show them; the client authenticates with its certificate, not with them.
fn refuse_credentials(setting: &'static str, url: &Url) -> Result<(), Error> {
    if url.username().is_empty() && url.password().is_none() {
        return Ok(());
    }
    Err(Error::Config {
        setting,
        reason: CREDENTIALS_IN_URL.into(),
    })
}

/// Why a URL with a user name or password is refused, and what to do.
const CREDENTIALS_IN_URL: &str = "the URL holds a user name or password, and credentials do \
     not belong in the URL: the client authenticates with its certificate; remove the \
     `user:password@` part";

fn require_https(setting: &'static str, url: &Url) -> Result<(), Error> {
    if url.scheme() == "https" {
        return Ok(());
    }
    Err(Error::Config {
        setting,
        reason: format!("{url} is not an https URL; mutual TLS needs https"),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn builder() -> ClientBuilder {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/identity");
        let identity = Identity::from_pem_files(
            &[
                Path::new(&format!("{dir}/ec-client.pem")),
                Path::new(&format!("{dir}/ec-client.key")),
            ],
            None,
        )
        .unwrap();
        Client::builder()
            .environment(Environment::Uat)
            .client_id("client")
            .audience("audience")
            .identity(identity)
    }

    /// Found in review: the CLI refused these, the library built a client that could only fail.
    #[test]
    fn zero_time_out_and_a_scope_that_is_no_scope_token_are_refused_at_build() {
        let zero_connect = builder().connect_timeout(Duration::ZERO).build();
        let zero_request = builder().request_timeout(Duration::ZERO).build();
        let quoted_scope = builder().scope("read \"write\"").build();

        for (built, setting) in [
            (zero_connect, "connect_timeout"),
            (zero_request, "request_timeout"),
            (quoted_scope, "scope"),
        ] {
            match built {
                Err(Error::Config { setting: found, .. }) => assert_eq!(found, setting),
                other => panic!("{setting}: {other:?}"),
            }
        }
        assert!(builder().scope("read write").build().is_ok());
    }

    #[test]
    fn missing_identity_names_the_builder_method_and_debug_shows_no_key() {
        let builder = builder();
        let shown = format!("{builder:?}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");

        let error = Client::builder()
            .environment(Environment::Uat)
            .client_id("client")
            .audience("audience")
            .build()
            .unwrap_err();

        assert!(
            matches!(
                error,
                Error::Config {
                    setting: "identity",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    fn check(path: &str) -> Result<(), Error> {
        check_api_path(path, &Url::parse("https://api.example/api").unwrap())
    }

    #[test]
    fn ordinary_paths_pass() {
        for path in [
            "/v1/whoami",
            "/v1/items?page=2&q=a.b",
            "/v1/file.json",
            "/v1/..x",
            "/",
        ] {
            assert!(check(path).is_ok(), "{path}");
        }
    }

    #[test]
    fn dot_segments_in_any_spelling_are_refused() {
        for path in [
            "/../x",
            "/v1/../../x",
            "/%2e%2e/x",
            "/%2E./x",
            "/./x",
            "/v1/..",
        ] {
            let error = check(path).unwrap_err();
            assert!(error.to_string().contains("segment"), "{path}: {error}");
        }
    }

    #[test]
    fn control_characters_and_relative_paths_are_refused() {
        assert!(check("/a\nHost: evil").is_err());
        assert!(check("v1/whoami").is_err());
        assert!(
            check("//evil.example/x").is_ok(),
            "the origin check catches this one"
        );
    }

    #[test]
    fn password_in_the_token_url_or_api_base_is_refused_without_showing_it() {
        let with_password = Url::parse("https://u:s3cretpw@127.0.0.1:1/oauth/token").unwrap();
        let plain = Url::parse("https://127.0.0.1:1/oauth/token").unwrap();
        let user_only = Url::parse("https://someone@127.0.0.1:1/").unwrap();

        let token_url = Client::builder().token_url(with_password.clone()).build();
        let api_base = Client::builder()
            .token_url(plain)
            .api_base(with_password)
            .build();
        let user = Client::builder().token_url(user_only).build();

        for (result, setting) in [
            (token_url, "token_url"),
            (api_base, "api_base"),
            (user, "token_url"),
        ] {
            let error = result.unwrap_err();
            let shown = error.to_string();
            assert!(
                matches!(&error, Error::Config { setting: named, .. } if *named == setting),
                "{shown}"
            );
            assert!(
                shown.contains("credentials do not belong in the URL"),
                "{shown}"
            );
            assert!(
                !shown.contains("s3cretpw") && !shown.contains("someone"),
                "{shown}"
            );
        }
    }

    #[test]
    fn request_debug_shows_header_names_not_values() {
        let mut request = ApiRequest::new(Method::GET, "/v1/x?api_key=QUERYSECRET");
        request
            .headers
            .insert("x-api-key", HeaderValue::from_static("HEADERSECRET"));

        let shown = format!("{request:?}");

        assert!(shown.contains("x-api-key"), "{shown}");
        assert!(
            !shown.contains("HEADERSECRET") && !shown.contains("QUERYSECRET"),
            "{shown}"
        );
    }
}
