//! Shared by the eni-lab tests: the `eni-lab` binary with a clean AWS environment and a scratch runs
//! directory, an in-process agentcore-local, moto's server from the test venv, SDK configs.
#![allow(dead_code)]

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A fresh scratch directory under the test target dir (removed first if it exists).
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("eni-lab-it").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch dir");
    dir
}

/// `eni-lab` with nothing of the host's AWS setup (profiles, endpoints, tokens, proxies) and its runs
/// directory (`target/verify/` normally) in `runs_dir`.
pub fn eni_lab(runs_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eni-lab"));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("AWS_") || key.to_ascii_lowercase().ends_with("_proxy") {
            command.env_remove(&*key);
        }
    }
    command
        .env("AGENTCORE_LAB_RUNS_DIR", runs_dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", runs_dir.join("no-aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", runs_dir.join("no-aws-credentials"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// `eni-lab ARGS` with its runs directory in `runs_dir`, off the async runtime (an emulator in this
/// test process keeps serving meanwhile); its output is echoed for failing tests.
pub async fn run_eni_lab(runs_dir: &Path, args: &[&str]) -> std::process::Output {
    let mut command = eni_lab(runs_dir);
    command.args(args);
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("run eni-lab");
    eprintln!(
        "eni-lab {args:?} → {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The SDK configuration for an emulator at `url` (`test`/`test` credentials, us-east-1).
pub async fn sdk(url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(url)
        .load()
        .await
}

/// An agentcore-local in this process on a free loopback port, with the workspace's dummy-agent as
/// the microVM program. `config` adjusts the defaults (time scale, linger, quota…).
pub async fn emulator(config: agentcore_local::Config) -> agentcore_local::Handle {
    let agent = agentcore_local::AgentCommand::resolve_default()
        .expect("dummy-agent is built by `cargo test --workspace` (or run `cargo build -p dummy-agent`)");
    let config = agentcore_local::Config { agent_command: Some(agent), ..config };
    agentcore_local::start(config).await.expect("agentcore-local starts")
}

/// Flags for a short verify against [`endpoint_emulator`] (its clock and quota) or the embedded one.
pub const FAST_VERIFY: &[&str] =
    &["--time-scale", "20", "--emulator-max-vms", "20", "--concurrency", "10", "--duration", "3s", "--runtimes", "4"];

/// The agentcore-local that verify runs against through `--endpoint-url` in the tests: a 20× clock,
/// 30 s (service time) from CREATING to READY, ENIs lingering 60 s, a quota of 20 microVMs. Verify is
/// told the same values with its flags (it cannot read them through the SDK).
pub async fn endpoint_emulator() -> agentcore_local::Handle {
    emulator(agentcore_local::Config {
        clock: agentcore_local::Clock::scaled(20.0).expect("a valid time scale"),
        status_delay: Duration::from_secs(30),
        eni_linger: Duration::from_secs(60),
        max_vms: 20,
        ..Default::default()
    })
    .await
}

/// A server process, killed and reaped on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test venv (`AGENTCORE_LAB_VENV`, else `target/test-venv`), or a panic saying how to get one.
pub fn venv() -> PathBuf {
    let venv = std::env::var_os("AGENTCORE_LAB_VENV").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("eni-lab sits in the workspace").join("target/test-venv")
    });
    let moto = venv.join("bin").join("moto_server");
    assert!(
        moto.is_file(),
        "{} is missing: run `cargo xtask test`, which installs the test venv \
         (or point AGENTCORE_LAB_VENV at one with xtask/test-requirements.txt installed)",
        moto.display()
    );
    venv
}

/// `moto_server -H 127.0.0.1 -p PORT` on a free port, ready once it accepts connections.
pub fn start_moto() -> Server {
    let venv = venv();
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("find a free loopback port").port();
    let log = scratch("moto-logs").join(format!("moto-{port}.log"));
    let child = Command::new(venv.join("bin").join("moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(File::create(&log).expect("create the moto log"))
        .stderr(Stdio::from(File::options().append(true).open(&log).expect("open the moto log")))
        .spawn()
        .expect("start moto_server");
    let mut server = Server { child, url: format!("http://127.0.0.1:{port}"), log };
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = server.child.try_wait().expect("poll moto_server") {
            panic!("moto_server exited ({status}) before listening; log: {}", server.log.display());
        }
        assert!(Instant::now() < deadline, "moto_server did not listen within {STARTUP_TIMEOUT:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}
