//! Where timeline items go as they happen, and reading a recorded JSON Lines file back.

use std::fs::File;
use std::io::{self, BufRead, BufWriter, Write};
use std::path::Path;

use crate::timeline::Item;

/// Receives each item as soon as the watcher produces it.
pub trait Sink {
    /// Takes one item; an error stops the watch.
    fn write(&mut self, item: &Item) -> io::Result<()>;
}

/// One JSON object per line, flushed after every line: an interrupted watch keeps every item
/// written before the interruption.
#[derive(Debug)]
pub struct JsonLines<W: Write> {
    out: W,
}

impl<W: Write> JsonLines<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl JsonLines<BufWriter<File>> {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(Self::new(BufWriter::new(File::create(path)?)))
    }
}

impl<W: Write> Sink for JsonLines<W> {
    fn write(&mut self, item: &Item) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, item)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

impl Sink for Vec<Item> {
    fn write(&mut self, item: &Item) -> io::Result<()> {
        self.push(item.clone());
        Ok(())
    }
}

#[cfg(feature = "client")]
/// Items go to a channel (a closed channel drops them: the receiver has stopped listening).
impl Sink for tokio::sync::mpsc::UnboundedSender<Item> {
    fn write(&mut self, item: &Item) -> io::Result<()> {
        let _ = self.send(item.clone());
        Ok(())
    }
}

/// Every item to each sink in turn.
#[derive(Default)]
pub struct Tee(pub Vec<Box<dyn Sink + Send>>);

impl Sink for Tee {
    fn write(&mut self, item: &Item) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|sink| sink.write(item))
    }
}

/// A closure as a sink.
pub struct FnSink<F>(pub F);

impl<F: FnMut(&Item) -> io::Result<()>> Sink for FnSink<F> {
    fn write(&mut self, item: &Item) -> io::Result<()> {
        (self.0)(item)
    }
}

/// A line of a recording that is not a timeline item.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The recording could not be read.
    #[error("cannot read the recording: {0}")]
    Io(#[from] io::Error),
    /// A line that is not a timeline item.
    #[error("line {line}: not a timeline item: {error}")]
    Line {
        /// The line number, from 1.
        line: usize,
        /// Why it does not parse.
        error: serde_json::Error,
    },
}

/// A recording read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// The items, in file order.
    pub items: Vec<Item>,
    /// The last line was cut short (the writer was killed mid-line) and was skipped.
    pub truncated_last_line: bool,
}

/// Reads a JSON Lines recording. Blank lines (ASCII whitespace only, `\r` included) are skipped; a
/// last line without its newline that ends before its JSON does (a write cut short by a kill) is
/// dropped and reported in [`Recording::truncated_last_line`]; any other line that is not a timeline
/// item, a newline-terminated line cut short or one that is not UTF-8 included, is an error naming
/// its line number (from 1, blank lines counted).
pub fn read_jsonl(mut reader: impl BufRead) -> Result<Recording, ReadError> {
    let mut items = Vec::new();
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(Recording { items, truncated_last_line: false });
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // Only the last line can lack its newline: `read_until` stops there at the end of the input.
        let has_newline = line.last() == Some(&b'\n');
        match serde_json::from_slice::<Item>(&line) {
            Ok(item) => items.push(item),
            Err(error) if !has_newline && error.is_eof() => {
                return Ok(Recording { items, truncated_last_line: true });
            }
            Err(error) => return Err(ReadError::Line { line: number, error }),
        }
    }
}

#[cfg(test)]
mod fuzz {
    //! `fuzz_timeline_jsonl_reader`: recordings built from valid timelines, then made hostile (cut at
    //! any byte, garbage lines, huge numbers, repeated keys, unicode, bytes that are not UTF-8, deep
    //! nesting, blank lines, CRLF). The expected outcome comes from how the file was built, not from
    //! the reader: complete items are kept, a cut last line is reported, a bad line is an error that
    //! names its number.

    use proptest::prelude::*;

    use super::{ReadError, Recording, read_jsonl};
    use crate::timeline::{Change, Event, Gap, Item, Sample, Start};

    /// What a line of the built file holds.
    #[derive(Debug, Clone)]
    enum Line {
        Item(Box<Item>),
        Blank(&'static str),
        /// Never a timeline item once its newline is there.
        Garbage(Vec<u8>),
    }

    fn text() -> impl Strategy<Value = String> {
        // Any printable unicode, plus characters JSON must escape.
        prop_oneof![
            "\\PC{0,12}",
            "[\"\\\\\\n\\r\\t\\u{0}\\u{1f}\\u{7f}\\u{2028}\\u{fffd}a-z]{0,6}",
            Just("eni-0123456789abcdef0".to_string())
        ]
    }

