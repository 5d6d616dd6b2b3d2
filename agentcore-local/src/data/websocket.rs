//! The WebSocket bridge behind `/runtimes/{arn}/ws`: the client's socket (accepted by axum) and the
//! agent's `/ws` (opened with tokio-tungstenite) joined message by message, within AgentCore's
//! WebSocket limits.
//!
//! Limits, from the AgentCore quotas page ("Amazon Bedrock AgentCore Runtime service quotas",
//! rows "WebSocket frame size", "WebSocket frame rate" and "Streaming/WebSocket connection
//! duration"; all fixed there):
//! * a frame carries at most [`MAX_FRAME_BYTES`] (64 KB): a larger one closes the connection with
//!   1009 (message too big), as tungstenite does for a frame over its bound;
//! * at most [`MAX_FRAMES_PER_SECOND`] (250) frames a second per connection, each way: a faster
//!   sender is slowed down (its frames wait), never dropped;
//! * a connection lasts at most `Config::websocket_max_duration` (60 minutes), then both sides get
//!   1000 with the reason.
//!
//! Pings and pongs are answered on each hop by its own end (tungstenite answers a ping by itself),
//! so they are not passed on. A close from either side is passed on, then the bridge ends.

use std::future::Future;
use std::time::Duration;

use axum::extract::ws::{self, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, protocol::CloseFrame};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Largest WebSocket frame (and message) either side may send: 64 KB.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Frames a second a connection may carry, each way.
pub const MAX_FRAMES_PER_SECOND: u32 = 250;
/// How long a WebSocket connection may last: 60 minutes.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(60 * 60);

/// The agent's end of the bridge.
pub type AgentSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// tokio-tungstenite's configuration for the agent's end: the same frame bound as the client's.
pub fn agent_config() -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default()
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .max_message_size(Some(MAX_FRAME_BYTES))
}

/// Why a bridge ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BridgeEnd {
    /// One side closed (or its connection broke).
    Closed,
    /// The session ended (StopRuntimeSession, idle or lifetime reaping, runtime deletion).
    SessionEnded,
    /// The connection reached its maximum duration.
    MaxDuration,
}

/// Passes messages both ways between `client` and `agent` until one side closes, `session_ended`
/// resolves or `max_duration` passes; then closes both with a reason.
pub async fn bridge(
    client: WebSocket,
    agent: AgentSocket,
    max_duration: Duration,
    session_ended: impl Future<Output = ()>,
) -> BridgeEnd {
    let (mut client_tx, mut client_rx) = client.split();
    let (mut agent_tx, mut agent_rx) = agent.split();
    let end = {
        let upstream = pump(&mut client_rx, &mut agent_tx, to_agent, |m| matches!(m, tungstenite::Message::Close(_)));
        let downstream = pump(&mut agent_rx, &mut client_tx, to_client, |m| matches!(m, ws::Message::Close(_)));
        tokio::select! {
            () = upstream => BridgeEnd::Closed,
            () = downstream => BridgeEnd::Closed,
            () = session_ended => BridgeEnd::SessionEnded,
            () = tokio::time::sleep(max_duration) => BridgeEnd::MaxDuration,
        }
    };
    let reason = match end {
        BridgeEnd::Closed => "closed by the other side",
        BridgeEnd::SessionEnded => "runtime session ended",
        BridgeEnd::MaxDuration => "maximum WebSocket connection duration reached",
    };
    // A side that already closed refuses these; nothing more to do then.
    let _ = client_tx.send(ws::Message::Close(Some(ws::CloseFrame { code: 1000, reason: reason.into() }))).await;
    let _ =
        agent_tx.send(tungstenite::Message::Close(Some(CloseFrame { code: 1000.into(), reason: reason.into() }))).await;
    let _ = client_tx.close().await;
    let _ = agent_tx.close().await;
    end
}

