//! The live runtime against a real Kafka protocol peer: librdkafka's mock cluster, in this test
//! process, spoken to over TCP by rdkafka clients (in this process, or in `oddsflow` child
//! processes). The oracle is the offline replay of the same feed: the live outputs (every
//! collection, the bets and settlements, the dead letters and the counts) must equal it.

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use oddsflow::policy::PolicySpec;
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::live::{LiveConfig, assemble, run_live};
use oddsflow::runtime::outputs::Outputs;
use oddsflow_dataflows::ingest::Payload;

/// A small noisy simulated feed.
fn feed(matches: usize, seed: u64) -> Vec<Payload> {
    common::noisy_feed(seed, matches)
}

/// The run configuration of `oddsflow run --policies POLICIES --seed 1` (the learner starts
/// from the shipped checkpoint, as the binary's does).
fn config(policies: &str) -> RunConfig {
    let mut policies: Vec<PolicySpec> = policies
        .split(',')
        .map(|p| PolicySpec::parse(p, 1).expect("a policy"))
        .collect();
    for p in &mut policies {
        if let PolicySpec::Drqn(c) = p {
            c.checkpoint_in = Some(oddsflow::assets::shipped_checkpoint().expect("checkpoint"));
        }
    }
    RunConfig {
        progress: false,
        policies,
        seed: 1,
        ..RunConfig::default()
    }
}

const POLICIES: &str = "no-bet,random,favourite,value,drqn";

/// The Kafka protocol peer a test runs against.
enum Peer {
    /// librdkafka's mock cluster, in this process.
    Mock(MockCluster<'static, DefaultProducerContext>),
    /// A broker at these bootstrap servers (`.ci/kafka-e2e` runs tests against tansu so).
    Broker(String),
}

impl Peer {
    fn bootstrap_servers(&self) -> String {
        match self {
            Peer::Mock(m) => m.bootstrap_servers(),
            Peer::Broker(b) => b.clone(),
        }
    }
}

fn cluster() -> Peer {
    Peer::Mock(MockCluster::new(1).expect("librdkafka's mock cluster starts"))
}

/// The broker named by `ODDSFLOW_TEST_BROKERS` if set (`.ci/kafka-e2e` sets it to its
/// tansu), otherwise the mock cluster.
fn peer() -> Peer {
    match std::env::var("ODDSFLOW_TEST_BROKERS") {
        Ok(b) if !b.is_empty() => Peer::Broker(b),
        _ => cluster(),
    }
}

/// Creates `topic` with `partitions` partitions and, on the mock cluster (which does not take
/// the CreateTopics request), its output topics; then publishes `items` as `oddsflow produce`
/// does.
fn produce(peer: &Peer, topic: &str, partitions: i32, items: &[Payload]) {
    let brokers = peer.bootstrap_servers();
    let brokers = brokers.as_str();
    if let Peer::Mock(mock) = peer {
        mock.create_topic(topic, partitions, 1)
            .expect("topic created");
        for out in ["features", "bets", "settlements", "dead-letters"] {
            mock.create_topic(&format!("{topic}.{out}"), 2, 1)
                .expect("output topic created");
        }
        mock.create_topic(&format!("{topic}.frames"), 1, 1)
            .expect("frame marker topic created");
    }
    oddsflow::io::kafka::ensure_topics(brokers, &[topic], partitions).expect("topic exists");
    let stats = oddsflow::io::kafka::produce(
        items.iter().cloned().map(Ok),
        brokers,
        topic,
        oddsflow::io::kafka::Pace::Max,
    )
    .expect("feed produced");
    assert_eq!(stats.records, items.len() as u64);
}

fn live_config(brokers: &str, topic: &str, out: &Path, policies: &str) -> LiveConfig {
    let mut cfg = LiveConfig::new(brokers, topic, out);
    cfg.run = config(policies);
    cfg.idle_timeout_ms = 300;
    cfg.exit_when_idle_ms = Some(700);
    cfg
}

fn replayed(items: &[Payload], policies: &str) -> Outputs {
    let o = common::run(items, &config(policies), 1);
    assert_eq!(
        o.summary.late, 0,
        "the comparison needs a feed with no record later than the lateness"
    );
    o
}

/// Asserts two outputs are the same, naming the first differing line of their canonical text.
fn assert_same_outputs(got: &Outputs, want: &Outputs, what: &str) {
    let (g, w) = (got.canonical_text(), want.canonical_text());
    if g != w {
        let line = g
            .lines()
            .zip(w.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{what}: the outputs differ from the replay's at line {line}:\n got: {}\nwant: {}",
            g.lines().nth(line).unwrap_or("<end>"),
            w.lines().nth(line).unwrap_or("<end>")
        );
    }
    assert!(!want.betting.settlements.is_empty(), "a ledger to compare");
    assert!(!want.dead_letters.is_empty(), "dead letters to compare");
}

#[test]
fn live_run_equals_the_replay_on_one_and_two_workers() {
    let mock = cluster();
    let brokers = mock.bootstrap_servers();
    let items = feed(6, 61);
    produce(&mock, "feed", 4, &items);
    let want = replayed(&items, POLICIES);
    for workers in [1, 2] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = live_config(&brokers, "feed", dir.path(), POLICIES);
        cfg.group = format!("g{workers}");
        let timely = match workers {
            1 => timely::Config::thread(),
            n => timely::Config::process(n),
        };
        let (got, stats) = run_live(&cfg, None, timely)
            .expect("live run")
            .expect("worker 0 is here");
        assert_same_outputs(&got, &want, &format!("{workers} workers"));
        assert_eq!(stats.records_read, items.len() as u64);
        // The group's committed offsets cover every record: all its results are durable.
        {
            use rdkafka::consumer::{BaseConsumer, Consumer};
            let c: BaseConsumer = oddsflow::io::kafka::client_config(&brokers)
                .set("group.id", &cfg.group)
                .create()
                .expect("consumer");
            let mut tpl = rdkafka::TopicPartitionList::new();
            for p in 0..4 {
                tpl.add_partition("feed", p);
            }
            let committed = c
                .committed_offsets(tpl, Duration::from_secs(10))
                .expect("committed offsets");
            let mut total = 0;
            for e in committed.elements() {
                let (_, high) = c
                    .fetch_watermarks("feed", e.partition(), Duration::from_secs(10))
                    .expect("watermarks");
                assert_eq!(
                    e.offset(),
                    rdkafka::Offset::Offset(high),
                    "partition {}",
                    e.partition()
                );
                total += high;
            }
            assert_eq!(total, items.len() as i64);
        }
        // The changelog alone gives the same outputs.
        assert_same_outputs(
            &assemble(dir.path(), &cfg.run).expect("changelog"),
            &want,
            "changelog",
        );
    }
}

