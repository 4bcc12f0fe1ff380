//! The changelog: `DIR/changelog.bin`, worker 0's durable record of a live run.
//!
//! A [`LogLine::Header`] naming the run, then a [`LogLine::Frame`] each time the output frontier
//! advances (every output change before it, the reclock entries included) and a
//! [`LogLine::Published`] once a frame is on the output topics; each line one checksummed bincode
//! record, fsynced. Opening it recovers what a restart needs (a [`Recovery`]) and drops a last
//! record cut short by a crash. It knows neither Kafka nor timely: the worker decides when to
//! write a frame and what to commit.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;

use crate::runtime::clock::Reclock;
use crate::runtime::host::Frame;

/// What a restart needs, read from the changelog by worker 0 and broadcast to every worker.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Recovery {
    /// Every output change before this time is durable.
    pub(super) durable: Time,
    /// The run finished (its final frame is written).
    pub(super) closed: bool,
    /// The durable reclock entries.
    pub(super) entries: Vec<Reclock>,
}

/// One line of the changelog.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum LogLine {
    /// The run's identity: a restart must be the same run.
    Header { topic: String, identity: String },
    /// Every output change at times in `[previous upto, upto)`; `upto: None` closes the run.
    Frame {
        n: u64,
        upto: Option<Time>,
        changes: Box<Frame>,
    },
    /// Frames up to `n` are on the output topics.
    Published { n: u64 },
    /// The run's id (random, written once after the header): the key of its frame markers on
    /// the output topics and its transactional producer's id. Last, so that changelogs written
    /// before it existed still decode.
    Run { id: String },
}

/// [`LogLine::Frame`] as written: the same encoding, borrowing the frame instead of copying it.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum FrameOut<'a> {
    #[allow(dead_code)] // only its variant index matters: it keeps `Frame` second
    Header,
    Frame {
        n: u64,
        upto: Option<Time>,
        changes: &'a Frame,
    },
}

/// The changelog on worker 0: `DIR/changelog.bin`, one checksummed bincode record per frame,
/// appended and fsynced before anything depending on it is acknowledged.
pub(super) struct Changelog {
    file: File,
    /// What the changelog held when opened.
    pub(super) recovery: Recovery,
    /// Every output before this is durable (`recovery.durable`, then each frame's `upto`).
    pub(super) durable: Time,
    /// The end of each partition's last durable entry: the offsets to commit.
    pub(super) ends: BTreeMap<i32, i64>,
    /// The number of the last frame written.
    pub(super) frames: u64,
    /// The number of the last frame on the output topics.
    pub(super) published: u64,
    /// The run's id ([`LogLine::Run`]).
    pub(super) run_id: String,
}

/// The changelog's file name in the run's directory.
pub(super) const CHANGELOG: &str = "changelog.bin";

