//! What the workspace's integration tests share. A dev-dependency only; never published.
