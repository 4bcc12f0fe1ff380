//! The changelog's recovery from a crash, and a partition's rebuild regions.

use std::fs::OpenOptions;
use std::io::Write;

use oddsflow_dataflows::Time;

use super::changelog::{CHANGELOG, Changelog};
use super::topics::Part;
use crate::runtime::clock::Reclock;
use crate::runtime::host::Frame;

fn entry(end: i64, cap: Time) -> Frame {
    Frame {
        reclock: vec![(
            Reclock {
                partition: 0,
                end,
                cap,
                records: end as u64,
                late: 0,
                refused: Vec::new(),
                held: Vec::new(),
            },
            cap,
            1,
        )],
        ..Frame::default()
    }
}

#[test]
fn a_frame_cut_short_by_a_crash_is_dropped_and_the_log_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut log = Changelog::open(dir.path(), "t", "id").expect("new log");
        log.write_frame(Some(1_000), &entry(10, 0))
            .expect("frame 1");
        log.write_frame(Some(2_000), &entry(20, 1_000))
            .expect("frame 2");
    }
    let path = dir.path().join(CHANGELOG);
    let good = std::fs::metadata(&path).expect("log").len();
    // A third record, cut short: its header promises 200 bytes, 5 follow.
    let mut f = OpenOptions::new().append(true).open(&path).expect("log");
    f.write_all(&[200, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5])
        .expect("partial record");
    drop(f);
    let log = Changelog::open(dir.path(), "t", "id").expect("reopened");
    assert_eq!(log.frames, 2);
    assert_eq!(log.recovery.durable, 2_000);
    assert!(!log.recovery.closed);
    assert_eq!(log.recovery.entries.len(), 2);
    assert_eq!(std::fs::metadata(&path).expect("log").len(), good);
    let mut log = log;
    log.write_frame(None, &entry(30, 2_000)).expect("frame 3");
    assert_eq!(
        log.ends.get(&0),
        Some(&30),
        "the final frame's entries are committed too"
    );
    drop(log);
    let log = Changelog::open(dir.path(), "t", "id").expect("reopened");
    assert!(log.recovery.closed);
    assert_eq!(
        Changelog::frames_after(dir.path(), 1)
            .expect("frames")
            .len(),
        2
    );
    // Another run's settings are refused.
    drop(log);
    let err = Changelog::open(dir.path(), "t", "other = settings")
        .err()
        .expect("refused");
    assert!(format!("{err}").contains("with other settings"), "{err}");
    let err = Changelog::open(dir.path(), "u", "id")
        .err()
        .expect("refused");
    assert!(format!("{err}").contains("a run of topic \"t\""), "{err}");
}

#[test]
fn rebuild_regions_give_each_offset_its_cap() {
    let p = Part::new(0, vec![(9, 3_000), (5, 0), (12, 7_000)]);
    let caps: Vec<Time> = (0..12).map(|o| p.region_cap(o)).collect();
    assert_eq!(
        caps,
        [
            0, 0, 0, 0, 0, 3_000, 3_000, 3_000, 3_000, 7_000, 7_000, 7_000
        ]
    );
    assert!(p.rebuilding());
}

#[test]
fn rebuilt_outputs_that_differ_from_the_changelog_are_an_error() {
    use super::worker::check_rebuilt;
    use oddsflow_dataflows::reject::{DeadLetter, RejectReason};
    let letter = |seq: u64| DeadLetter {
        seq,
        reason: RejectReason::Malformed,
        detail: String::new(),
        record: String::new(),
    };
    let frame = |seqs: &[(u64, Time)]| Frame {
        dead_letters: seqs.iter().map(|(s, t)| (letter(*s), *t, 1)).collect(),
        ..Frame::default()
    };
    // The changelog holds letters 1 and 2 before 1 000; the rebuild made 1 and 2, then 3 after.
    let want = frame(&[(1, 100), (2, 500)]);
    let mut got = frame(&[(1, 100), (2, 500), (3, 1_500)]);
    check_rebuilt(&mut got, 1_000, &mut Some(want.clone())).expect("equal");
    assert_eq!(
        got,
        frame(&[(3, 1_500)]),
        "what is left is after the durable point"
    );
    // A rebuild that lost letter 2, or made it at another time: an error naming the table.
    for bad in [frame(&[(1, 100)]), frame(&[(1, 100), (2, 600)])] {
        let mut got = bad;
        let err = check_rebuilt(&mut got, 1_000, &mut Some(want.clone())).expect_err("differs");
        assert!(format!("{err}").contains("dead_letters"), "{err}");
    }
    // Checked once: with nothing expected, anything passes.
    check_rebuilt(&mut frame(&[(9, 1)]), 1_000, &mut None).expect("nothing to check");
}