impl Changelog {
    /// Opens (or starts) the changelog in `dir`, dropping a last line cut short by a crash.
    pub(super) fn open(dir: &Path, topic: &str, identity: &str) -> Result<Changelog> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(CHANGELOG);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        // One writer per changelog: a second run on the same directory would count twice.
        file.try_lock().map_err(|_| {
            anyhow::anyhow!(
                "another oddsflow run is writing {} (one run per --out)",
                path.display()
            )
        })?;
        let mut recovery = Recovery::default();
        let (mut frames, mut published, mut header) = (0, 0, false);
        let mut run_id = None;
        let mut records = Records::new(&file);
        while let Some(parsed) = records.next_record()? {
            match parsed {
                LogLine::Header {
                    topic: t,
                    identity: id,
                } => {
                    if t != topic {
                        bail!(
                            "{} belongs to a run of topic {t:?}; this run reads {topic:?}: use \
                             another --out",
                            path.display()
                        );
                    }
                    if let Some(d) = super::identity::first_difference(&id, identity) {
                        bail!(
                            "{} belongs to a run with other settings, which would mix two runs' \
                             outputs: {d} (the first difference); restart with the same settings, \
                             or use another --out",
                            path.display()
                        );
                    }
                    header = true;
                }
                LogLine::Frame { n, upto, changes } => {
                    frames = n;
                    recovery
                        .entries
                        .extend(changes.reclock.into_iter().map(|(e, _, _)| e));
                    match upto {
                        Some(u) => recovery.durable = u,
                        None => recovery.closed = true,
                    }
                }
                LogLine::Published { n } => published = n,
                LogLine::Run { id } => run_id = Some(id),
            }
        }
        let good_len = records.good_len;
        if file.metadata()?.len() > good_len {
            tracing::warn!(
                "dropping the end of {} cut short by a crash",
                path.display()
            );
            file.set_len(good_len)?;
            file.seek(std::io::SeekFrom::End(0))?;
        }
        let mut log = Changelog {
            file,
            durable: recovery.durable,
            ends: BTreeMap::new(),
            recovery,
            frames,
            published,
            run_id: run_id.clone().unwrap_or_default(),
        };
        let entries = std::mem::take(&mut log.recovery.entries);
        log.note_entries(&entries);
        log.recovery.entries = entries;
        if !header {
            log.append(&LogLine::Header {
                topic: topic.to_string(),
                identity: identity.to_string(),
            })?;
        }
        if run_id.is_none() {
            log.run_id = format!("{:016x}", rand::random::<u64>());
            let id = log.run_id.clone();
            log.append(&LogLine::Run { id })?;
        }
        Ok(log)
    }

    /// Appends `line`, fsynced.
    pub(super) fn append(&mut self, line: &LogLine) -> Result<()> {
        self.append_encoded(line)
    }

    fn append_encoded(&mut self, line: &impl Serialize) -> Result<()> {
        let body = bincode::serialize(line).context("encoding a changelog record")?;
        let mut record = Vec::with_capacity(body.len() + 12);
        record.extend_from_slice(&(body.len() as u64).to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        record.extend_from_slice(&body);
        self.file.write_all(&record)?;
        self.file.sync_data().context("syncing the changelog")?;
        Ok(())
    }

    /// Writes `changes` (every output before `upto`; `None`: all, closing the run) durably.
    pub(super) fn write_frame(&mut self, upto: Option<Time>, changes: &Frame) -> Result<u64> {
        self.frames += 1;
        let n = self.frames;
        self.append_encoded(&FrameOut::Frame { n, upto, changes })?;
        if let Some(u) = upto {
            self.durable = u;
        }
        let entries: Vec<Reclock> = changes.reclock.iter().map(|(e, _, _)| e.clone()).collect();
        self.note_entries(&entries);
        Ok(n)
    }

    /// Records the partition ends of durable `entries`.
    fn note_entries(&mut self, entries: &[Reclock]) {
        for e in entries {
            let end = self.ends.entry(e.partition).or_insert(0);
            *end = (*end).max(e.end);
        }
    }

    /// Every frame after `after`.
    pub(super) fn frames_after(dir: &Path, after: u64) -> Result<Vec<(u64, Frame)>> {
        let path = dir.join(CHANGELOG);
        let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let mut out = Vec::new();
        let mut records = Records::new(&file);
        while let Some(line) = records.next_record()? {
            if let LogLine::Frame { n, changes, .. } = line
                && n > after
            {
                out.push((n, *changes));
            }
        }
        Ok(out)
    }

    /// The durable frontier of the changelog in `dir`: every output before it is durable (`None`
    /// when the run is closed: all of them are).
    pub(super) fn durable_frontier(dir: &Path) -> Result<Option<Time>> {
        let path = dir.join(CHANGELOG);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(0)),
            Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
        };
        let mut durable = Some(0);
        let mut records = Records::new(&file);
        while let Some(line) = records.next_record()? {
            if let LogLine::Frame { upto, .. } = line {
                durable = upto;
            }
        }
        Ok(durable)
    }
}

/// Reads the changelog's records: `[length u64 LE][crc32 u32 LE][bincode]` each. Stops at the
/// first record that is cut short or fails its checksum (the end a crash left).
struct Records<'f> {
    reader: BufReader<&'f File>,
    /// Bytes of whole, good records read so far.
    good_len: u64,
    /// The file's size: a record's length beyond it is a record cut short (or corrupt), never an
    /// allocation of that size.
    size: u64,
}

impl<'f> Records<'f> {
    fn new(file: &'f File) -> Self {
        Records {
            reader: BufReader::new(file),
            good_len: 0,
            size: file.metadata().map_or(0, |m| m.len()),
        }
    }

    fn next_record(&mut self) -> Result<Option<LogLine>> {
        let mut head = [0u8; 12];
        if !read_full(&mut self.reader, &mut head)? {
            return Ok(None);
        }
        let len = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(head[8..].try_into().unwrap_or_default());
        if len > self.size.saturating_sub(self.good_len + 12) {
            return Ok(None);
        }
        let mut body = vec![0u8; len as usize];
        if !read_full(&mut self.reader, &mut body)? || crc32fast::hash(&body) != crc {
            return Ok(None);
        }
        match bincode::deserialize::<LogLine>(&body) {
            Ok(line) => {
                self.good_len += 12 + len;
                Ok(Some(line))
            }
            Err(_) => Ok(None),
        }
    }
}

/// Fills `buf`; `false` if the input ends first.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => return Ok(false),
            n => filled += n,
        }
    }
    Ok(true)
}