#[test]
fn output_topics_rebuild_the_collections() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    let mock = cluster();
    let brokers = mock.bootstrap_servers();
    let items = feed(4, 62);
    produce(&mock, "f2", 2, &items);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = live_config(&brokers, "f2", dir.path(), POLICIES);
    let (got, _) = run_live(&cfg, None, timely::Config::thread())
        .expect("live run")
        .expect("worker 0");
    // Read the settlements topic back and sum the diffs per (data, time).
    let consumer: BaseConsumer = oddsflow::io::kafka::client_config(&brokers)
        .set("group.id", "reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&["f2.settlements"]).expect("subscribe");
    let mut rows: Vec<(serde_json::Value, i64)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while rows.len() < got.betting.settlements.len() && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let v: serde_json::Value =
                serde_json::from_slice(m.payload().expect("a value")).expect("JSON");
            rows.push((
                serde_json::json!([v["data"], v["time"]]),
                v["diff"].as_i64().expect("diff"),
            ));
        }
    }
    let want: Vec<(serde_json::Value, i64)> = got
        .betting
        .settlements
        .iter()
        .map(|(d, t, r)| (serde_json::json!([d, t]), *r))
        .collect();
    let key = |v: &(serde_json::Value, i64)| (v.0.to_string(), v.1);
    let (mut a, mut b) = (rows.clone(), want);
    a.sort_by_key(key);
    b.sort_by_key(key);
    assert_eq!(
        a, b,
        "the settlements topic holds the settlement collection's changes"
    );
}

fn oddsflow_bin() -> &'static str {
    env!("CARGO_BIN_EXE_oddsflow")
}

/// The arguments of `oddsflow run` on `topic`, out to `out`, with short idle timeouts.
fn spawn_args(brokers: &str, topic: &str, out: &Path) -> Vec<String> {
    [
        "run",
        "--brokers",
        brokers,
        "--topic",
        topic,
        "--out",
        &out.display().to_string(),
        "--policies",
        POLICIES,
        "--no-progress",
        "--idle-timeout-ms",
        "300",
        "--exit-when-idle-ms",
        "700",
    ]
    .map(String::from)
    .to_vec()
}

fn spawn_run(brokers: &str, topic: &str, out: &Path, extra: &[&str]) -> Child {
    Command::new(oddsflow_bin())
        .args(spawn_args(brokers, topic, out))
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("oddsflow run starts")
}

