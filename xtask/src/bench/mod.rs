//! `cargo xtask bench <target>`: side-by-side comparisons that run real processes on loopback
//! (micro-benchmarks of library code are criterion benches in `benches/`).

mod agent;
mod emulator;
mod loadgen;

#[derive(clap::Args)]
pub struct Args {
    /// What to compare.
    #[arg(value_enum)]
    pub target: Target,
    /// Seconds of load per case.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Concurrent connections of the load tool.
    #[arg(long, default_value_t = 50)]
    pub connections: u32,
    /// Threads of the load tool (it shares the machine's cores with the servers under test).
    #[arg(long, default_value_t = 1)]
    pub threads: u32,
    /// Start-ups timed per server (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub startups: u32,
    /// `bench agent`: target triple of the dummy-agent build to measure, e.g. `x86_64-unknown-linux-musl`
    /// for the static build the container ships (default: the host build agentcore-local runs).
    #[arg(long)]
    pub agent_target: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Target {
    /// dummy-agent against the seed experiment's FastAPI agent (uvicorn plain and `uvicorn[standard]`).
    Agent,
    /// agentcore-local's data plane: warm invocations/s, new-session latency, RSS of 500 microVMs.
    Emulator,
    /// loadgen's http target vs wrk (and oha if installed), open-model accuracy at 2,000/s, and the
    /// agentcore target vs a 50-thread boto3 pool against agentcore-local.
    Loadgen,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    match args.target {
        Target::Agent => agent::run(args),
        Target::Emulator => emulator::run(args),
        Target::Loadgen => loadgen::run(args),
    }
}
