//! What every comparison reads: the arguments with `--quick` applied.

/// The arguments with `--quick` applied.
pub struct Settings {
    pub quick: bool,
    /// Seconds of load per case (wrk's `-d` takes whole seconds).
    pub duration: u64,
    pub connections: u32,
    pub threads: u32,
    pub startups: u32,
    pub agent_target: Option<String>,
}
