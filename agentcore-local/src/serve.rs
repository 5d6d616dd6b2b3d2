//! The accept loop: hyper-util's HTTP/1 + HTTP/2 server with the connection-level limits `axum::serve`
//! does not offer.
//!
//! * a header read timeout (`Config::header_read_timeout`, HTTP/1): a client that does not finish
//!   its request headers in time (a slow-loris) is disconnected, and so is a keep-alive connection
//!   idle for that long;
//! * a concurrency limit (`Config::max_concurrent_requests`, tower's `GlobalConcurrencyLimitLayer`,
//!   one semaphore for every connection): more requests wait for a slot;
//! * graceful shutdown (`hyper_util::server::graceful`): on stop, the listener closes, idle
//!   connections end, requests in flight finish.
//!
//! The body read timeout and body limits are per route, in [`crate::router`].

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;

/// The connection-level limits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub header_read_timeout: Duration,
    pub max_concurrent_requests: usize,
}

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `stop` resolves, then shuts down gracefully.
pub(crate) async fn serve(listener: TcpListener, router: Router, limits: Limits, stop: impl Future<Output = ()>) {
    let service = ServiceBuilder::new()
        .layer(GlobalConcurrencyLimitLayer::new(limits.max_concurrent_requests.max(1)))
        .service(router);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service.clone()))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
