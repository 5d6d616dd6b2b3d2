//! InvokeAgentRuntimeCommand: a shell command run in a session's "container" (`sh -c COMMAND`
//! beside the session's agent process, with its environment: see [`super::agent::spawn_shell`]),
//! its output streamed back as an AWS event stream.
//!
//! The answer is `application/vnd.amazon.eventstream`: one frame per event, each an `event`
//! message of type `chunk` whose JSON payload is a `ResponseChunk` (botocore `bedrock-agentcore`
//! 2024-02-28): `{"contentStart": {}}` first, `{"contentDelta": {"stdout": …}}` or
//! `{"contentDelta": {"stderr": …}}` as output arrives, `{"contentStop": {"exitCode": N, "status":
//! "COMPLETED" | "TIMED_OUT"}}` last. Frames are written by `aws-smithy-eventstream`, the crate
//! the AWS SDK for Rust reads them with.
//!
//! **Bounds.** The command is killed (SIGKILL to its process group) when its `timeout` passes
//! (wall-clock seconds: the work is real; the model's default 300, 1–3,600), when its session
//! ends, and when the client goes away. Output beyond [`MAX_OUTPUT_BYTES`] is read and dropped
//! (the command keeps running), with one `stderr` note saying so. Once the command's process has
//! exited, output still in the pipes is read for [`OUTPUT_DRAIN`] more; processes it left running
//! in the background are not killed then (its process group is signalled only while its leader is
//! unreaped, as for agents).

use std::future::Future;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use axum::body::Bytes;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::agent;
use crate::control::shape::{self, Failures, Shape};
use crate::control::validate::parse_object;
use crate::error::AwsError;

/// The answer's content type.
pub const EVENT_STREAM_CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";
/// Longest command, in characters (`InvokeAgentRuntimeCommandRequestBodyCommandString`: 1–65,536).
pub const MAX_COMMAND_CHARS: usize = 65_536;
/// A command's timeout when the request gives none: "Default is 300 seconds" (the model's
/// documentation of `timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The range of `timeout` in seconds: "Minimum is 1 second. Maximum is 3600 seconds." (the model).
pub const TIMEOUT_RANGE_SECS: std::ops::RangeInclusive<i64> = 1..=3600;
/// Most output bytes (stdout and stderr together) one command streams back. AWS states no figure;
/// this is AgentCore's other data-plane size limit, InvokeAgentRuntime's 100 MB payload
/// (`data::MAX_PAYLOAD_BYTES`, which checks that they agree).
pub const MAX_OUTPUT_BYTES: usize = 100_000_000;
/// How long output still in the pipes is read once the command's process has exited.
pub const OUTPUT_DRAIN: Duration = Duration::from_millis(100);
/// How long past the timeout a client that stopped reading is waited for before the command is
/// killed and its answer abandoned.
pub const STALLED_CLIENT_GRACE: Duration = Duration::from_secs(5);
/// The exit code reported for a command killed at its timeout (and if its exit status cannot be
/// read): the model's "-1 indicates a platform error" (the command did not exit by itself).
pub const PLATFORM_EXIT_CODE: i32 = -1;
/// Bytes read from a pipe at once: the most one `contentDelta` carries (before UTF-8 repair).
const READ_CHUNK: usize = 64 * 1024;

static COMMAND: Shape = Shape::String { min: 1, max: Some(MAX_COMMAND_CHARS), values: &[], pattern: None };
static TIMEOUT: Shape = Shape::Integer { min: Some(*TIMEOUT_RANGE_SECS.start()), max: Some(*TIMEOUT_RANGE_SECS.end()) };
/// `InvokeAgentRuntimeCommandRequestBody`, the request's payload member `body`.
static BODY: Shape =
    Shape::Structure { members: &[("command", &COMMAND), ("timeout", &TIMEOUT)], required: &["command"] };

/// A checked InvokeAgentRuntimeCommand body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRequest {
    pub command: String,
    pub timeout: Duration,
}