#[test]
fn sigkill_at_random_points_then_restart_gives_the_replay() {
    let mock = cluster();
    let brokers = mock.bootstrap_servers();
    let items = feed(8, 63);
    produce(&mock, "crash", 4, &items);
    let want = replayed(&items, POLICIES);
    // How long an uninterrupted run takes, to spread the kills over it.
    let probe_dir = tempfile::tempdir().expect("tempdir");
    let t0 = Instant::now();
    let status = spawn_run(&brokers, "crash", probe_dir.path(), &["--group", "probe"])
        .wait()
        .expect("run");
    assert!(status.success());
    let full = t0.elapsed();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut resumed = 0;
    for trial in 0..3 {
        let dir = tempfile::tempdir().expect("tempdir");
        let group = format!("crash-{trial}");
        let mut kills = 0;
        // Kill it at random points, two or three times, then let it finish.
        for _ in 0..rng.random_range(2..=3) {
            let mut child = spawn_run(&brokers, "crash", dir.path(), &["--group", &group]);
            let at = full.mul_f64(rng.random_range(0.15..0.9));
            std::thread::sleep(at);
            if child.try_wait().expect("status").is_none() {
                child.kill().expect("SIGKILL");
                kills += 1;
            }
            let _ = child.wait();
        }
        // And once more as soon as some results are durable (random points can all fall before
        // the first durable frame), so that the final run resumes from them.
        let mut child = spawn_run(&brokers, "crash", dir.path(), &["--group", &group]);
        let deadline = Instant::now() + full * 3;
        while Instant::now() < deadline
            && child.try_wait().expect("status").is_none()
            && !matches!(oddsflow::runtime::live::durable_frontier(dir.path()), Ok(Some(t)) if t > 0)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait().expect("status").is_none() {
            child.kill().expect("SIGKILL");
            kills += 1;
        }
        let _ = child.wait();
        let status = spawn_run(&brokers, "crash", dir.path(), &["--group", &group])
            .wait()
            .expect("run");
        assert!(status.success(), "the final run succeeds");
        // The last run resumed from durable results: it rebuilt state instead of starting over.
        let stats: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("live.json")).expect("live.json"),
        )
        .expect("JSON");
        eprintln!("trial {trial}: {kills} kills, last run {stats}");
        resumed += (stats["resumed_from"].as_u64() > Some(0)) as usize;
        let got = assemble(dir.path(), &config(POLICIES)).expect("changelog");
        assert_same_outputs(&got, &want, &format!("trial {trial} ({kills} kills)"));
        assert!(
            kills > 0,
            "trial {trial}: at least one run was killed mid-way"
        );
    }
    assert!(
        resumed > 0,
        "some trial was killed after results were durable"
    );
}

/// A topic read back: every committed message (read_committed, every partition to its end).
struct TopicRows {
    /// (`oddsflow-id` header, JSON value, partition) of each message, in offset order.
    rows: Vec<(String, serde_json::Value, i32)>,
    /// The partitions whose oldest messages the broker no longer holds (librdkafka's mock
    /// cluster keeps 5 MB a partition).
    truncated: Vec<i32>,
}

