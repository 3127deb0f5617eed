//! The response future of [`BearerAuth`](super::BearerAuth).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::Response;
use pin_project_lite::pin_project;

use super::token::AccessToken;

pin_project! {
    /// Either the inner service's answer, with the verified [`AccessToken`] added to its
    /// extensions (for logging layers outside), or the refusal.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProjection]
    enum Kind<F, B> {
        Authorized { #[pin] future: F, token: Option<AccessToken> },
        Refused { response: Option<Response<B>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn authorized(future: F, token: AccessToken) -> Self {
        ResponseFuture {
            kind: Kind::Authorized {
                future,
                token: Some(token),
            },
        }
    }

    pub(crate) fn refused(response: Response<B>) -> Self {
        ResponseFuture {
            kind: Kind::Refused {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProjection::Authorized { future, token } => {
                let mut response = std::task::ready!(future.poll(cx))?;
                if let Some(token) = token.take() {
                    response.extensions_mut().insert(token);
                }
                Poll::Ready(Ok(response))
            }
            KindProjection::Refused { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
        }
    }
}