/// Parses and checks the request body `{"command": "...", "timeout": N}` against the model (with
/// the documented timeout range): a `ValidationException` for anything else.
pub fn parse_request(body: &[u8]) -> Result<CommandRequest, AwsError> {
    let object = parse_object(body)?;
    let mut failures = Failures::default();
    let checked = shape::check(&BODY, &Value::Object(object), "body", &mut failures);
    failures.into_result()?;
    let command = checked["command"].as_str().expect("checked: a string").to_string();
    let timeout = match checked.get("timeout").and_then(Value::as_u64) {
        Some(seconds) => Duration::from_secs(seconds),
        None => DEFAULT_TIMEOUT,
    };
    Ok(CommandRequest { command, timeout })
}

/// Which output a `contentDelta` carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Stdout,
    Stderr,
}

impl Output {
    fn member(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// `CommandExecutionStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Completed,
    TimedOut,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "COMPLETED",
            Self::TimedOut => "TIMED_OUT",
        }
    }
}

/// One event of the answer's stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Start,
    Delta { output: Output, text: String },
    Stop { exit_code: i32, status: Status },
}

impl Event {
    /// The `ResponseChunk` document the event carries.
    pub fn payload(&self) -> Value {
        match self {
            Self::Start => json!({"contentStart": {}}),
            Self::Delta { output, text } => json!({"contentDelta": {output.member(): text}}),
            Self::Stop { exit_code, status } => {
                json!({"contentStop": {"exitCode": exit_code, "status": status.as_str()}})
            }
        }
    }

    /// The event as one event-stream frame: `:message-type` `event`, `:event-type` `chunk`,
    /// `:content-type` `application/json` (what the SDK's unmarshaller dispatches on).
    pub fn frame(&self) -> Bytes {
        let payload = serde_json::to_vec(&self.payload()).expect("JSON serialises");
        let message = Message::new(payload)
            .add_header(Header::new(":message-type", HeaderValue::String("event".into())))
            .add_header(Header::new(":event-type", HeaderValue::String("chunk".into())))
            .add_header(Header::new(":content-type", HeaderValue::String("application/json".into())));
        let mut frame = Vec::new();
        // Only a payload over 4 GiB fails: one event carries at most a few pipe reads.
        aws_smithy_eventstream::frame::write_message_to(&message, &mut frame).expect("an event fits in a frame");
        Bytes::from(frame)
    }
}

/// Bytes of one pipe turned into text, never splitting a UTF-8 sequence between two events
/// (invalid bytes become U+FFFD, as `String::from_utf8_lossy` does with the whole output).
#[derive(Debug, Default)]
pub struct Utf8Pieces {
    pending: Vec<u8>,
}

impl Utf8Pieces {
    /// The text of `bytes` after what came before, holding back an incomplete last sequence.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let keep = incomplete_tail(&self.pending);
        let text = String::from_utf8_lossy(&self.pending[..self.pending.len() - keep]).into_owned();
        self.pending.drain(..self.pending.len() - keep);
        text
    }

    /// Whatever was held back (the output ended).
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
}

/// The length of a UTF-8 sequence that `bytes` ends in the middle of (0 if none).
fn incomplete_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let byte = bytes[bytes.len() - back];
        if byte & 0xC0 == 0x80 {
            continue; // a continuation byte: the sequence starts further back
        }
        let length = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if length > back { back } else { 0 };
    }
    0
}

/// How a command run is bounded.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub timeout: Duration,
    pub max_output: usize,
}

/// SIGKILLs the command's process group when dropped, unless its leader has been reaped (see
/// [`agent::may_signal_group`]): a run abandoned anywhere (client gone, task dropped) leaves
/// nothing running.
struct Group {
    leader: Option<u32>,
}