fn read_topic(brokers: &str, topic: &str) -> TopicRows {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    let consumer: BaseConsumer = oddsflow::io::kafka::client_config(brokers)
        .set("group.id", format!("reader-{topic}"))
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create()
        .expect("consumer");
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let partitions = meta.topics()[0].partitions().len() as i32;
    let mut tpl = rdkafka::TopicPartitionList::new();
    let (mut open, mut truncated) = (std::collections::BTreeSet::new(), Vec::new());
    for p in 0..partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .expect("watermarks");
        if low > 0 {
            truncated.push(p);
        }
        if high > low {
            tpl.add_partition_offset(topic, p, rdkafka::Offset::Beginning)
                .expect("partition");
            open.insert(p);
        }
    }
    let mut rows = Vec::new();
    if !open.is_empty() {
        consumer.assign(&tpl).expect("assign");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !open.is_empty() {
        assert!(Instant::now() < deadline, "{topic} read to its end in 30 s");
        match consumer.poll(Duration::from_millis(200)) {
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                open.remove(&p);
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            Some(Ok(m)) => {
                let id = m
                    .headers()
                    .and_then(|h| h.iter().find(|h| h.key == "oddsflow-id"))
                    .and_then(|h| h.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                let value = serde_json::from_slice(m.payload().expect("a value")).expect("JSON");
                rows.push((id, value, m.partition()));
            }
            None => {}
        }
    }
    TopicRows { rows, truncated }
}

/// Net diffs by `[data, time]` of rows `(data, time, diff)` with a time after `after`.
fn net_after(
    rows: impl IntoIterator<Item = (serde_json::Value, u64, i64)>,
    after: Option<u64>,
) -> std::collections::BTreeMap<String, i64> {
    let mut sum = std::collections::BTreeMap::<String, i64>::new();
    for (d, t, r) in rows {
        if after.is_none_or(|a| t > a) {
            *sum.entry(serde_json::json!([d, t]).to_string())
                .or_default() += r;
        }
    }
    sum.retain(|_, d| *d != 0);
    sum
}

#[test]
fn a_crash_after_an_output_transaction_commits_publishes_nothing_twice() {
    // Killed (SIGKILL, by the crash point) right after a frame's output transaction committed
    // and before the changelog said so, twice, then run to the end: every output topic holds
    // each change once (no oddsflow-id twice), and the topics' diffs sum to the collections the
    // changelog holds. (librdkafka's mock cluster keeps aborted transactions visible, so a crash
    // *inside* a transaction is tried against tansu, in .ci/kafka-e2e.)
    use std::os::unix::process::ExitStatusExt;
    let peer = peer();
    let brokers = peer.bootstrap_servers();
    let items = feed(6, 69);
    // A topic of its own on a shared broker.
    let topic = format!("once-{}", std::process::id());
    produce(&peer, &topic, 2, &items);
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ["--group", &topic, "--frame-interval-ms", "50"];
    // Inside a transaction (`sent`) only where aborted transactions are hidden.
    let crashes: &[&str] = match peer {
        Peer::Mock(_) => &["published:3", "published:2"],
        Peer::Broker(_) => &["published:3", "sent:2", "published:2", "sent:3"],
    };
    for at in crashes {
        let status = Command::new(oddsflow_bin())
            .env("ODDSFLOW_CRASH_AT", at)
            .args(spawn_args(&brokers, &topic, dir.path()))
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run");
        assert_eq!(status.signal(), Some(9), "killed at {at}: {status:?}");
    }
    let status = spawn_run(&brokers, &topic, dir.path(), &args)
        .wait()
        .expect("run");
    assert!(status.success(), "the final run succeeds");
    let got = assemble(dir.path(), &config(POLICIES)).expect("changelog");
    // A broker without transactions (tansu 0.6 takes no EndTxn) gets the idempotent fallback: a
    // crash may publish a frame again, with the same ids, for consumers to drop the copies.
    let copies_allowed = matches!(peer, Peer::Broker(_));
    let markers = read_topic(&brokers, &format!("{topic}.frames")).rows;
    let mut frames: Vec<u64> = markers
        .iter()
        .map(|(_, v, _)| v["frame"].as_u64().expect("a frame"))
        .filter(|f| *f > 0)
        .collect();
    if copies_allowed {
        frames.dedup();
    }
    assert!(frames.len() >= 4, "frames published: {frames:?}");
    assert!(
        frames.windows(2).all(|w| w[1] == w[0] + 1),
        "each frame's marker once, in order: {frames:?}"
    );
    // Each topic: no change twice; its diffs, from the first time every partition still holds,
    // sum to the changelog's.
    let name = &topic;
    let check = |table: &str, want: Vec<serde_json::Value>| {
        let mut t = read_topic(&brokers, &format!("{name}.{table}"));
        let mut seen = std::collections::BTreeMap::new();
        t.rows.retain(|(id, v, _)| match seen.get(id) {
            None => {
                seen.insert(id.clone(), v.clone());
                true
            }
            Some(first) => {
                assert!(copies_allowed, "{table}: change {id} published twice");
                assert_eq!(first, v, "{table}: the copies of {id} differ");
                false
            }
        });
        let time = |v: &serde_json::Value| v["time"].as_u64().expect("a time");
        let after = t
            .truncated
            .iter()
            .filter_map(|p| {
                t.rows
                    .iter()
                    .filter(|r| r.2 == *p)
                    .map(|r| time(&r.1))
                    .min()
            })
            .max();
        let kept = t.rows.iter().map(|(_, v, _)| {
            let diff = v["diff"].as_i64().expect("a diff");
            (v["data"].clone(), time(v), diff)
        });
        let want = want.into_iter().map(|v| {
            let (t, r) = (
                v[1].as_u64().expect("a time"),
                v[2].as_i64().expect("a diff"),
            );
            (v[0].clone(), t, r)
        });
        let (a, b) = (net_after(kept, after), net_after(want, after));
        assert!(!b.is_empty(), "{table}: changes to compare after {after:?}");
        assert!(
            a == b,
            "{table}: the topic's {} net changes differ from the changelog's {}",
            a.len(),
            b.len()
        );
    };
    let rows = |v: serde_json::Value| v.as_array().expect("rows").clone();
    check(
        "features",
        rows(serde_json::to_value(&got.features).expect("JSON")),
    );
    check(
        "settlements",
        rows(serde_json::to_value(&got.betting.settlements).expect("JSON")),
    );
    let ids = |table: &str| {
        let rows = read_topic(&brokers, &format!("{topic}.{table}")).rows;
        let all = rows.len();
        let ids: std::collections::BTreeSet<String> = rows.into_iter().map(|r| r.0).collect();
        assert!(
            copies_allowed || ids.len() == all,
            "{table}: a change published twice"
        );
        ids.len()
    };
    assert_eq!(ids("bets"), got.betting.decisions.len(), "the bets topic");
    assert_eq!(
        ids("dead-letters"),
        got.dead_letters.len(),
        "the dead-letters topic"
    );
}

#[test]
fn two_processes_on_four_partitions_equal_one() {
    let mock = cluster();
    let brokers = mock.bootstrap_servers();
    let items = feed(6, 64);
    produce(&mock, "two", 4, &items);
    let want = replayed(&items, POLICIES);
    let dir = tempfile::tempdir().expect("tempdir");
    let hosts = dir.path().join("hosts");
    let ports = [free_port(), free_port()];
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1]),
    )
    .expect("hostfile");
    let out = dir.path().join("out");
    let h = hosts.display().to_string();
    let procs: Vec<Child> = (0..2)
        .map(|p| {
            spawn_run(
                &brokers,
                "two",
                &out,
                &["-n", "2", "-p", &p.to_string(), "-h", &h, "--group", "two"],
            )
        })
        .collect();
    for mut c in procs {
        assert!(
            c.wait().expect("process").success(),
            "both processes succeed"
        );
    }
    let got = assemble(&out, &config(POLICIES)).expect("changelog");
    assert_same_outputs(&got, &want, "2 processes");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Event time of the last item of a feed that has one.