    /// Seconds that survive a JSON round trip exactly (milliseconds).
    fn seconds() -> impl Strategy<Value = f64> {
        (0u64..10_000_000_000).prop_map(|ms| ms as f64 / 1000.0)
    }

    fn eni() -> crate::eni::Eni {
        serde_json::from_value(serde_json::json!({
            "id": "eni-0123456789abcdef0", "subnet": "subnet-0123456789abcdef0", "az": "us-east-1a",
            "az_id": "use1-az1", "vpc": "vpc-0123456789abcdef0", "security_groups": ["sg-0123456789abcdef0"],
            "private_ip": "10.0.1.5", "interface_type": "agentic_ai", "status": "in-use", "requester_managed": true,
            "tags": {"ü": "✓"}
        }))
        .expect("a valid ENI")
    }

    fn item() -> impl Strategy<Value = Item> {
        prop_oneof![
            (text(), prop::collection::vec(text(), 0..3)).prop_map(|(at, filters)| Item::Start(Start {
                at,
                filters,
                interface_type: None,
                expectation: None
            })),
            (any::<u64>(), text(), seconds(), any::<bool>(), any::<u32>()).prop_map(|(seq, at, t, with_eni, pages)| {
                let enis = if with_eni { vec![eni()] } else { Vec::new() };
                Item::Sample(Sample { seq, at, t, count: enis.len(), enis, pages, check: None })
            }),
            (any::<u64>(), text(), seconds(), text(), text(), text()).prop_map(|(seq, at, t, id, from, to)| {
                Item::Event(Event { seq, at, t, change: Change::StatusChanged { id, from, to } })
            }),
            (any::<u64>(), text(), seconds(), text(), text(), any::<u32>(), seconds()).prop_map(
                |(seq, at, t, code, message, consecutive, retry_in_s)| {
                    Item::Gap(Gap { seq, at, t, code, message, consecutive, retry_in_s })
                }
            ),
        ]
    }

    fn json(item: &Item) -> Vec<u8> {
        serde_json::to_vec(item).expect("items serialize")
    }

    /// A gap item with its `seq` and `t` left to fill in.
    const GAP: &str = r#"{"type":"gap","seq":@SEQ@,"at":"now","t":@T@,"code":"Throttling","message":"m","consecutive":1,"retry_in_s":1}"#;

    #[test]
    fn the_gap_template_is_an_item_and_a_torn_line_before_a_newline_is_an_error() {
        let gap = GAP.replace("@SEQ@", "1").replace("@T@", "1");
        assert_eq!(read_jsonl(format!("{gap}\n").as_bytes()).unwrap().items.len(), 1);
        let torn = &gap[..gap.len() - 1];
        let recording = read_jsonl(format!("{gap}\n{torn}").as_bytes()).unwrap();
        assert!(recording.truncated_last_line && recording.items.len() == 1);
        assert_error_names_line(&read_jsonl(format!("{gap}\n\r\n{torn}\r\n").as_bytes()), 3);
        assert_error_names_line(&read_jsonl(format!("{gap}\n{torn}\n{gap}\n").as_bytes()), 2);
    }