impl Group {
    fn kill(&self) {
        if let Some(pid) = self.leader {
            agent::kill_group(pid);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Where the events go: the answer's body, through a bounded channel.
struct Events {
    sender: mpsc::Sender<Bytes>,
    /// Past this, a client that does not take the next event is given up on.
    give_up_at: Instant,
    sent: usize,
    max_output: usize,
    truncated: bool,
}

impl Events {
    /// `false` when the client is gone (or stalled past [`Self::give_up_at`]).
    async fn send(&mut self, event: Event) -> bool {
        matches!(tokio::time::timeout_at(self.give_up_at, self.sender.send(event.frame())).await, Ok(Ok(())))
    }

    /// Sends `text` as a `contentDelta` (nothing when empty).
    async fn delta(&mut self, output: Output, text: String) -> bool {
        text.is_empty() || self.send(Event::Delta { output, text }).await
    }

    /// Forwards what one read gave, within the output bound.
    async fn output(&mut self, output: Output, pieces: &mut Utf8Pieces, bytes: &[u8]) -> bool {
        let allowed = bytes.len().min(self.max_output.saturating_sub(self.sent));
        self.sent += allowed;
        if !self.delta(output, pieces.push(&bytes[..allowed])).await {
            return false;
        }
        if allowed < bytes.len() && !self.truncated {
            self.truncated = true;
            let rest = pieces.finish();
            let note = format!(
                "\n[agentcore-local: output beyond {} bytes is dropped; the command keeps running]\n",
                self.max_output
            );
            return self.delta(output, rest).await && self.delta(Output::Stderr, note).await;
        }
        true
    }
}

/// One of the command's output pipes, until its end.
struct Pipe<R> {
    output: Output,
    reader: Option<R>,
    pieces: Utf8Pieces,
    buffer: Vec<u8>,
}

impl<R: AsyncRead + Unpin> Pipe<R> {
    fn new(output: Output, reader: Option<R>) -> Self {
        Self { output, reader, pieces: Utf8Pieces::default(), buffer: vec![0; READ_CHUNK] }
    }

    /// Reads some bytes (pending forever once the pipe has ended).
    async fn read(&mut self) -> std::io::Result<usize> {
        match &mut self.reader {
            Some(reader) => reader.read(&mut self.buffer).await,
            None => std::future::pending().await,
        }
    }
}

impl Events {
    /// Forwards what one [`Pipe::read`] gave; at the pipe's end (or a read error), what it held
    /// back, and the pipe is closed. `false` when the client is gone.
    async fn take<R>(&mut self, pipe: &mut Pipe<R>, read: std::io::Result<usize>) -> bool {
        match read {
            Ok(n) if n > 0 => self.output(pipe.output, &mut pipe.pieces, &pipe.buffer[..n]).await,
            _ => {
                pipe.reader = None;
                self.delta(pipe.output, pipe.pieces.finish()).await
            }
        }
    }
}

/// Runs `child` (a command spawned with piped stdout and stderr, in its own process group) to its
/// end within `limits`, sending its events to `sender`; stops it when `session_ended` resolves.
pub async fn run(
    mut child: Child,
    limits: Limits,
    session_ended: impl Future<Output = ()>,
    sender: mpsc::Sender<Bytes>,
) {
    let started = Instant::now();
    let deadline = started + limits.timeout;
    // Declared after `child`, so dropped before it: the group is signalled while its leader is unreaped.
    let mut group = Group { leader: child.id() };
    let mut events = Events {
        sender,
        give_up_at: deadline + STALLED_CLIENT_GRACE,
        sent: 0,
        max_output: limits.max_output,
        truncated: false,
    };
    let mut stdout = Pipe::new(Output::Stdout, child.stdout.take());
    let mut stderr = Pipe::new(Output::Stderr, child.stderr.take());
    if !events.send(Event::Start).await {
        return;
    }
    tokio::pin!(session_ended);
    // Resolves when the client is gone (the response body dropped), even while the command is silent.
    let client = events.sender.clone();
    let mut exit_code: Option<i32> = None;
    let mut timed_out = false;
    let mut stopped = false;
    // Set when the process exits (the branch that reads it waits for that).
    let mut drain_until = deadline;
    loop {
        if exit_code.is_some() && stdout.reader.is_none() && stderr.reader.is_none() {
            break;
        }
        tokio::select! {
            read = stdout.read() => if !events.take(&mut stdout, read).await {
                return;
            },
            read = stderr.read() => if !events.take(&mut stderr, read).await {
                return;
            },
            status = child.wait(), if exit_code.is_none() => {
                // Reaped: its process group id may be reused from now on.
                group.leader = None;
                exit_code = Some(match status {
                    Ok(status) => status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
                    Err(_) => PLATFORM_EXIT_CODE,
                });
                drain_until = Instant::now() + OUTPUT_DRAIN;
            },
            () = tokio::time::sleep_until(deadline), if exit_code.is_none() && !stopped => {
                group.kill();
                (timed_out, stopped) = (true, true);
            },
            () = &mut session_ended, if exit_code.is_none() && !stopped => {
                group.kill();
                stopped = true;
            },
            () = client.closed(), if exit_code.is_none() => {
                group.kill();
                return;
            },
            () = tokio::time::sleep_until(drain_until), if exit_code.is_some() => break,
        }
    }
    let stop = if timed_out {
        Event::Stop { exit_code: PLATFORM_EXIT_CODE, status: Status::TimedOut }
    } else {
        Event::Stop { exit_code: exit_code.unwrap_or(PLATFORM_EXIT_CODE), status: Status::Completed }
    };
    events.send(stop).await;
}

#[cfg(test)]
mod tests {
    use aws_smithy_eventstream::frame::read_message_from;

    use super::*;

    #[test]
    fn parses_the_modeled_body_and_refuses_the_rest() {
        let ok = parse_request(br#"{"command": "echo hi", "timeout": 7, "other": 1}"#).unwrap();
        assert_eq!(ok, CommandRequest { command: "echo hi".into(), timeout: Duration::from_secs(7) });
        assert_eq!(parse_request(br#"{"command": "x"}"#).unwrap().timeout, DEFAULT_TIMEOUT);
        let longest = format!(r#"{{"command": "{}", "timeout": 3600}}"#, "é".repeat(MAX_COMMAND_CHARS));
        assert_eq!(parse_request(longest.as_bytes()).unwrap().command.chars().count(), MAX_COMMAND_CHARS);
        let refused = |body: &str| parse_request(body.as_bytes()).unwrap_err();
        for (body, field) in [
            ("{}", "body.command"),
            (r#"{"command": ""}"#, "body.command"),
            (r#"{"command": 5}"#, "body.command"),
            (r#"{"command": "x", "timeout": 0}"#, "body.timeout"),
            (r#"{"command": "x", "timeout": 3601}"#, "body.timeout"),
            (r#"{"command": "x", "timeout": 1.5}"#, "body.timeout"),
        ] {
            let error = refused(body);
            assert_eq!((error.code.as_str(), error.reason), ("ValidationException", Some("FieldValidationFailed")));
            assert_eq!(error.fields[0].name, field, "{body}");
        }
        let too_long = format!(r#"{{"command": "{}"}}"#, "x".repeat(MAX_COMMAND_CHARS + 1));
        assert!(refused(&too_long).message.contains("between 1 and 65536"));
        assert_eq!(refused("not json").reason, Some("CannotParse"));
        assert_eq!(refused("[]").reason, Some("CannotParse"));
    }

    #[test]
    fn events_are_frames_the_sdk_reads() {
        for (event, payload) in [
            (Event::Start, json!({"contentStart": {}})),
            (Event::Delta { output: Output::Stderr, text: "é\n".into() }, json!({"contentDelta": {"stderr": "é\n"}})),
            (
                Event::Stop { exit_code: 3, status: Status::Completed },
                json!({"contentStop": {"exitCode": 3, "status": "COMPLETED"}}),
            ),
        ] {
            let message = read_message_from(&event.frame()[..]).unwrap();
            let response = aws_smithy_eventstream::smithy::parse_response_headers(&message).unwrap();
            assert_eq!(response.message_type.as_str(), "event");
            assert_eq!(response.smithy_type.as_str(), "chunk");
            assert_eq!(response.content_type.map(|c| c.as_str().to_string()).as_deref(), Some("application/json"));
            assert_eq!(serde_json::from_slice::<Value>(message.payload()).unwrap(), payload);
        }
    }

    #[test]
    fn utf8_sequences_are_never_split_between_events() {
        let text = "aé€😀z";
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let mut pieces = Utf8Pieces::default();
            let first = pieces.push(&bytes[..cut]);
            let second = pieces.push(&bytes[cut..]);
            assert_eq!(format!("{first}{second}{}", pieces.finish()), text, "cut at {cut}");
            assert!(!first.contains('\u{FFFD}') && !second.contains('\u{FFFD}'), "cut at {cut}");
        }
        let mut pieces = Utf8Pieces::default();
        assert_eq!(pieces.push(&[0xF0, 0x9F]), "");
        assert_eq!(pieces.finish(), "\u{FFFD}");
    }

    fn payloads(frames: &[Bytes]) -> Vec<Value> {
        frames.iter().map(|f| serde_json::from_slice(read_message_from(&f[..]).unwrap().payload()).unwrap()).collect()
    }

    async fn run_shell(line: &str, limits: Limits, ended: impl Future<Output = ()> + Send + 'static) -> Vec<Value> {
        let child = agent::spawn_shell(line, 1, &[], None).await.expect("sh starts");
        let (sender, mut receiver) = mpsc::channel(4);
        let run = tokio::spawn(run(child, limits, ended, sender));
        let mut frames = Vec::new();
        while let Some(frame) = receiver.recv().await {
            frames.push(frame);
        }
        run.await.unwrap();
        payloads(&frames)
    }

    fn text_of(events: &[Value], member: &str) -> String {
        events.iter().filter_map(|e| e["contentDelta"][member].as_str()).collect()
    }

    const GENEROUS: Limits = Limits { timeout: Duration::from_secs(30), max_output: 1 << 20 };

    #[tokio::test]
    async fn streams_both_outputs_and_the_exit_code() {
        let events = run_shell("echo hi; echo err >&2; echo $PORT; exit 3", GENEROUS, std::future::pending()).await;
        assert_eq!(events[0], json!({"contentStart": {}}));
        assert_eq!(events.last().unwrap(), &json!({"contentStop": {"exitCode": 3, "status": "COMPLETED"}}));
        assert_eq!(text_of(&events, "stdout"), "hi\n1\n");
        assert_eq!(text_of(&events, "stderr"), "err\n");
    }

    #[tokio::test]
    async fn output_beyond_the_bound_is_dropped_with_a_note() {
        let limits = Limits { max_output: 1000, ..GENEROUS };
        let events = run_shell("head -c 5000 /dev/zero | tr '\\0' x; echo done", limits, std::future::pending()).await;
        assert_eq!(text_of(&events, "stdout"), "x".repeat(1000));
        let stderr = text_of(&events, "stderr");
        assert!(stderr.contains("output beyond 1000 bytes is dropped"), "{stderr}");
        assert_eq!(events.last().unwrap()["contentStop"]["exitCode"], 0);
    }

    #[tokio::test]
    async fn a_timeout_or_the_session_end_kills_the_whole_group() {
        let marker = std::env::temp_dir().join(format!("agentcore-local-command-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let line = format!("(sleep 2; touch '{}') & sleep 30", marker.display());
        let limits = Limits { timeout: Duration::from_millis(300), ..GENEROUS };
        let started = std::time::Instant::now();
        let events = run_shell(&line, limits, std::future::pending()).await;
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(events.last().unwrap(), &json!({"contentStop": {"exitCode": -1, "status": "TIMED_OUT"}}));

        let ended = tokio::time::sleep(Duration::from_millis(300));
        let events = run_shell(&line, GENEROUS, ended).await;
        assert_eq!(events.last().unwrap(), &json!({"contentStop": {"exitCode": 137, "status": "COMPLETED"}}));
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "a background member of the group outlived the kill");
    }
}