fn last_ts(items: &[Payload]) -> u64 {
    items
        .iter()
        .filter_map(|p| match p {
            Payload::Decoded(r) => Some(r.ts),
            Payload::Line(l) => oddsflow_dataflows::wire::peek_ts(l),
        })
        .max()
        .expect("timed items") as u64
}

/// The changelog's durable frontier (0 before the first frame).
fn durable_frontier(dir: &Path) -> u64 {
    oddsflow::runtime::live::durable_frontier(dir)
        .expect("a readable changelog")
        .unwrap_or(u64::MAX)
}

#[test]
fn silent_partitions_do_not_stall_the_frontier() {
    // Three matches on sixteen partitions: most partitions never get a record. Once they have
    // been silent at their end for the idle timeout, the outputs complete (and become durable)
    // up to the feed's clock minus the lateness, while the run goes on (it is never closed).
    let mock = cluster();
    let brokers = mock.bootstrap_servers();
    let items = feed(3, 65);
    produce(&mock, "sparse", 16, &items);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = live_config(&brokers, "sparse", dir.path(), POLICIES);
    cfg.exit_when_idle_ms = None;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    cfg.stop = Some(stop.clone());
    let run = std::thread::spawn(move || run_live(&cfg, None, timely::Config::thread()));
    let target = last_ts(&items) - 30_000 - 2_000;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut durable = 0;
    while durable < target && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        durable = durable_frontier(dir.path());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    run.join().expect("the run ends").expect("no error");
    assert!(
        durable >= target,
        "durable to {durable}, the feed's clock minus the lateness is {target}"
    );
}

#[test]
fn a_second_run_on_the_same_directory_is_refused() {
    let mock = cluster();
    let brokers = mock.bootstrap_servers();
    produce(&mock, "locked", 1, &feed(1, 66));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("changelog.bin"))
        .expect("changelog");
    file.lock().expect("held by 'another run'");
    let cfg = live_config(&brokers, "locked", dir.path(), POLICIES);
    let err = run_live(&cfg, None, timely::Config::thread()).expect_err("refused");
    assert!(
        format!("{err:#}").contains("another oddsflow run"),
        "{err:#}"
    );
}

#[test]
fn a_restart_with_other_settings_is_refused_naming_the_first_difference() {
    // Stopped early, then restarted with each setting that changes the outputs changed in turn:
    // every one is refused with its name; the same settings (the checkpoint copied elsewhere,
    // same content) resume.
    let mock = cluster();
    let brokers = mock.bootstrap_servers();
    produce(&mock, "ident", 1, &feed(2, 68));
    let dir = tempfile::tempdir().expect("tempdir");
    let base = || live_config(&brokers, "ident", dir.path(), "random,drqn");
    let mut first = base();
    first.stop = Some(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(
        true,
    )));
    run_live(&first, None, timely::Config::thread()).expect("the first run");
    type Change = Box<dyn Fn(&mut LiveConfig)>;
    let changes: Vec<(&str, Change)> = vec![
        (
            "run.bookmaker.inplay_delay_ms",
            Box::new(|c| c.run.bookmaker.inplay_delay_ms = 3_000),
        ),
        (
            "run.bookmaker.price_tolerance",
            Box::new(|c| c.run.bookmaker.price_tolerance = 0.05),
        ),
        ("run.lateness_ms", Box::new(|c| c.run.lateness_ms = 0)),
        ("run.keep_outputs", Box::new(|c| c.run.keep_outputs = false)),
        (
            "run.clock.max_ahead_ms",
            Box::new(|c| c.run.clock.max_ahead_ms = 1_000),
        ),
        (
            "run.pipeline.validation.max_price",
            Box::new(|c| c.run.pipeline.validation.max_price = 50.0),
        ),
        (
            "run.pipeline.retire_after_ms",
            Box::new(|c| c.run.pipeline.retire_after_ms += 1),
        ),
        ("run.seed", Box::new(|c| c.run.seed = 9)),
        (
            "run.policies.len",
            Box::new(|c| {
                c.run.policies.pop();
            }),
        ),
    ];
    for (name, change) in &changes {
        let mut cfg = base();
        change(&mut cfg);
        let err = run_live(&cfg, None, timely::Config::thread()).expect_err("refused");
        let msg = format!("{err:#}");
        assert!(msg.contains(&format!("{name}:")), "{name}: {msg}");
    }
    // Another checkpoint content is another run; the same content elsewhere is the same.
    let ckpt = tempfile::tempdir().expect("tempdir");
    let shipped = oddsflow::assets::shipped_checkpoint().expect("checkpoint");
    for e in std::fs::read_dir(&shipped).expect("the checkpoint") {
        let e = e.expect("an entry");
        if e.path().is_file() {
            std::fs::copy(e.path(), ckpt.path().join(e.file_name())).expect("copied");
        }
    }
    let with_ckpt = |dir: &Path| {
        let mut cfg = base();
        if let PolicySpec::Drqn(c) = &mut cfg.run.policies[1] {
            c.checkpoint_in = Some(dir.to_path_buf());
        }
        cfg
    };
    let mut same = with_ckpt(ckpt.path());
    same.stop = Some(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(
        true,
    )));
    run_live(&same, None, timely::Config::thread()).expect("the same settings resume");
    let model = std::fs::read_dir(ckpt.path())
        .expect("the copy")
        .map(|e| e.expect("an entry").path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a JSON file in the checkpoint");
    let mut text = std::fs::read_to_string(&model).expect("read");
    text.push(' ');
    std::fs::write(&model, text).expect("write");
    let err = run_live(&with_ckpt(ckpt.path()), None, timely::Config::thread())
        .expect_err("another checkpoint is refused");
    assert!(format!("{err:#}").contains("checkpoint_in:"), "{err:#}");
    // And a truth channel where there was none.
    let truth = std::sync::Arc::new(oddsflow::policy::Truth::from_rows(std::iter::empty()));
    let err = run_live(&base(), Some(truth), timely::Config::thread()).expect_err("refused");
    assert!(format!("{err:#}").contains("truth:"), "{err:#}");
}

