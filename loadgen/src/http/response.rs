//! Reading an HTTP/1.1 response off the wire, without I/O: the head (status, framing, whether the
//! connection may be kept) and a decoder for the body's framing (`Content-Length`, `chunked`, or
//! until the connection closes). Sizes are bounded before any work: a head over [`MAX_HEAD`] bytes
//! or a chunk-size line over [`MAX_CHUNK_LINE`] bytes is an error, never a bigger buffer.

/// The largest response head accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// The largest chunk-size line accepted (the size, extensions and CRLF).
pub const MAX_CHUNK_LINE: usize = 1024;
const MAX_HEADERS: usize = 64;

/// A malformed or oversized response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid HTTP response: {0}")]
pub struct ResponseError(pub String);

fn invalid(why: impl Into<String>) -> ResponseError {
    ResponseError(why.into())
}

/// A response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// How the body is framed.
    pub body: Framing,
    /// Whether the connection may carry another request after this response.
    pub keep_alive: bool,
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Exactly this many bytes (0 for `204`, `304` and `1xx`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// Parses a head from the start of `input`: `Ok(None)` while incomplete, else the head and its length
/// in bytes. Informational (`1xx`) heads are returned like any other; the caller skips them.
pub fn parse_head(input: &[u8]) -> Result<Option<(Head, usize)>, ResponseError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let length = match response.parse(input) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) if input.len() > MAX_HEAD => {
            return Err(invalid(format!("head longer than {MAX_HEAD} bytes")));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(invalid(error.to_string())),
    };
    let status = response.code.ok_or_else(|| invalid("no status code"))?;
    let http10 = response.version == Some(0);
    let (mut length_header, mut chunked, mut close, mut keep_alive_header) = (None, false, false, false);
    for header in response.headers.iter() {
        let value = std::str::from_utf8(header.value).map_err(|_| invalid("a header value is not UTF-8"))?.trim();
        if header.name.eq_ignore_ascii_case("content-length") {
            let parsed: u64 = value.parse().map_err(|_| invalid(format!("Content-Length {value:?}")))?;
            if length_header.is_some_and(|seen| seen != parsed) {
                return Err(invalid("two different Content-Length headers"));
            }
            length_header = Some(parsed);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            let last = value.rsplit(',').next().unwrap_or_default().trim();
            if !last.eq_ignore_ascii_case("chunked") {
                return Err(invalid(format!("Transfer-Encoding {value:?} (only chunked is read)")));
            }
            chunked = true;
        } else if header.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                close |= token.eq_ignore_ascii_case("close");
                keep_alive_header |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    let body = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Length(0)
    } else if chunked {
        Framing::Chunked
    } else {
        length_header.map_or(Framing::UntilClose, Framing::Length)
    };
    let keep_alive = !close && (!http10 || keep_alive_header) && body != Framing::UntilClose;
    Ok(Some((Head { status, body, keep_alive }, length)))
}

/// Decodes a body's framing from successive pieces of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyDecoder {
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// This many bytes of data left (`Content-Length`).
    Remaining(u64),
    /// Data until the connection closes.
    UntilClose,
    /// Before a chunk-size line.
    ChunkSize,
    /// Inside a chunk: this many data bytes left, then CRLF.
    ChunkData(u64),
    /// The CRLF after a chunk's data.
    ChunkEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailer,
    /// The body is complete.
    Done,
}

impl BodyDecoder {
    /// A decoder for a body framed as `framing`.
    pub fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Remaining(n),
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Self { state }
    }

    /// Whether the body is complete.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The connection closed: complete for an until-close body, an error otherwise.
    pub fn end_of_input(&mut self) -> Result<(), ResponseError> {
        match self.state {
            State::Done => Ok(()),
            State::UntilClose => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(invalid("the connection closed before the body ended")),
        }
    }

    /// Consumes framing and data from `input`, handing each piece of data to `data`; returns how many
    /// bytes were consumed. Less than all of `input` is consumed only when the body is done, or when
    /// the rest is an incomplete line (to be given again with more bytes after it).
    pub fn decode<'a>(&mut self, input: &'a [u8], data: &mut impl FnMut(&'a [u8])) -> Result<usize, ResponseError> {
        let mut at = 0;
        while at < input.len() {
            let rest = &input[at..];
            match self.state {
                State::Done => break,
                State::UntilClose => {
                    data(rest);
                    at = input.len();
                }
                State::Remaining(left) | State::ChunkData(left) => {
                    let take = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    data(&rest[..take]);
                    at += take;
                    let left = left - take as u64;
                    self.state = match (self.state, left) {
                        (State::Remaining(_), 0) => State::Done,
                        (State::Remaining(_), n) => State::Remaining(n),
                        (_, 0) => State::ChunkEnd,
                        (_, n) => State::ChunkData(n),
                    };
                }
                State::ChunkEnd => {
                    if rest.len() < 2 {
                        break;
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(invalid("a chunk does not end with CRLF"));
                    }
                    at += 2;
                    self.state = State::ChunkSize;
                }
                State::ChunkSize | State::Trailer => {
                    let Some(line) = line(rest)? else { break };
                    at += line.len() + 2;
                    self.state = match self.state {
                        State::ChunkSize => match chunk_size(line)? {
                            0 => State::Trailer,
                            n => State::ChunkData(n),
                        },
                        _ if line.is_empty() => State::Done,
                        _ => State::Trailer,
                    };
                }
            }
        }
        Ok(at)
    }
}

