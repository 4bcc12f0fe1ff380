//! JSON-lines files of serde rows (the truth channel, tests' fixtures), plain or gzip.
//!
//! **In:** rows of any `T: Serialize`, or a file's path. **Out:** one compact JSON object per
//! line (gzip-compressed with deterministic bytes when the path ends in `.gz`), or the rows
//! read back as any `T: DeserializeOwned`, skipping blank lines.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::create_file;

/// Reads JSON lines (gzip-compressed when `path` ends in `.gz`); a bad line is an error naming it.
pub(crate) fn read_json_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    use std::io::BufRead;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader: Box<dyn BufRead> = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    {
        Box::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let mut rows = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        rows.push(
            serde_json::from_str(&line)
                .with_context(|| format!("{} line {}", path.display(), i + 1))?,
        );
    }
    Ok(rows)
}

/// Writes `rows` as JSON lines (gzip-compressed when `path` ends in `.gz`), creating parent
/// directories.
pub fn write_json_lines<T: Serialize>(
    path: &Path,
    rows: impl IntoIterator<Item = T>,
) -> Result<()> {
    let ctx = || format!("writing {}", path.display());
    fn write_rows<T: Serialize, W: Write>(
        out: &mut W,
        rows: impl IntoIterator<Item = T>,
    ) -> Result<()> {
        for row in rows {
            serde_json::to_writer(&mut *out, &row)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        Ok(())
    }
    let out = create_file(path)?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    {
        // Buffer in front of the encoder: serde writes in tiny pieces, and deflating each one
        // on its own is several times slower.
        let gz = flate2::GzBuilder::new()
            .operating_system(255)
            .write(out, flate2::Compression::default());
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, gz);
        write_rows(&mut buffered, rows).with_context(ctx)?;
        let gz = buffered
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(ctx)?;
        gz.finish().with_context(ctx)?.flush().with_context(ctx)?;
    } else {
        let mut out = out;
        write_rows(&mut out, rows).with_context(ctx)?;
    }
    Ok(())
}
