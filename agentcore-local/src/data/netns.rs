//! Each microVM in a network namespace of its own (`--isolation netns`), so that every agent binds
//! the contract's port (8080 for HTTP and AG-UI, 8000 for MCP, 9000 for A2A, or
//! `protocolConfiguration.port`) as it does on AWS, where every microVM has its own network.
//!
//! **How.** The agent is started through a small relay process, the shim: `agentcore-local
//! netns-shim --listen-fd FD --agent-port A -- PROGRAM ARGS…`. The emulator binds `127.0.0.1:P`
//! and hands the listening socket down as descriptor FD (so no other session can take P in
//! between); still in the emulator's network, the shim takes it over; then it moves itself into a new user and network namespace
//! (`unshare(CLONE_NEWUSER | CLONE_NEWNET)`, unprivileged: the user namespace maps only the
//! caller's own uid and gid onto themselves), brings the namespace's loopback up, and starts the
//! agent there with `PORT=A`. The listening socket it bound before stays in the emulator's network,
//! while every socket it opens afterwards is in the new one, so it relays each connection the
//! emulator makes to `127.0.0.1:P` to the agent's `127.0.0.1:A`, byte for byte, one thread pair a
//! connection. The emulator itself is unchanged: it pings and forwards to `127.0.0.1:P` as in
//! `--isolation port`.
//!
//! The shim runs `unshare` before it starts any thread (a multithreaded process may not make a new
//! user namespace), leads the session's process group (signals reach the agent too), sets the
//! parent-death signal on the agent, outlives SIGTERM so the agent can end gracefully, and exits with
//! the agent's status when the agent exits.
//! The namespace has no other interface: an agent has no outbound network (AWS gives it the VPC's
//! through its ENIs; nothing here emulates that).

use std::ffi::OsString;
use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// The hidden subcommand of the `agentcore-local` binary that runs the shim.
pub const SHIM_SUBCOMMAND: &str = "netns-shim";

/// The shim's arguments (after [`SHIM_SUBCOMMAND`]).
#[derive(Debug, PartialEq, Eq)]
pub struct ShimArgs {
    /// The listening socket the emulator handed down (bound in the emulator's network).
    pub listen_fd: i32,
    /// The port the agent listens on in its own network.
    pub agent_port: u16,
    pub program: OsString,
    pub args: Vec<OsString>,
}

/// The arguments that start `program args` through the shim (what follows the binary's path).
pub fn shim_arguments(listen_fd: i32, agent_port: u16, program: &Path, args: &[String]) -> Vec<OsString> {
    let mut out: Vec<OsString> = vec![
        SHIM_SUBCOMMAND.into(),
        "--listen-fd".into(),
        listen_fd.to_string().into(),
        "--agent-port".into(),
        agent_port.to_string().into(),
        "--".into(),
        program.as_os_str().to_owned(),
    ];
    out.extend(args.iter().map(OsString::from));
    out
}

/// Parses the shim's arguments (those after [`SHIM_SUBCOMMAND`]); `None` for `--probe`.
pub fn parse_shim_arguments(args: &[OsString]) -> Result<Option<ShimArgs>, String> {
    if args.len() == 1 && args[0] == "--probe" {
        return Ok(None);
    }
    let text = |i: usize| args.get(i).and_then(|a| a.to_str()).ok_or("missing argument");
    let number = |i: usize, flag: &str| -> Result<u32, String> {
        if text(i)? != flag {
            return Err(format!("expected {flag}"));
        }
        text(i + 1)?.parse().map_err(|_| format!("{flag} needs a number"))
    };
    let listen_fd = i32::try_from(number(0, "--listen-fd")?).map_err(|_| "--listen-fd is too large")?;
    let agent_port = u16::try_from(number(2, "--agent-port")?).map_err(|_| "--agent-port is not a port")?;
    if text(4)? != "--" {
        return Err("expected -- before the agent command".into());
    }
    let program = args.get(5).cloned().ok_or("missing the agent program")?;
    Ok(Some(ShimArgs { listen_fd, agent_port, program, args: args[6..].to_vec() }))
}

