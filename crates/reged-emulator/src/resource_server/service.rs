//! The service that checks the bearer token of each request before its inner service sees it.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{Request, Response};
use tower::Service;

use super::ResourceServer;
use super::certificate::PeerCertificate;
use super::future::ResponseFuture;

/// Checks the access token of each request (see [`ResourceServer`]); a good one goes on to
/// the inner service with an [`AccessToken`](super::AccessToken) in its extensions, a bad one
/// is answered per RFC 6750 without reaching it.
///
/// The certificate of the connection is the [`PeerCertificate`] in the request's extensions;
/// the server puts it there.
#[derive(Clone, Debug)]
pub struct BearerAuth<S> {
    inner: S,
    server: ResourceServer,
    required_scopes: Arc<[String]>,
}

impl<S> BearerAuth<S> {
    pub(crate) fn new(
        inner: S,
        server: ResourceServer,
        required_scopes: Arc<[String]>,
    ) -> BearerAuth<S> {
        BearerAuth {
            inner,
            server,
            required_scopes,
        }
    }
}

impl<S, RequestBody, ResponseBody> Service<Request<RequestBody>> for BearerAuth<S>
where
    S: Service<Request<RequestBody>, Response = Response<ResponseBody>>,
    ResponseBody: From<String>,
{
    type Response = Response<ResponseBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResponseBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<RequestBody>) -> Self::Future {
        let certificate = request.extensions().get::<PeerCertificate>();
        let checked = self
            .server
            .authorize(request.headers(), certificate, &self.required_scopes);

        match checked {
            Ok(token) => {
                request.extensions_mut().insert(token.clone());
                ResponseFuture::authorized(self.inner.call(request), token)
            }
            Err(error) => ResponseFuture::refused(error.to_response(self.server.realm())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::http::{Request, Response, StatusCode, header};
    use jsonwebtoken::jwk::JwkSet;
    use tower::{Layer, ServiceExt};

    use crate::resource_server::{AccessToken, ResourceServer, StaticKeys};

    /// The layer around a plain tower service with `String` bodies, no axum router.
    fn protected() -> impl tower::Service<
        Request<String>,
        Response = Response<String>,
        Error = Infallible,
        Future = impl Send,
    > {
        let keys = StaticKeys::from_jwks(&JwkSet { keys: Vec::new() }).unwrap();
        let server =
            ResourceServer::new("https://issuer/", "https://api", keys).with_realm("plain");
        let inner = tower::service_fn(|request: Request<String>| async move {
            let client = request
                .extensions()
                .get::<AccessToken>()
                .map(|token| token.client_id.clone());
            Ok::<_, Infallible>(Response::new(client.unwrap_or_default()))
        });
        server.layer().require_scope("read").layer(inner)
    }

    #[tokio::test]
    async fn plain_service_without_credentials_gets_the_bare_challenge() {
        let response = protected()
            .oneshot(Request::new(String::new()))
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"plain\""
        );
    }

    #[tokio::test]
    async fn plain_service_with_an_unsigned_token_is_invalid_token() {
        let request = Request::builder()
            .header(header::AUTHORIZATION, "Bearer e30.e30.e30")
            .body(String::new())
            .unwrap();

        let response = protected().oneshot(request).await.unwrap();

        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(response.body().contains("\"error\":\"invalid_token\""));
    }
}
