//! JSON-lines feed files, plain or gzip-compressed.
//!
//! **In (writing):** one line of text per item ([`write_line`]: embedded line breaks become
//! spaces), into a plain file or a [`gzip`] stream with deterministic bytes. **Out (reading):**
//! [`Lines`] yields every line that is not blank, without its `'\n'` or `'\r\n'` (invalid UTF-8
//! converted lossily), from a plain file or from a gzip file of one or more members, and counts
//! the bytes of the file read so far for progress, and the lines and bytes of text read as whole
//! lines (for telling where a file that cannot be read to its end was cut).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

/// Writes one JSON line; embedded line breaks become spaces.
pub(super) fn write_line(out: &mut dyn Write, line: &str) -> io::Result<()> {
    if line.contains(['\n', '\r']) {
        out.write_all(line.replace(['\n', '\r'], " ").as_bytes())?;
    } else {
        out.write_all(line.as_bytes())?;
    }
    out.write_all(b"\n")
}

/// A gzip stream onto `out`, with mtime 0 and a fixed OS byte: deterministic bytes on every
/// platform.
pub(super) fn gzip(out: BufWriter<File>) -> GzEncoder<BufWriter<File>> {
    flate2::GzBuilder::new()
        .operating_system(255)
        .write(out, flate2::Compression::default())
}

/// Counts the bytes read from a file, for progress.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The lines of a JSON-lines file that are not blank, streamed.
pub(super) struct Lines {
    lines: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    /// Lines read (blank ones included), each ended by `'\n'` or by the end of the text.
    lines_read: u64,
    /// Bytes of text (decompressed) in those lines.
    text_bytes: u64,
    /// After a read error: the bytes of the incomplete line read before it (not an item).
    partial_bytes: u64,
}

impl Lines {
    /// Reads `file`, gunzipping it when `gzip`, and adds the bytes read from it to `count`.
    pub(super) fn open(file: File, gzip: bool, count: Arc<AtomicU64>) -> Lines {
        let counting = Counting { inner: file, count };
        let lines: Box<dyn BufRead + Send> = if gzip {
            let gz = MultiGzDecoder::new(BufReader::with_capacity(1 << 16, counting));
            Box::new(BufReader::with_capacity(1 << 16, gz))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, counting))
        };
        Lines {
            lines,
            buf: Vec::new(),
            lines_read: 0,
            text_bytes: 0,
            partial_bytes: 0,
        }
    }

    /// Lines read so far (blank ones included).
    pub(super) fn lines_read(&self) -> u64 {
        self.lines_read
    }

    /// Bytes of text (decompressed for gzip) read as whole lines: the offset in the text of the
    /// first byte not read.
    pub(super) fn text_bytes(&self) -> u64 {
        self.text_bytes
    }

    /// After a read error, the bytes of the incomplete line read before it (dropped: the
    /// error means the line's end is not there).
    pub(super) fn partial_bytes(&self) -> u64 {
        self.partial_bytes
    }
}

impl Iterator for Lines {
    type Item = io::Result<String>;

    fn next(&mut self) -> Option<io::Result<String>> {
        let buf = &mut self.buf;
        loop {
            buf.clear();
            match self.lines.read_until(b'\n', buf) {
                Ok(0) => return None,
                Ok(n) => {
                    self.lines_read += 1;
                    self.text_bytes += n as u64;
                    if buf.last() == Some(&b'\n') {
                        buf.pop();
                    }
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let line = match String::from_utf8(std::mem::take(buf)) {
                        Ok(s) => s,
                        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    };
                    return Some(Ok(line));
                }
                // `read_until` retries `Interrupted` itself; the bytes before an error stay in `buf`.
                Err(e) => {
                    self.partial_bytes = buf.len() as u64;
                    return Some(Err(e));
                }
            }
        }
    }
}