    /// Lines that no timeline item reads as, whatever follows them on the next line.
    fn garbage() -> impl Strategy<Value = Vec<u8>> {
        let gap = GAP;
        prop_oneof![
            // Unicode text that is not JSON (a non-space first character keeps it from being blank).
            "[^\\s{\\[\"0-9-]\\PC{0,30}".prop_map(String::into_bytes),
            // A valid item cut short before its newline (a torn write followed by more lines).
            (item(), any::<prop::sample::Index>()).prop_map(|(item, cut)| {
                let bytes = json(&item);
                bytes[..1 + cut.index(bytes.len() - 1)].to_vec()
            }),
            // Numbers out of range: u64 overflow, f64 overflow, negative for unsigned.
            "[1-9][0-9]{20,40}".prop_map(move |digits| gap.replace("@SEQ@", &digits).replace("@T@", "1").into_bytes()),
            "1e[4-9][0-9]{2,5}".prop_map(move |huge| gap.replace("@SEQ@", "1").replace("@T@", &huge).into_bytes()),
            Just(gap.replace("@SEQ@", "-1").replace("@T@", "1").into_bytes()),
            // Repeated keys.
            Just(gap.replace(r#""seq":@SEQ@"#, r#""seq":1,"seq":2"#).replace("@T@", "1").into_bytes()),
            // A string that is not UTF-8 inside an otherwise valid item.
            (0xf8u8..=0xff).prop_map(move |bad| {
                let mut bytes = gap.replace("@SEQ@", "1").replace("@T@", "1").into_bytes();
                let message = bytes.iter().rposition(|&b| b == b'm').expect("the message");
                bytes.insert(message, bad);
                bytes
            }),
            // JSON that is not an item, an unknown type, deep nesting, NUL bytes.
            prop_oneof![
                Just(b"null".to_vec()),
                Just(b"[]".to_vec()),
                Just(br#"{"type":"launch","seq":1}"#.to_vec()),
                Just(br#"{"type":"start"}"#.to_vec()),
                (1usize..400).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
                Just(b"{\"type\":\"start\",\0}".to_vec()),
            ],
        ]
    }

    fn line() -> impl Strategy<Value = Line> {
        prop_oneof![
            6 => item().prop_map(|item| Line::Item(Box::new(item))),
            2 => prop::sample::select(vec!["", " ", "\t", "  \t  "]).prop_map(Line::Blank),
        ]
    }

    /// A built file: its bytes and, for each line, (start, end of content, end with newline).
    struct Built {
        bytes: Vec<u8>,
        spans: Vec<(usize, usize, usize)>,
    }

    fn build(lines: &[Line], crlf: bool, last_newline: bool) -> Built {
        let (mut bytes, mut spans) = (Vec::new(), Vec::new());
        for (n, line) in lines.iter().enumerate() {
            let start = bytes.len();
            match line {
                Line::Item(item) => bytes.extend(json(item)),
                Line::Blank(blank) => bytes.extend(blank.as_bytes()),
                Line::Garbage(garbage) => bytes.extend(garbage),
            }
            let content_end = bytes.len();
            if last_newline || n + 1 < lines.len() {
                bytes.extend(if crlf { &b"\r\n"[..] } else { &b"\n"[..] });
            }
            spans.push((start, content_end, bytes.len()));
        }
        Built { bytes, spans }
    }

    /// What reading the first `cut` bytes must give: `Ok` exactly, or one of two answers when the cut
    /// falls inside a garbage line (a torn last line or an error on it, both honest).
    enum Expected {
        Exactly(Recording),
        ErrorAt(usize),
        TornOrErrorAt(Vec<Item>, usize),
    }

    fn expected(lines: &[Line], built: &Built, cut: usize) -> Expected {
        let mut items = Vec::new();
        for (n, (line, &(start, content_end, end))) in lines.iter().zip(&built.spans).enumerate() {
            if start >= cut {
                break;
            }
            let newline_kept = cut >= end && end > content_end;
            match line {
                Line::Blank(_) => {}
                Line::Item(item) if cut >= content_end => items.push((**item).clone()),
                Line::Item(_) => return Expected::Exactly(Recording { items, truncated_last_line: true }),
                Line::Garbage(_) if newline_kept => return Expected::ErrorAt(n + 1),
                Line::Garbage(_) => return Expected::TornOrErrorAt(items, n + 1),
            }
        }
        Expected::Exactly(Recording { items, truncated_last_line: false })
    }

    fn assert_error_names_line(result: &Result<Recording, ReadError>, number: usize) {
        match result {
            Err(error @ ReadError::Line { line, .. }) => {
                assert_eq!(*line, number, "{error}");
                assert!(error.to_string().starts_with(&format!("line {number}: not a timeline item: ")), "{error}");
            }
            other => panic!("expected an error at line {number}, got {other:?}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn fuzz_timeline_jsonl_reader(
            mut lines in prop::collection::vec(line(), 0..10),
            garbage in prop::option::of((any::<prop::sample::Index>(), garbage())),
            crlf in any::<bool>(),
            last_newline in any::<bool>(),
            cut in prop::option::of(any::<prop::sample::Index>()),
        ) {
            if let Some((at, garbage)) = garbage {
                lines.insert(at.index(lines.len() + 1), Line::Garbage(garbage));
            }
            let built = build(&lines, crlf, last_newline);
            let cut = cut.map_or(built.bytes.len(), |cut| cut.index(built.bytes.len() + 1));
            let result = read_jsonl(&built.bytes[..cut]);
            match expected(&lines, &built, cut) {
                Expected::Exactly(recording) => prop_assert_eq!(result.expect("a readable prefix"), recording),
                Expected::ErrorAt(number) => assert_error_names_line(&result, number),
                Expected::TornOrErrorAt(items, number) => match &result {
                    Ok(recording) => {
                        prop_assert_eq!(recording, &Recording { items, truncated_last_line: true });
                    }
                    Err(_) => assert_error_names_line(&result, number),
                },
            }
        }

        #[test]
        fn fuzz_timeline_jsonl_reader_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let lines = bytes.split(|&b| b == b'\n').count();
            match read_jsonl(&bytes[..]) {
                Ok(recording) => prop_assert!(recording.items.len() <= lines),
                Err(ReadError::Line { line, .. }) => prop_assert!((1..=lines).contains(&line)),
                Err(error) => prop_assert!(false, "reading memory cannot fail with {error}"),
            }
        }
    }
}