/// Whether this machine lets an unprivileged process make a user and network namespace: runs
/// `shim --probe` (`shim` being the `agentcore-local` binary), which tries it and says why not.
pub fn probe(shim: &Path) -> Result<(), String> {
    let output = Command::new(shim)
        .args([SHIM_SUBCOMMAND, "--probe"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {} {SHIM_SUBCOMMAND} --probe: {e}", shim.display()))?;
    if output.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&output.stderr).trim().to_string()) }
}

/// The shim's whole life (called by the binary's `main` before anything starts a thread): with
/// `None`, only tries the namespaces (`--probe`). Never returns.
pub fn run_shim(args: Option<ShimArgs>) -> ! {
    let Some(args) = args else {
        match enter_namespaces() {
            Ok(()) => std::process::exit(0),
            Err(why) => fail(&why),
        }
    };
    let listener = inherited_listener(args.listen_fd);
    if let Err(why) = enter_namespaces() {
        fail(&why);
    }
    outlive_sigterm();
    let mut agent = Command::new(&args.program);
    agent.args(&args.args).env("PORT", args.agent_port.to_string()).env("HOST", "127.0.0.1").stdin(Stdio::null());
    die_with_parent(&mut agent);
    let mut child = agent
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot start the agent {}: {e}", args.program.to_string_lossy())));
    std::thread::spawn(move || {
        let code = match child.wait() {
            Ok(status) => status.code().unwrap_or(128 + signal_of(&status)),
            Err(_) => 1,
        };
        std::process::exit(code);
    });
    for incoming in listener.incoming() {
        let Ok(outside) = incoming else {
            // Out of descriptors, say: let connections close before the next try.
            std::thread::sleep(std::time::Duration::from_millis(50));
            continue;
        };
        let agent_port = args.agent_port;
        std::thread::spawn(move || relay(outside, agent_port));
    }
    std::process::exit(1)
}

fn signal_of(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.signal().unwrap_or(0)
}

fn fail(why: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "agentcore-local {SHIM_SUBCOMMAND}: {why}");
    std::process::exit(1)
}

/// Copies bytes both ways between the emulator's connection and one to the agent, until both
/// sides are done. A refused connection (the agent not listening yet) closes the emulator's.
fn relay(outside: TcpStream, agent_port: u16) {
    let Ok(inside) = TcpStream::connect(("127.0.0.1", agent_port)) else { return };
    let _ = (outside.set_nodelay(true), inside.set_nodelay(true));
    let (Ok(mut outside_reader), Ok(mut inside_writer)) = (outside.try_clone(), inside.try_clone()) else { return };
    let upstream = std::thread::spawn(move || {
        let _ = std::io::copy(&mut outside_reader, &mut inside_writer);
        let _ = inside_writer.shutdown(Shutdown::Write);
    });
    let (mut inside_reader, mut outside_writer) = (inside, outside);
    let _ = std::io::copy(&mut inside_reader, &mut outside_writer);
    let _ = outside_writer.shutdown(Shutdown::Write);
    let _ = upstream.join();
}

/// Moves this (single-threaded) process into a new user namespace that maps its own uid and gid,
/// and a new network namespace whose loopback it brings up.
fn enter_namespaces() -> Result<(), String> {
    let (uid, gid) = ids();
    unshare_user_and_network().map_err(|e| {
        format!(
            "cannot make a user and network namespace (unshare: {e}); the kernel or a container's seccomp \
             policy forbids unprivileged namespaces (see /proc/sys/user/max_user_namespaces and \
             kernel.unprivileged_userns_clone): use --isolation port"
        )
    })?;
    let write = |file: &str, text: String| {
        std::fs::write(file, text).map_err(|e| format!("cannot write {file} in the new user namespace: {e}"))
    };
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
    write("/proc/self/gid_map", format!("{gid} {gid} 1"))?;
    loopback_up().map_err(|e| format!("cannot bring the namespace's loopback up: {e}"))
}

