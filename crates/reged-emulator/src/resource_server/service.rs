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
