//! What every handler gets from the front door, and the route helper every service uses.
//!
//! The router ([`crate::router`]) authenticates a request and attaches a [`RequestContext`]; the
//! services ([`crate::ec2`], [`crate::control`], [`crate::data`]) read it and register their
//! routes with [`route_both`]. They depend on this module, never on the router, so the router can
//! depend on them.

use axum::Router;
use axum::routing::MethodRouter;

use crate::auth::Caller;

/// Per-request facts every handler gets as an extension.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub caller: Caller,
    pub request_id: String,
    /// When the request's head arrived (wall time): emulated service times run from then.
    pub received: std::time::Instant,
}

/// Registers `route` at `path` and at `path/`.
pub fn route_both<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    path: &str,
    route: MethodRouter<S>,
) -> Router<S> {
    router.route(path, route.clone()).route(&format!("{path}/"), route)
}
