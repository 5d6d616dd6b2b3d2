//! What the handlers share: the health counter (all `/ping` needs, taken out by [`FromRef`]) and the
//! body limit.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::health::Health;

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) health: Arc<Health>,
    pub(crate) body_limit: usize,
}

impl FromRef<AppState> for Arc<Health> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.health)
    }
}
