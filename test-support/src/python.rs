//! The Python peers: the test venv that `cargo xtask test` installs (`xtask/test-requirements.txt`),
//! moto's server from it on a free loopback port, and the venv's Python running a script against a
//! server with a clean AWS environment.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::{Server, without_host_aws};

/// How long moto's server may take to accept connections.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The programs of the venv that the tests run.
const TOOLS: [&str; 3] = ["python", "aws", "moto_server"];

/// The test venv: `AGENTCORE_LAB_VENV`, else `<workspace>/target/test-venv`. Panics, saying how to get
/// one, when it lacks any of `python`, `aws` and `moto_server` (never a silent skip).
pub fn venv() -> PathBuf {
    let venv = std::env::var_os("AGENTCORE_LAB_VENV").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("test-support sits in the workspace")
            .join("target")
            .join("test-venv")
    });
    for tool in TOOLS {
        let path = venv.join("bin").join(tool);
        assert!(
            path.is_file(),
            "{} is missing: run `cargo xtask test`, which installs the test venv \
             (or point AGENTCORE_LAB_VENV at one with xtask/test-requirements.txt installed)",
            path.display()
        );
    }
    venv
}

/// `moto_server -H 127.0.0.1 -p PORT` from `venv` on a free loopback port, its output in
/// `log_dir/moto-PORT.log`; returns once it accepts connections (at most [`STARTUP_TIMEOUT`]). The
/// server is killed when the returned [`Server`] is dropped.
pub fn start_moto(venv: &Path, log_dir: &Path) -> Server {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("find a free loopback port").port();
    let log = log_dir.join(format!("moto-{port}.log"));
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
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on {port} within {STARTUP_TIMEOUT:?}; log: {}",
            server.log.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// Runs `script server.url` with the venv's Python and returns the JSON it prints on stdout. The
/// script sees none of the host's AWS set-up or proxies: `test`/`test` credentials, us-east-1, empty
/// AWS config and credentials files (written to `scratch/empty-aws-config`), no instance metadata.
/// Panics with the script's stderr and the server's log when it fails or prints no JSON.
pub fn run_script(venv: &Path, script: &Path, server: &Server, scratch: &Path) -> Value {
    run_script_with(venv, script, server, scratch, &[])
}

/// [`run_script`] with more environment variables for the script.
pub fn run_script_with(venv: &Path, script: &Path, server: &Server, scratch: &Path, env: &[(&str, &str)]) -> Value {
    let empty = scratch.join("empty-aws-config");
    std::fs::write(&empty, "").expect("write the empty AWS config");
    let mut command = Command::new(venv.join("bin").join("python"));
    command.arg(script).arg(&server.url);
    without_host_aws(&mut command)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(env.iter().copied());
    let output = command.output().expect("run the venv's python");
    let name = script.file_name().map_or_else(|| script.display().to_string(), |n| n.to_string_lossy().into_owned());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} against {} failed ({}):\n{stderr}\nserver log: {}",
        server.url,
        output.status,
        server.log.display()
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{name} printed no JSON ({e}):\n{}\n{stderr}", String::from_utf8_lossy(&output.stdout))
    })
}