/// Every collection holds each value at most once at the end (no change counted twice), the
/// bets are distinct, and every record read is counted once.
fn assert_consistent(o: &Outputs, records: usize, what: &str) {
    use std::collections::BTreeMap;
    let text = o.canonical_text();
    let mut counts: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("# ") {
            current = name.split(' ').next().unwrap_or("").to_string();
            continue;
        }
        if matches!(current.as_str(), "decisions" | "dead_letters" | "summary") {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).expect("a change");
        *counts
            .entry((current.clone(), v[0].to_string()))
            .or_insert(0) += v[2].as_i64().expect("diff");
    }
    let bad: Vec<_> = counts
        .iter()
        .filter(|(_, n)| !(0..=1).contains(*n))
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: values held {} times: {:?}",
        bad.len(),
        &bad[..bad.len().min(3)]
    );
    let mut ids: Vec<_> = o.betting.decisions.iter().map(|d| d.request.id).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "{what}: a bet decided twice");
    let s = &o.summary;
    assert_eq!(s.records_in, records as u64, "{what}: records counted");
    assert_eq!(
        s.records_ok + s.rejected,
        s.records_in,
        "{what}: ok + rejected"
    );
}

#[test]
fn late_records_keep_their_times_across_restarts() {
    // With no lateness allowed, the noisy feed's reordered records arrive behind the frontier
    // and are sent at the capability of that moment: a time only the changelog knows. Runs
    // stopped at random points and restarted must still count every record once and leave
    // every collection consistent.
    let mock = cluster();
    let brokers = mock.bootstrap_servers();
    let items = feed(6, 67);
    produce(&mock, "late", 1, &items);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let cfg_for = |exit: Option<u64>| {
        let mut cfg = live_config(&brokers, "late", dir.path(), POLICIES);
        cfg.run.lateness_ms = 0;
        cfg.exit_when_idle_ms = exit;
        cfg
    };
    let mut resumed_from = Vec::new();
    for _ in 0..3 {
        let mut cfg = cfg_for(None);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        cfg.stop = Some(stop.clone());
        let run = std::thread::spawn(move || run_live(&cfg, None, timely::Config::thread()));
        std::thread::sleep(Duration::from_millis(rng.random_range(300..1500)));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        run.join().expect("the run ends").expect("no error");
        resumed_from.push(durable_frontier(dir.path()));
    }
    let (got, _) = run_live(&cfg_for(Some(700)), None, timely::Config::thread())
        .expect("live run")
        .expect("worker 0");
    assert!(got.summary.late > 0, "the feed has late records");
    assert!(
        resumed_from.iter().any(|d| *d > 0),
        "some run stopped after results were durable: {resumed_from:?}"
    );
    assert_consistent(&got, items.len(), "restarted");
    // And it is what the feed gives at the times the changelog assigned.
    let mut cfg = config(POLICIES);
    cfg.lateness_ms = 0;
    let want = replay_of_assignment(dir.path(), &items, &cfg);
    assert_same_outputs(
        &assemble(dir.path(), &cfg).expect("changelog"),
        &want,
        "restarted",
    );
    // An uninterrupted run is consistent too (its late records may land on other times: the
    // capability when they arrive depends on timing).
    let dir2 = tempfile::tempdir().expect("tempdir");
    let mut cfg = cfg_for(Some(700));
    cfg.out = dir2.path().to_path_buf();
    cfg.group = "late-once".into();
    let (once, _) = run_live(&cfg, None, timely::Config::thread())
        .expect("live run")
        .expect("worker 0");
    assert_consistent(&once, items.len(), "uninterrupted");
}