// The crate denies unsafe code; the calls below are this module's audited exceptions: plain
// system calls on values owned here, made while the process is single-threaded (the shim), or in a
// forked child before exec (`die_with_parent`).

/// The listening socket handed down as descriptor `fd`.
#[allow(unsafe_code)]
fn inherited_listener(fd: i32) -> TcpListener {
    use std::os::fd::FromRawFd;
    // SAFETY: only the emulator starts the shim, with `fd` a listening TCP socket it made for this
    // shim alone (`data::agent::spawn`); nothing else in the shim owns it. Close-on-exec again, so
    // the agent does not inherit it (it would keep the port open after the shim is gone).
    let listener = unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        TcpListener::from_raw_fd(fd)
    };
    if listener.local_addr().is_err() {
        fail(&format!("descriptor {fd} is not a listening socket"));
    }
    listener
}

#[allow(unsafe_code)]
fn ids() -> (u32, u32) {
    // SAFETY: geteuid and getegid cannot fail and touch no memory of ours.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

#[allow(unsafe_code)]
fn unshare_user_and_network() -> std::io::Result<()> {
    // SAFETY: unshare takes flags only; the shim calls it before it starts any thread, as
    // CLONE_NEWUSER requires.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

#[allow(unsafe_code)]
fn loopback_up() -> std::io::Result<()> {
    // SAFETY: the socket is ours and closed before returning; `request` is a zeroed `ifreq` that
    // outlives both ioctls, which read and write only inside it.
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        let mut result = Ok(());
        if libc::ioctl(socket, libc::SIOCGIFFLAGS, &mut request) < 0 {
            result = Err(std::io::Error::last_os_error());
        } else {
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(socket, libc::SIOCSIFFLAGS, &request) < 0 {
                result = Err(std::io::Error::last_os_error());
            }
        }
        libc::close(socket);
        result
    }
}

/// The emulator ends a session with SIGTERM to its process group, then SIGKILL after the grace.
/// The shim must outlive the agent's graceful exit (its death would SIGKILL the agent at once, see
/// [`die_with_parent`]): a handler that does nothing takes SIGTERM, and the shim exits when the agent
/// does. A handler, not an ignored signal: exec resets handlers, so the agent gets SIGTERM as usual.
#[allow(unsafe_code)]
fn outlive_sigterm() {
    extern "C" fn nothing(_: libc::c_int) {}
    let action = nix::sys::signal::SigAction::new(
        nix::sys::signal::SigHandler::Handler(nothing),
        nix::sys::signal::SaFlags::SA_RESTART,
        nix::sys::signal::SigSet::empty(),
    );
    // SAFETY: the handler does nothing, so it is async-signal-safe; no other handler is replaced.
    let _ = unsafe { nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGTERM, &action) };
}

/// The agent dies with the shim (`PR_SET_PDEATHSIG` = SIGKILL): the shim runs one thread when it
/// forks, so the signal fires when the shim itself ends.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and makes one system call.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shim_arguments_round_trip() {
        let args = shim_arguments(7, 8080, Path::new("/usr/bin/python3"), &["app.py".into(), "--x".into()]);
        let parsed = parse_shim_arguments(&args[1..]).unwrap().unwrap();
        assert_eq!(
            parsed,
            ShimArgs {
                listen_fd: 7,
                agent_port: 8080,
                program: "/usr/bin/python3".into(),
                args: vec!["app.py".into(), "--x".into()]
            }
        );
        assert_eq!(parse_shim_arguments(&["--probe".into()]).unwrap(), None);
        for bad in [vec![], vec!["--listen-fd", "x"], vec!["--listen-fd", "1", "--agent-port", "70000", "--", "p"]] {
            let bad: Vec<OsString> = bad.into_iter().map(OsString::from).collect();
            assert!(parse_shim_arguments(&bad).is_err(), "{bad:?}");
        }
    }
}
