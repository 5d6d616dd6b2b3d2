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

/// Reads a JSON Lines recording. Blank lines are skipped; a last line without its newline that
/// does not parse (a write cut short) is dropped and reported, any other bad line is an error.
pub fn read_jsonl(reader: impl BufRead) -> Result<Recording, ReadError> {
    let mut items = Vec::new();
    let mut lines = reader.split(b'\n').enumerate().peekable();
    let mut truncated_last_line = false;
    while let Some((i, line)) = lines.next() {
        let line = line?;
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Item>(&text) {
            Ok(item) => items.push(item),
            Err(error) if lines.peek().is_none() && error.is_eof() => truncated_last_line = true,
            Err(error) => return Err(ReadError::Line { line: i + 1, error }),
        }
    }
    Ok(Recording { items, truncated_last_line })
}