/// The offline replay of `items` (published in order to one partition, so that offset = feed
/// position = `oddsflow-seq`) at the times the changelog in `dir` assigned them.
fn replay_of_assignment(dir: &Path, items: &[Payload], cfg: &RunConfig) -> Outputs {
    use oddsflow::runtime::live::TimeAssignment;
    let assignment = TimeAssignment::read(dir, &cfg.clock).expect("the changelog's assignment");
    assert_eq!(
        assignment.end(0),
        items.len() as i64,
        "the changelog covers every record of the partition"
    );
    let assigned = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let a = assignment.assigned(0, i as i64).expect("assigned");
            (i as u64, item.clone(), a)
        })
        .collect();
    oddsflow::runtime::replay::replay_assigned(
        std::sync::Arc::new(assigned),
        cfg,
        None,
        timely::Config::thread(),
    )
    .expect("replay")
    .expect("worker 0")
}

/// One run of `oddsflow run` in a crash trial: `crash_at` sets `ODDSFLOW_CRASH_AT`, `kill_after`
/// SIGKILLs it from outside after that long. Returns whether it was killed (by either); any
/// other end than success or SIGKILL fails the test with the run's stderr — a restart that
/// rebuilt other outputs than its changelog holds stops with an error, so it shows here.
fn trial_run(
    brokers: &str,
    topic: &str,
    dir: &Path,
    extra: &[&str],
    crash_at: Option<&str>,
    kill_after: Option<Duration>,
) -> bool {
    use std::os::unix::process::ExitStatusExt;
    let stderr_path = dir.join(format!("stderr-{}.txt", rand::random::<u32>()));
    let mut cmd = Command::new(oddsflow_bin());
    cmd.args(spawn_args(brokers, topic, dir))
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"));
    if let Some(at) = crash_at {
        cmd.env("ODDSFLOW_CRASH_AT", at);
    }
    let mut child = cmd.spawn().expect("oddsflow run starts");
    if let Some(after) = kill_after {
        let deadline = Instant::now() + after;
        while Instant::now() < deadline && child.try_wait().expect("status").is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().expect("status").is_none() {
            child.kill().expect("SIGKILL");
        }
    }
    let status = child.wait().expect("run");
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_file(&stderr_path);
    match status.signal() {
        Some(9) => true,
        _ if status.success() => false,
        _ => panic!("run ({crash_at:?}, kill after {kill_after:?}) ended {status:?}:\n{stderr}"),
    }
}

#[test]
fn crash_trials_with_lateness_zero_equal_the_replay_of_the_changelogs_assignment() {
    // Issue 18, part 7. No lateness on a feed with reordered records: the late ones are sent at
    // the capability of the moment they are read, a time only the changelog knows. Each trial
    // kills the run at random points, right after a durable frame (`durable`: fsynced, offsets
    // not yet committed) and right after the offset commit (`committed`), restarting it each
    // time; every restart checks its rebuilt outputs against the changelog (an error if they
    // differ); the final outputs must equal an offline replay at the changelog's times.
    // `ODDSFLOW_CRASH_TRIALS` sets the number of trials (3 here; `benches/crash_trials.sh` runs
    // more).
    let trials: u64 = std::env::var("ODDSFLOW_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("ODDSFLOW_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(29);
    let mock = cluster();
    let brokers = mock.bootstrap_servers();
    let items = feed(6, 67);
    produce(&mock, "reclock", 1, &items);
    let mut cfg = config(POLICIES);
    cfg.lateness_ms = 0;
    let base = ["--lateness-ms", "0", "--frame-interval-ms", "50"];
    // An uninterrupted run: how long one takes, and the first equality.
    let probe_dir = tempfile::tempdir().expect("tempdir");
    let t0 = Instant::now();
    let args: Vec<&str> = base.iter().copied().chain(["--group", "probe"]).collect();
    assert!(!trial_run(
        &brokers,
        "reclock",
        probe_dir.path(),
        &args,
        None,
        None
    ));
    let full = t0.elapsed();
    let once = assemble(probe_dir.path(), &cfg).expect("changelog");
    assert!(
        once.summary.late > 0,
        "the feed has late records under lateness 0"
    );
    assert_same_outputs(
        &once,
        &replay_of_assignment(probe_dir.path(), &items, &cfg),
        "uninterrupted",
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut kills, mut resumed, mut equal) = (0, 0, 1);
    for trial in 0..trials {
        let dir = tempfile::tempdir().expect("tempdir");
        let group = format!("reclock-{trial}");
        let args: Vec<&str> = base.iter().copied().chain(["--group", &group]).collect();
        // The two crash points in either order (each run reaches them: it has frames to
        // write), then one or two kills at random times.
        let mut plan: Vec<(Option<String>, Option<Duration>)> = vec![
            (Some(format!("durable:{}", rng.random_range(1..=4))), None),
            (Some(format!("committed:{}", rng.random_range(1..=4))), None),
        ];
        plan.shuffle(&mut rng);
        for _ in 0..rng.random_range(1..=2) {
            plan.push((None, Some(full.mul_f64(rng.random_range(0.1..0.7)))));
        }
        let mut at_points = 0;
        for (crash_at, kill_after) in &plan {
            let killed = trial_run(
                &brokers,
                "reclock",
                dir.path(),
                &args,
                crash_at.as_deref(),
                *kill_after,
            );
            kills += killed as u64;
            at_points += (killed && crash_at.is_some()) as u64;
        }
        assert!(
            !trial_run(&brokers, "reclock", dir.path(), &args, None, None),
            "the final run ends by itself"
        );
        let stats: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("live.json")).expect("live.json"),
        )
        .expect("JSON");
        resumed += (stats["resumed_from"].as_u64() > Some(0)) as u64;
        let got = assemble(dir.path(), &cfg).expect("changelog");
        assert!(got.summary.late > 0, "trial {trial}: records were late");
        let want = replay_of_assignment(dir.path(), &items, &cfg);
        assert_same_outputs(&got, &want, &format!("trial {trial} ({plan:?})"));
        equal += 1;
        eprintln!(
            "crash trial {trial}: {plan:?}, {at_points} crash points reached, final run {stats}"
        );
        assert_eq!(
            at_points, 2,
            "trial {trial}: both crash points were reached"
        );
    }
    eprintln!(
        "crash trials: {trials} trials, {kills} kills, {resumed} final runs resumed from durable results, {equal} equalities with the replay of the assignment"
    );
    assert!(
        trials == 0 || resumed > 0,
        "some final run resumed from durable results"
    );
}