/// Passes `from`'s messages to `to`, converted, at most [`MAX_FRAMES_PER_SECOND`], until `from`
/// ends or fails, `to` refuses one, or a close went through.
async fn pump<In, Out, E>(
    from: &mut (impl futures_util::Stream<Item = Result<In, E>> + Unpin),
    to: &mut (impl futures_util::Sink<Out> + Unpin),
    convert: fn(In) -> Option<Out>,
    is_close: fn(&Out) -> bool,
) {
    let mut pace = Pace::new(MAX_FRAMES_PER_SECOND);
    while let Some(Ok(message)) = from.next().await {
        pace.next_frame().await;
        let Some(message) = convert(message) else { continue };
        let closing = is_close(&message);
        if to.send(message).await.is_err() || closing {
            break;
        }
    }
}

/// At most [`MAX_FRAMES_PER_SECOND`]: each frame waits for its slot, spaced evenly.
struct Pace {
    next: tokio::time::Instant,
    spacing: Duration,
}

impl Pace {
    fn new(frames_per_second: u32) -> Self {
        Self { next: tokio::time::Instant::now(), spacing: Duration::from_secs(1) / frames_per_second.max(1) }
    }

    async fn next_frame(&mut self) {
        let now = tokio::time::Instant::now();
        if self.next > now {
            tokio::time::sleep_until(self.next).await;
        }
        self.next = self.next.max(now) + self.spacing;
    }
}

/// A client's message as the agent gets it (pings and pongs stay on their hop).
fn to_agent(message: ws::Message) -> Option<tungstenite::Message> {
    Some(match message {
        ws::Message::Text(text) => tungstenite::Message::text(text.as_str()),
        ws::Message::Binary(bytes) => tungstenite::Message::Binary(bytes),
        ws::Message::Close(frame) => tungstenite::Message::Close(
            frame.map(|f| CloseFrame { code: f.code.into(), reason: f.reason.as_str().into() }),
        ),
        ws::Message::Ping(_) | ws::Message::Pong(_) => return None,
    })
}

/// An agent's message as the client gets it.
fn to_client(message: tungstenite::Message) -> Option<ws::Message> {
    Some(match message {
        tungstenite::Message::Text(text) => ws::Message::Text(text.as_str().into()),
        tungstenite::Message::Binary(bytes) => ws::Message::Binary(bytes),
        tungstenite::Message::Close(frame) => {
            ws::Message::Close(frame.map(|f| ws::CloseFrame { code: f.code.into(), reason: f.reason.as_str().into() }))
        }
        tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) | tungstenite::Message::Frame(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_their_kind_and_content_both_ways() {
        let text = to_agent(ws::Message::Text("héllo".into())).unwrap();
        assert_eq!(text, tungstenite::Message::text("héllo"));
        let back = to_client(text).unwrap();
        assert_eq!(back, ws::Message::Text("héllo".into()));
        let binary = to_agent(ws::Message::Binary(vec![0, 255, 7].into())).unwrap();
        assert_eq!(to_client(binary).unwrap(), ws::Message::Binary(vec![0, 255, 7].into()));
        let close = to_agent(ws::Message::Close(Some(ws::CloseFrame { code: 4001, reason: "bye".into() }))).unwrap();
        assert_eq!(
            to_client(close).unwrap(),
            ws::Message::Close(Some(ws::CloseFrame { code: 4001, reason: "bye".into() }))
        );
        assert_eq!(to_agent(ws::Message::Ping(vec![1].into())), None);
        assert_eq!(to_client(tungstenite::Message::Pong(vec![1].into())), None);
    }

    #[tokio::test]
    async fn pace_never_lets_frames_through_faster_than_its_rate() {
        // 21 frames at 200 a second: the first goes at once, the other 20 each wait 5 ms at least.
        let mut pace = Pace::new(200);
        let start = tokio::time::Instant::now();
        for _ in 0..21 {
            pace.next_frame().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(100), "{:?}", start.elapsed());
    }
}
