//! The accept loop: hyper-util's server, HTTP/1 only, with the connection-level limits
//! `axum::serve` does not offer.
//!
//! * HTTP/1.1 only: the AWS SDKs, the AWS CLI and boto3 speak HTTP/1.1 to an `http://` endpoint
//!   (HTTP/2 needs TLS ALPN, which this plain-HTTP emulator does not offer). Serving h2c
//!   (prior-knowledge HTTP/2) too would add connections that the header read timeout below does
//!   not cover (hyper applies it to HTTP/1 only): an idle h2c connection was never closed, and
//!   enough of them exhausted the file descriptors. An h2c preface (`PRI * HTTP/2.0`) now gets
//!   hyper's HTTP/1 parse error and the connection is closed at once;
//! * a header read timeout (`Config::header_read_timeout`, HTTP/1): a client that does not finish
//!   its request headers in time (a slow-loris) is disconnected, and so is a keep-alive connection
//!   idle for that long;
//! * HTTP/1 upgrades (`/runtimes/{arn}/ws`): hyper's own HTTP/1 connection `with_upgrades`
//!   (hyper-util's `auto` builder serves upgrades only by also sniffing for HTTP/2, which would
//!   bring h2c back);
//! * graceful shutdown: on stop, the listener closes, idle connections end, requests in flight
//!   finish (an upgraded WebSocket is no longer an HTTP connection and is not waited for).
//!
//! The body read timeout, the body limits and the concurrency limit (which only authenticated
//! requests take part in) are in [`crate::router`].

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// The connection-level limits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub header_read_timeout: Duration,
}

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `stop` resolves, then shuts down gracefully.
pub(crate) async fn serve(listener: TcpListener, router: Router, limits: Limits, stop: impl Future<Output = ()>) {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let (stopping, stop_signal) = tokio::sync::watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        // Forget the connections that ended (their results were logged by themselves).
        while connections.try_join_next().is_some() {}
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
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router.clone())).with_upgrades();
        let mut stop_signal = stop_signal.clone();
        connections.spawn(async move {
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = async { let _ = stop_signal.wait_for(|stopping| *stopping).await; } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    while connections.join_next().await.is_some() {}
}