/// The noisy feed with three records whose event times cannot be right: one in microseconds,
/// one with a digit flipped (30 days ahead), one two days ahead of the wall clock. Returns the feed
/// and the three positions.
fn with_future_times(items: &[Payload]) -> (Vec<Payload>, Vec<u64>) {
    let mut items = items.to_vec();
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis() as i64;
    let n = items.len();
    let mut at = Vec::new();
    for (k, shift) in [(n / 4, 0), (n / 2, 1), (3 * n / 4, 2)] {
        let Payload::Decoded(r) = &mut items[k] else {
            panic!("the simulator writes decoded records");
        };
        r.ts = match shift {
            0 => r.ts * 1_000,
            1 => r.ts + 30 * 86_400_000,
            _ => wall + 2 * 86_400_000,
        };
        at.push(k as u64);
    }
    (items, at)
}

#[test]
fn future_timestamps_are_refused_live_and_again_after_restarts() {
    // The clock guard in a live run: each partition's guard holds and refuses the two records
    // far ahead of the feed clock; the one ahead of the wall clock is refused when read. Runs
    // stopped at random points and restarted give the same dead letters (the changelog keeps
    // every refusal) and the replay's outputs, with no record late.
    let mock = cluster();
    let brokers = mock.bootstrap_servers();
    let (items, bad) = with_future_times(&feed(6, 73));
    produce(&mock, "future", 2, &items);
    let want = replayed(&items, POLICIES);
    let future = |o: &Outputs| -> Vec<u64> {
        let mut v: Vec<u64> = o
            .dead_letters
            .iter()
            .filter(|d| d.reason == oddsflow_dataflows::reject::RejectReason::FutureTs)
            .map(|d| d.seq)
            .collect();
        v.sort();
        v
    };
    assert_eq!(future(&want), bad, "the replay refuses the three");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for _ in 0..2 {
        let mut cfg = live_config(&brokers, "future", dir.path(), POLICIES);
        cfg.exit_when_idle_ms = None;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        cfg.stop = Some(stop.clone());
        let run = std::thread::spawn(move || run_live(&cfg, None, timely::Config::thread()));
        std::thread::sleep(Duration::from_millis(rng.random_range(300..1500)));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        run.join().expect("the run ends").expect("no error");
    }
    let cfg = live_config(&brokers, "future", dir.path(), POLICIES);
    let (got, _) = run_live(&cfg, None, timely::Config::thread())
        .expect("live run")
        .expect("worker 0");
    assert_eq!(future(&got), bad);
    assert_eq!(got.summary.late, 0);
    // Live, the record in microseconds is refused against the wall clock when read (before the
    // feed clock's guard could): the same verdict with another detail.
    let (mut got, mut want) = (got, want);
    for o in [&mut got, &mut want] {
        for d in &mut o.dead_letters {
            if d.reason == oddsflow_dataflows::reject::RejectReason::FutureTs {
                d.detail.clear();
            }
        }
    }
    assert_same_outputs(&got, &want, "restarted, with future timestamps");
}