/// The line at the start of `input` without its CRLF, or `None` if it is not complete yet.
fn line(input: &[u8]) -> Result<Option<&[u8]>, ResponseError> {
    let window = &input[..input.len().min(MAX_CHUNK_LINE)];
    match window.windows(2).position(|pair| pair == b"\r\n") {
        Some(end) => Ok(Some(&input[..end])),
        None if input.len() >= MAX_CHUNK_LINE => Err(invalid(format!("a line longer than {MAX_CHUNK_LINE} bytes"))),
        None => Ok(None),
    }
}

/// A chunk-size line: hexadecimal digits, then optional `;extensions`.
fn chunk_size(line: &[u8]) -> Result<u64, ResponseError> {
    let digits = line.split(|&b| b == b';').next().unwrap_or_default();
    let digits = std::str::from_utf8(digits).map_err(|_| invalid("a chunk size is not ASCII"))?.trim();
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(format!("chunk size {digits:?}")));
    }
    u64::from_str_radix(digits, 16).map_err(|_| invalid(format!("chunk size {digits:?}")))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn head(text: &str) -> Head {
        parse_head(text.as_bytes()).unwrap().unwrap().0
    }

    /// Decodes `input` given in pieces cut at `cuts` (as reads would deliver them).
    fn decode_in_pieces(framing: Framing, input: &[u8], cuts: &[usize]) -> Result<(Vec<u8>, bool), ResponseError> {
        let mut decoder = BodyDecoder::new(framing);
        let (mut body, mut pending, mut fed) = (Vec::new(), Vec::new(), 0);
        let mut ends: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        ends.push(input.len());
        ends.sort_unstable();
        for end in ends {
            pending.extend_from_slice(&input[fed.min(end)..end]);
            fed = fed.max(end);
            let used = decoder.decode(&pending, &mut |d| body.extend_from_slice(d))?;
            pending.drain(..used);
            if decoder.is_done() {
                break;
            }
        }
        Ok((body, decoder.is_done()))
    }

    fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = body;
        for size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let take = (*size).clamp(1, rest.len());
            out.extend_from_slice(format!("{take:x};ext=1\r\n").as_bytes());
            out.extend_from_slice(&rest[..take]);
            out.extend_from_slice(b"\r\n");
            rest = &rest[take..];
        }
        out.extend_from_slice(b"0\r\nX-Trailer: yes\r\n\r\n");
        out
    }

    #[test]
    fn heads_say_status_framing_and_reuse() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n");
        assert_eq!(h, Head { status: 200, body: Framing::Length(12), keep_alive: true });
        let h = head("HTTP/1.1 503 Busy\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n");
        assert_eq!(h, Head { status: 503, body: Framing::Chunked, keep_alive: false });
        assert!(!head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n").keep_alive);
        assert!(head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n").keep_alive);
        assert_eq!(head("HTTP/1.1 200 OK\r\n\r\n"), Head { status: 200, body: Framing::UntilClose, keep_alive: false });
        assert_eq!(head("HTTP/1.1 204 No Content\r\n\r\n").body, Framing::Length(0));
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Len"), Ok(None));
        for bad in [
            "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/9 200\r\n\r\n",
        ] {
            assert!(parse_head(bad.as_bytes()).is_err(), "{bad}");
        }
        let endless = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_HEAD));
        assert!(parse_head(endless.as_bytes()).is_err());
    }

    #[test]
    fn bodies_by_length_chunks_and_close() {
        assert_eq!(decode_in_pieces(Framing::Length(3), b"abcdef", &[1]).unwrap(), (b"abc".to_vec(), true));
        let wire = chunked(b"hello world", &[5, 1, 100]);
        assert_eq!(decode_in_pieces(Framing::Chunked, &wire, &[3, 7, 9]).unwrap(), (b"hello world".to_vec(), true));
        let (body, done) = decode_in_pieces(Framing::UntilClose, b"all of it", &[4]).unwrap();
        assert_eq!((body.as_slice(), done), (&b"all of it"[..], false));
        let mut decoder = BodyDecoder::new(Framing::UntilClose);
        assert!(decoder.end_of_input().is_ok() && decoder.is_done());
        assert!(BodyDecoder::new(Framing::Length(2)).end_of_input().is_err());
        for bad in [&b"zz\r\n"[..], b"5\r\nhelloXX", b"-1\r\n", b"fffffffffffffffff\r\n"] {
            assert!(decode_in_pieces(Framing::Chunked, bad, &[]).is_err(), "{bad:?}");
        }
        let long_line = vec![b'1'; MAX_CHUNK_LINE];
        assert!(decode_in_pieces(Framing::Chunked, &long_line, &[]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Any body, chunked any way and read in any pieces, decodes to itself.
        #[test]
        fn fuzz_chunked_bodies_round_trip(
            body in proptest::collection::vec(any::<u8>(), 0..600),
            sizes in proptest::collection::vec(1usize..80, 1..6),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let wire = chunked(&body, &sizes);
            prop_assert_eq!(decode_in_pieces(Framing::Chunked, &wire, &cuts).unwrap(), (body, true));
        }

        /// Arbitrary bytes never panic either parser, and a decoder never consumes more than it is given.
        #[test]
        fn fuzz_garbage_is_an_error_or_a_result(
            input in proptest::collection::vec(any::<u8>(), 0..400),
            prefix in prop_oneof![Just(&b""[..]), Just(&b"HTTP/1.1 200 OK\r\n"[..]), Just(&b"1a\r\n"[..])],
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut bytes = prefix.to_vec();
            bytes.extend_from_slice(&input);
            let _ = parse_head(&bytes);
            for framing in [Framing::Chunked, Framing::Length(100), Framing::UntilClose] {
                if let Ok((body, _)) = decode_in_pieces(framing, &bytes, &cuts) {
                    prop_assert!(body.len() <= bytes.len());
                }
            }
        }
    }
}
