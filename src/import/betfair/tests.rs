//! The tests of both importers, on the excerpts in `fixtures/real/betfair` and, where present,
//! the whole of `../shared/data`.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use oddsflow_dataflows::model::Fixture;

use super::csv::{a_league_team, csv_market_kind, parse_goals, season_of_name, season_of_time};
use super::*;
use crate::import::{stable_id, team_id};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/real/betfair")
        .join(name)
}

fn run(paths: &[PathBuf]) -> Imported<BetfairReport> {
    let imp = import(paths).expect("import");
    check_feed(&imp.records);
    imp
}

/// What ingest requires of any feed: a fixture at or before every record of its match,
/// versions growing with time per key, prices > 1, markets listing distinct selections.
fn check_feed(records: &[Record]) {
    let mut fixture_at: HashMap<MatchId, EventTime> = HashMap::new();
    let mut last: HashMap<_, (EventTime, Version)> = HashMap::new();
    let mut prev_ts = EventTime::MIN;
    for r in records {
        assert!(r.ts >= prev_ts, "records in time order");
        prev_ts = r.ts;
        assert!(r.ts >= 0 && r.version() > 0, "{r:?}");
        if let Body::Fixture(f) = &r.body {
            fixture_at.entry(r.match_id).or_insert(r.ts);
            assert_ne!(f.home.id, f.away.id);
        }
        let at = fixture_at.get(&r.match_id);
        assert!(at.is_some_and(|t| *t <= r.ts), "no fixture before {r:?}");
        if let Some((ts, v)) = last.insert(r.key(), (r.ts, r.version())) {
            assert!(ts <= r.ts && v < r.version(), "versions of {:?}", r.key());
        }
        match &r.body {
            Body::Odds(o) => {
                assert!(o.price.0.is_finite() && o.price.0 > 1.0, "{r:?}");
                assert!(!o.modelled);
            }
            Body::Market(m) => {
                let mut s = m.selections.clone();
                s.sort();
                s.dedup();
                assert!(!s.is_empty() && s.len() == m.selections.len(), "{r:?}");
            }
            _ => {}
        }
    }
}

fn of_match(records: &[Record], m: MatchId) -> Vec<&Record> {
    records.iter().filter(|r| r.match_id == m).collect()
}

fn markets(records: &[&Record], kind: MarketKind) -> Vec<(EventTime, Market)> {
    records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Market(m) if m.market == kind => Some((r.ts, m.clone())),
            _ => None,
        })
        .collect()
}

fn odds_at(records: &[&Record], kind: MarketKind, ts: EventTime) -> BTreeMap<Selection, f64> {
    records
        .iter()
        .filter(|r| r.ts == ts)
        .filter_map(|r| match &r.body {
            Body::Odds(o) if o.market == kind => Some((o.selection, o.price.0)),
            _ => None,
        })
        .collect()
}

fn results(records: &[&Record]) -> Vec<(EventTime, MatchResult)> {
    records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Result(x) => Some((r.ts, *x)),
            _ => None,
        })
        .collect()
}

fn fixtures(records: &[&Record]) -> Vec<Fixture> {
    records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Fixture(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

fn betfair_id(event: &str) -> MatchId {
    stable_id(&["betfair", event])
}

/// Plays a recording's `atb` deltas (no market state): the best back price of every runner
/// after each message, by publish time.
fn source_best_backs(path: &Path) -> HashMap<EventTime, Vec<f64>> {
    let text = read_text(path).unwrap();
    let mut ladders: HashMap<(String, u64, String), BTreeMap<F64, f64>> = HashMap::new();
    let mut best: HashMap<EventTime, Vec<f64>> = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let msg: Value = serde_json::from_str(line).unwrap();
        let pt = msg["pt"].as_i64().unwrap();
        for mc in msg["mc"].as_array().into_iter().flatten() {
            let market = mc["id"].as_str().unwrap().to_string();
            if mc["img"].as_bool() == Some(true) {
                ladders.retain(|k, _| k.0 != market);
            }
            for rc in mc["rc"].as_array().into_iter().flatten() {
                let key = (
                    market.clone(),
                    rc["id"].as_u64().unwrap(),
                    rc.get("hc").map(|h| h.to_string()).unwrap_or_default(),
                );
                let l = ladders.entry(key).or_default();
                for lv in rc["atb"].as_array().into_iter().flatten() {
                    let (p, s) = (lv[0].as_f64().unwrap(), lv[1].as_f64().unwrap());
                    if s == 0.0 {
                        l.remove(&F64(p));
                    } else {
                        l.insert(F64(p), s);
                    }
                }
            }
        }
        let v = best.entry(pt).or_default();
        v.extend(
            ladders
                .values()
                .filter_map(|l| l.keys().next_back().map(|p| p.0)),
        );
    }
    best
}

#[test]
fn btts_recording_opens_suspends_closes_and_settles_as_betfair_marked_it() {
    let path = fixture("mzaja_betfair_database__1.145405534.bz2");
    let imp = run(std::slice::from_ref(&path));
    assert!(imp.report.skipped.is_empty(), "{:#?}", imp.report.skipped);
    assert_eq!(
        (
            imp.report.files,
            imp.report.events,
            imp.report.markets,
            imp.report.results
        ),
        (1, 1, 1, 1)
    );
    let recs = of_match(&imp.records, betfair_id("28796969"));
    assert_eq!(recs.len(), imp.records.len());
    // The fixture follows the market's move from 15:30 to 17:30.
    let fx = fixtures(&recs);
    assert_eq!(fx.len(), 2);
    let f = fx.last().unwrap();
    assert_eq!(f.kickoff, utc_ms(2018, 7, 22, 17, 30, 0));
    assert_eq!(fx[0].kickoff, utc_ms(2018, 7, 22, 15, 30, 0));
    assert_eq!(
        (f.home.name.as_str(), f.away.name.as_str()),
        ("Slavia Sofia", "Beroe Stara Za")
    );
    assert_eq!(f.home.id, team_id("Slavia Sofia"));
    assert_eq!(
        (f.league.as_str(), f.season.as_str()),
        ("Betfair BG", "2018")
    );

    let m = markets(&recs, MarketKind::Btts);
    let states: Vec<(MarketStatus, Phase)> = m.iter().map(|(_, m)| (m.status, m.phase)).collect();
    assert_eq!(
        states,
        [
            (MarketStatus::Open, Phase::Prematch),
            (MarketStatus::Suspended, Phase::Prematch),
            (MarketStatus::Closed, Phase::Prematch)
        ]
    );
    assert!(
        m.iter()
            .all(|(_, m)| m.selections == [Selection::Yes, Selection::No])
    );
    assert_eq!(m[1].0, 1_532_278_005_989, "suspended at the message's pt");

    // Settled at settledTime with the smallest score where both teams scored.
    let res = results(&recs);
    assert_eq!(res.len(), 1);
    let (ts, result) = res[0];
    assert_eq!(ts, utc_ms(2018, 7, 22, 19, 13, 28));
    assert_eq!(result.full_time, Score { home: 1, away: 1 });
    let facts = MatchFacts {
        full_time: result.full_time,
        corners: result.corners,
        goals: vec![],
        abandoned: false,
        no_result: false,
    };
    let listed = [Selection::Yes, Selection::No];
    assert_eq!(
        settle(MarketKind::Btts, Selection::Yes, &listed, &facts),
        Ok(Outcome::Won),
        "Yes was marked WINNER"
    );
    assert_eq!(
        settle(MarketKind::Btts, Selection::No, &listed, &facts),
        Ok(Outcome::Lost),
        "No was marked LOSER"
    );
    assert!(
        recs.iter().any(|r| r.ts == ts
            && matches!(r.body, Body::Status(s) if s.status == MatchStatus::Finished))
    );
}

#[test]
fn stream_odds_are_best_back_prices_of_the_source_at_that_time() {
    for name in [
        "mzaja_betfair_database__1.145405534.bz2",
        "limx0_betfair_parser__1.242971311.head100.bz2",
    ] {
        let path = fixture(name);
        let imp = run(std::slice::from_ref(&path));
        let best = source_best_backs(&path);
        let mut n = 0;
        for r in &imp.records {
            if let Body::Odds(o) = &r.body {
                n += 1;
                let at = best.get(&r.ts).map(Vec::as_slice).unwrap_or(&[]);
                assert!(
                    at.contains(&o.price.0),
                    "{name}: {r:?} is no runner's best back at {}",
                    r.ts
                );
            }
        }
        assert!(n > 10, "{name}: {n} odds");
        assert_eq!(n, imp.report.odds);
    }
    // Exactly: the Yes runner's best back, each change while the market is open.
    let path = fixture("mzaja_betfair_database__1.145405534.bz2");
    let imp = run(std::slice::from_ref(&path));
    let text = read_text(&path).unwrap();
    let mut ladder: BTreeMap<F64, f64> = BTreeMap::new();
    let mut open = false;
    let mut expected = Vec::new();
    for line in text.lines() {
        let msg: Value = serde_json::from_str(line).unwrap();
        for mc in msg["mc"].as_array().into_iter().flatten() {
            if let Some(st) = mc["marketDefinition"]["status"].as_str() {
                open = st == "OPEN";
            }
            for rc in mc["rc"].as_array().into_iter().flatten() {
                if rc["id"].as_u64() != Some(30246) {
                    continue;
                }
                for lv in rc["atb"].as_array().into_iter().flatten() {
                    let (p, s) = (lv[0].as_f64().unwrap(), lv[1].as_f64().unwrap());
                    if s == 0.0 {
                        ladder.remove(&F64(p));
                    } else {
                        ladder.insert(F64(p), s);
                    }
                }
            }
        }
        let b = ladder.keys().next_back().map(|p| p.0);
        if open
            && let Some(b) = b
            && expected.last() != Some(&b)
        {
            expected.push(b);
        }
    }
    let got: Vec<f64> = imp
        .records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Odds(o) if o.selection == Selection::Yes => Some(o.price.0),
            _ => None,
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn nameless_recording_maps_match_odds_and_every_asian_handicap_line() {
    let path = fixture("limx0_betfair_parser__1.242971311.head100.bz2");
    let imp = run(std::slice::from_ref(&path));
    let text = read_text(&path).unwrap();
    let mut events = BTreeSet::new();
    for line in text.lines() {
        let msg: Value = serde_json::from_str(line).unwrap();
        for mc in msg["mc"].as_array().into_iter().flatten() {
            if let Some(e) = mc["marketDefinition"]["eventId"].as_str() {
                events.insert(e.to_string());
            }
        }
    }
    assert_eq!(imp.report.events, events.len());
    assert_eq!(
        imp.report.results, 0,
        "nothing settles in a prematch recording"
    );
    for r in &imp.records {
        if let Body::Market(m) = &r.body {
            assert_eq!(m.status, MarketStatus::Open);
            assert_eq!(m.phase, Phase::Prematch);
            match m.market {
                MarketKind::MatchOdds => assert_eq!(
                    m.selections,
                    [Selection::Home, Selection::Away, Selection::Draw]
                ),
                MarketKind::AsianHandicap { .. } => {
                    assert_eq!(m.selections, [Selection::Home, Selection::Away])
                }
                k => panic!("unexpected {k:?}"),
            }
        }
    }
    // Event 34258638: teams named by their selection ids (home = sortPriority 1), 33 lines
    // from -4 to +4 for the home side.
    let recs = of_match(&imp.records, betfair_id("34258638"));
    let f = &fixtures(&recs)[0];
    assert_eq!(f.home.name, "Betfair selection 9163");
    assert_eq!(f.away.name, "Betfair selection 10779");
    assert_eq!(f.kickoff, utc_ms(2025, 5, 9, 19, 0, 0));
    assert_eq!(
        (f.league.as_str(), f.season.as_str()),
        ("Betfair ES", "2025")
    );
    let lines: BTreeSet<Line> = recs
        .iter()
        .filter_map(|r| match &r.body {
            Body::Market(Market {
                market: MarketKind::AsianHandicap { line },
                ..
            }) => Some(*line),
            _ => None,
        })
        .collect();
    assert_eq!(lines.len(), 33);
    assert_eq!(lines.first(), Line::from_goals(-4.0).as_ref());
    assert_eq!(lines.last(), Line::from_goals(4.0).as_ref());
    assert!(!markets(&recs, MarketKind::MatchOdds).is_empty());
}

#[test]
fn stream_deltas_images_removals_in_play_and_settlement() {
    let dir = tempfile::tempdir().unwrap();
    let def = |status: &str, in_play: bool, b: &str, settled: &str| {
        format!(
            r#"{{"eventId":"77","eventName":"Alpha v Beta","marketType":"MATCH_ODDS","marketTime":"2024-03-02T15:00:00.000Z","status":"{status}","inPlay":{in_play},"countryCode":"GB","runners":[{{"id":1,"name":"Alpha","status":"{a}","sortPriority":1}},{{"id":2,"name":"Beta","status":"{b}","sortPriority":2}},{{"id":58805,"name":"The Draw","status":"{d}","sortPriority":3}}]{settled}}}"#,
            a = if status == "CLOSED" {
                "WINNER"
            } else {
                "ACTIVE"
            },
            d = if status == "CLOSED" {
                "LOSER"
            } else {
                "ACTIVE"
            },
        )
    };
    let ou = |status: &str, over: &str, under: &str| {
        format!(
            r#"{{"eventId":"77","eventName":"Alpha v Beta","marketType":"OVER_UNDER_25","marketTime":"2024-03-02T15:00:00.000Z","status":"{status}","inPlay":true,"runners":[{{"id":47972,"name":"Under 2.5 Goals","status":"{under}","sortPriority":1}},{{"id":47973,"name":"Over 2.5 Goals","status":"{over}","sortPriority":2}}]}}"#
        )
    };
    let lines = [
        format!(
            r#"{{"op":"mcm","pt":1000,"mc":[{{"id":"1.1","img":true,"marketDefinition":{},"rc":[{{"id":1,"atb":[[2.0,10],[2.1,5]]}},{{"id":2,"atb":[[3.5,4]]}},{{"id":58805,"atb":[[3.3,2]]}}]}}]}}"#,
            def("OPEN", false, "ACTIVE", "")
        ),
        r#"{"op":"mcm","pt":2000,"mc":[{"id":"1.1","rc":[{"id":1,"atb":[[2.1,0]]}]}]}"#.into(),
        r#"{"op":"mcm","pt":3000,"mc":[{"id":"1.1","img":true,"rc":[{"id":1,"atb":[[3.0,1]]}]}]}"#.into(),
        r#"{"op":"mcm","pt":4000,"mc":[{"id":"1.1","rc":[{"id":1,"atb":[[3.0,0]]}]}]}"#.into(),
        "this is not json".into(),
        r#"{"op":"status","id":1,"statusCode":"SUCCESS"}"#.into(),
        r#"{"op":"mcm","pt":4500,"mc":[{"id":"1.9","marketDefinition":{"eventId":"77","eventName":"Alpha v Beta","marketType":"CORRECT_SCORE","status":"OPEN","inPlay":false,"runners":[{"id":9,"name":"1 - 0"}]}}]}"#.into(),
        r#"{"op":"mcm","pt":4600,"mc":[{"id":"1.8","marketDefinition":{"eventId":"99","eventTypeId":"7","eventName":"Horse v Cart","marketType":"WIN","status":"OPEN","inPlay":false,"runners":[{"id":5}]}}]}"#.into(),
        format!(
            r#"{{"op":"mcm","pt":5000,"mc":[{{"id":"1.1","marketDefinition":{},"rc":[{{"id":1,"atb":[[2.2,1]]}}]}}]}}"#,
            def("OPEN", false, "REMOVED", "")
        ),
        format!(
            r#"{{"op":"mcm","pt":6000,"mc":[{{"id":"1.1","marketDefinition":{}}},{{"id":"1.2","marketDefinition":{},"rc":[{{"id":47973,"atb":[[1.9,3]]}}]}}]}}"#,
            def("OPEN", true, "REMOVED", ""),
            ou("OPEN", "ACTIVE", "ACTIVE")
        ),
        format!(
            r#"{{"op":"mcm","pt":9000,"mc":[{{"id":"1.2","marketDefinition":{}}}]}}"#,
            ou("CLOSED", "WINNER", "LOSER")
        ),
        format!(
            r#"{{"op":"mcm","pt":9500,"mc":[{{"id":"1.1","marketDefinition":{}}}]}}"#,
            def("CLOSED", true, "REMOVED", r#","settledTime":"2024-03-02T17:00:00.000Z""#)
        ),
    ];
    let path = dir.path().join("synthetic.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let imp = run(std::slice::from_ref(&path));
    let recs: Vec<&Record> = imp.records.iter().collect();
    let home: Vec<(EventTime, f64)> = recs
        .iter()
        .filter_map(|r| match &r.body {
            Body::Odds(o)
                if o.market == MarketKind::MatchOdds && o.selection == Selection::Home =>
            {
                Some((r.ts, o.price.0))
            }
            _ => None,
        })
        .collect();
    // 2.1 best; 2.1 removed → 2.0; image → 3.0; 3.0 removed → empty (the 2.0 of before the
    // image is gone); 2.2.
    assert_eq!(home, [(1000, 2.1), (2000, 2.0), (3000, 3.0), (5000, 2.2)]);
    let mo = markets(&recs, MarketKind::MatchOdds);
    let seen: Vec<(EventTime, MarketStatus, Phase, usize)> = mo
        .iter()
        .map(|(t, m)| (*t, m.status, m.phase, m.selections.len()))
        .collect();
    assert_eq!(
        seen,
        [
            (1000, MarketStatus::Open, Phase::Prematch, 3),
            (5000, MarketStatus::Open, Phase::Prematch, 2),
            (6000, MarketStatus::Open, Phase::InPlay, 2),
            (9500, MarketStatus::Closed, Phase::InPlay, 2),
        ]
    );
    assert_eq!(mo[1].1.selections, [Selection::Home, Selection::Draw]);
    assert!(recs.iter().any(|r| r.ts == 6000
        && matches!(r.body, Body::Status(s) if s.status == MatchStatus::FirstHalf && s.clock_s == 0)));
    let line = Line::from_goals(2.5).unwrap();
    let over = markets(&recs, MarketKind::OverUnder { line });
    assert_eq!(over[0].1.selections, [Selection::Under, Selection::Over]);
    assert_eq!(
        odds_at(&recs, MarketKind::OverUnder { line }, 6000),
        BTreeMap::from([(Selection::Over, 1.9)])
    );
    // Home won and over 2.5: 2-1 is the smallest such score; the result comes at the last
    // settlement (17:00, after the over/under's pt 9000).
    assert_eq!(
        results(&recs),
        [(
            utc_ms(2024, 3, 2, 17, 0, 0),
            MatchResult {
                version: results(&recs)[0].1.version,
                half_time: Score::default(),
                full_time: Score { home: 2, away: 1 },
                corners: None
            }
        )]
    );
    let sk = &imp.report.skipped;
    assert_eq!(sk.len(), 4, "{sk:#?}");
    assert!(
        sk.iter()
            .any(|s| s.contains("1.8") && s.contains("event type 7 is not soccer"))
    );
    assert!(
        of_match(&imp.records, betfair_id("99")).is_empty(),
        "no fixture for an event without an imported market"
    );
    assert!(
        sk.iter()
            .any(|s| s.contains("synthetic.jsonl:5") && s.contains("not a JSON"))
    );
    assert!(
        sk.iter()
            .any(|s| s.contains("synthetic.jsonl:6") && s.contains("\"status\""))
    );
    assert!(
        sk.iter()
            .any(|s| s.contains("1.9") && s.contains("CORRECT_SCORE is not imported"))
    );

    // A pretty-printed message (string ids, batb levels) reads the same.
    let pretty = r#"{
  "op": "mcm", "pt": 100,
  "mc": [ { "id": "1.5",
    "marketDefinition": { "eventId": "88", "eventName": "Gamma v Delta", "marketType": "BOTH_TEAMS_TO_SCORE",
      "status": "OPEN", "inPlay": false, "runners": [ {"id": 30246, "name": "Yes"}, {"id": 110503, "name": "No"} ] },
    "rc": [ { "id": "30246", "batb": [[0, 1.8, 10], [1, 1.7, 5]] } ] } ]
}"#;
    let path = dir.path().join("pretty.json");
    std::fs::write(&path, pretty).unwrap();
    let imp = run(&[path]);
    let recs: Vec<&Record> = imp.records.iter().collect();
    assert_eq!(
        odds_at(&recs, MarketKind::Btts, 100),
        BTreeMap::from([(Selection::Yes, 1.8)])
    );
    assert!(imp.report.skipped.is_empty(), "{:?}", imp.report.skipped);
}

#[test]
fn smallest_score_consistent_with_every_mark() {
    let mark = |kind, selection, won| Mark {
        kind,
        selection,
        listed: vec![],
        won,
    };
    let s = |h, a| Some(Score { home: h, away: a });
    use Selection::{Away, Draw, Home, No, Over, Under, Yes};
    let ou = |g: f64| MarketKind::OverUnder {
        line: Line::from_goals(g).unwrap(),
    };
    assert_eq!(derive_score(&[mark(MarketKind::Btts, Yes, true)]), s(1, 1));
    assert_eq!(derive_score(&[mark(MarketKind::Btts, No, true)]), s(0, 0));
    assert_eq!(
        derive_score(&[
            mark(MarketKind::Btts, No, true),
            mark(MarketKind::MatchOdds, Home, true),
            mark(MarketKind::MatchOdds, Draw, false),
        ]),
        s(1, 0)
    );
    assert_eq!(
        derive_score(&[
            mark(MarketKind::Btts, Yes, true),
            mark(MarketKind::MatchOdds, Away, true),
            mark(ou(3.5), Over, true),
        ]),
        s(1, 3)
    );
    // Home -1.75 with home winning: LOSER at a one-goal win (both halves, -1.5 and -2,
    // lost), WINNER from a two-goal win (half won: -1.5 won, -2 void).
    let ah = MarketKind::AsianHandicap {
        line: Line::from_goals(-1.75).unwrap(),
    };
    assert_eq!(
        derive_score(&[
            mark(MarketKind::MatchOdds, Home, true),
            mark(ah, Home, false)
        ]),
        s(1, 0)
    );
    assert_eq!(
        derive_score(&[
            mark(MarketKind::MatchOdds, Home, true),
            mark(ah, Home, true)
        ]),
        s(2, 0)
    );
    assert_eq!(
        derive_score(&[
            mark(MarketKind::Btts, Yes, true),
            mark(ou(1.5), Under, true)
        ]),
        None
    );
}

#[test]
fn dates_times_and_zones() {
    assert_eq!(
        parse_time("2020-12-28 00:00:00.000 +0000"),
        Some((utc_ms(2020, 12, 28, 0, 0, 0), true))
    );
    assert_eq!(
        parse_time("2023-10-20T09:37:41.000Z"),
        Some((utc_ms(2023, 10, 20, 9, 37, 41), true))
    );
    assert_eq!(
        parse_time("7/10/2022"),
        Some((utc_ms(2022, 10, 7, 0, 0, 0), false))
    );
    assert_eq!(
        parse_time("2021-01-23 17:52:35.250 +1100"),
        Some((utc_ms(2021, 1, 23, 6, 52, 35) + 250, true))
    );
    for bad in [
        "",
        "2021-13-01",
        "31/2/2022",
        "2021-01-01 25:00",
        "x",
        "2021-01-01T10:00+01",
    ] {
        let parsed = parse_time(bad);
        assert!(
            parsed.is_none() || bad.ends_with("+01"),
            "{bad:?} → {parsed:?}"
        );
    }
    assert_eq!(
        parse_time("2021-01-01T10:00+01"),
        Some((utc_ms(2021, 1, 1, 9, 0, 0), true))
    );
    assert_eq!(
        season_of_name("A-League_2020-2021_Match_Odds.csv").as_deref(),
        Some("2020-21")
    );
    assert_eq!(season_of_time(utc_ms(2023, 2, 1, 0, 0, 0)), "2022-23");
}

#[test]
fn a_league_team_names() {
    assert_eq!(
        a_league_team("Western Sydney (W)", true),
        "Western Sydney Wanderers (W)"
    );
    assert_eq!(
        a_league_team("Western Sydney Wanderers (W", true),
        "Western Sydney Wanderers (W)"
    );
    assert_eq!(
        a_league_team("Western sydney (W)", true),
        "Western Sydney Wanderers (W)"
    );
    assert_eq!(
        a_league_team("Western Sydney Wanderers", true),
        "Western Sydney Wanderers (W)"
    );
    assert_eq!(
        a_league_team("Western Sydney Wanderers", false),
        "Western Sydney Wanderers"
    );
    assert_eq!(
        a_league_team("Western United (W)", true),
        "Western United (W)"
    );
    assert_eq!(
        a_league_team("Brisbane Roar FC (W)", true),
        "Brisbane Roar (W)"
    );
    assert_eq!(
        a_league_team("Central Coast (W)", true),
        "Central Coast Mariners (W)"
    );
    assert_eq!(
        a_league_team("Melbourne Victory (", true),
        "Melbourne Victory (W)"
    );
    assert_eq!(
        a_league_team("Melbourne (W)", true),
        "Melbourne (W)",
        "ambiguous"
    );
    assert_eq!(a_league_team("Sydney FC", false), "Sydney FC");
    assert_eq!(
        pair_names(
            "Western Sydney (W)",
            "Western United (W)",
            &["Western United (W)"],
            &["Western Sydney Wanderers (W)"]
        ),
        Some(false)
    );
}

/// The source's rows of a CSV excerpt: (EVENT_ID, HOME_TEAM, AWAY_TEAM, RUNNER_NAME,
/// RUNNER_STATUS, HOME_SCORE, AWAY_SCORE).
fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = read_text(path).unwrap();
    let mut rdr = ::csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Every WINNER row settles Won and every LOSER row Lost against the imported result of its
/// event (runners matched to the fixture's teams by name). Returns the events checked.
fn winners_settle(imp: &Imported<BetfairReport>, rows: &[BTreeMap<String, String>]) -> usize {
    let mut checked = BTreeSet::new();
    for row in rows {
        let mid = betfair_id(&row["EVENT_ID"]);
        let recs = of_match(&imp.records, mid);
        let Some((_, result)) = results(&recs).last().copied() else {
            continue;
        };
        let f = fixtures(&recs).pop().unwrap();
        let name = &row["RUNNER_NAME"];
        let sel = if is_draw_name(name) {
            Selection::Draw
        } else if affinity(name, &f.home.name) > affinity(name, &f.away.name) {
            Selection::Home
        } else {
            Selection::Away
        };
        let want = match row["RUNNER_STATUS"].as_str() {
            "WINNER" => Outcome::Won,
            "LOSER" => Outcome::Lost,
            _ => continue,
        };
        let listed = [Selection::Home, Selection::Draw, Selection::Away];
        assert_eq!(
            settle(
                MarketKind::MatchOdds,
                sel,
                &listed,
                &facts(result.full_time)
            ),
            Ok(want),
            "{row:?} against {result:?}"
        );
        checked.insert(mid);
    }
    checked.len()
}

#[test]
fn a_league_match_odds_with_half_time_prices() {
    let path = fixture("A-League_2020-2021_Match_Odds.excerpt.csv");
    let imp = run(std::slice::from_ref(&path));
    let rows = csv_rows(&path);
    let events: BTreeSet<&str> = rows.iter().map(|r| r["EVENT_ID"].as_str()).collect();
    let scored: BTreeSet<&str> = rows
        .iter()
        .filter(|r| !r["HOME_SCORE"].is_empty())
        .map(|r| r["EVENT_ID"].as_str())
        .collect();
    assert_eq!(events.len(), 3);
    assert_eq!(imp.report.events, events.len());
    assert_eq!(imp.report.results, scored.len());
    assert_eq!(
        imp.report.markets,
        events.len(),
        "one Match Odds market each"
    );
    assert_eq!(winners_settle(&imp, &rows), scored.len());

    // 30177999, Western United v Adelaide United, 0-0; half-time snapshot at 08:52:25.
    let recs = of_match(&imp.records, betfair_id("30177999"));
    let f = &fixtures(&recs)[0];
    assert_eq!(
        (f.home.name.as_str(), f.away.name.as_str()),
        ("Western United", "Adelaide United")
    );
    assert_eq!(
        (f.league.as_str(), f.season.as_str()),
        ("A-League", "2020-21")
    );
    let ht = utc_ms(2020, 12, 28, 8, 52, 25);
    assert_eq!(
        f.kickoff,
        utc_ms(2020, 12, 28, 7, 52, 0),
        "HALF_TIME − 60 min"
    );
    let mo = markets(&recs, MarketKind::MatchOdds);
    let seen: Vec<(EventTime, MarketStatus, Phase)> =
        mo.iter().map(|(t, m)| (*t, m.status, m.phase)).collect();
    assert_eq!(
        seen,
        [
            (f.kickoff - MINUTE, MarketStatus::Open, Phase::Prematch),
            (f.kickoff, MarketStatus::Suspended, Phase::Prematch),
            (ht, MarketStatus::Open, Phase::InPlay),
            (ht + MINUTE, MarketStatus::Suspended, Phase::InPlay),
            (
                f.kickoff + 120 * MINUTE,
                MarketStatus::Closed,
                Phase::InPlay
            ),
        ]
    );
    use Selection::{Away, Draw, Home};
    assert_eq!(
        odds_at(&recs, MarketKind::MatchOdds, f.kickoff - MINUTE),
        BTreeMap::from([(Home, 2.1), (Draw, 3.9), (Away, 3.6)])
    );
    assert_eq!(
        odds_at(&recs, MarketKind::MatchOdds, ht),
        BTreeMap::from([(Home, 2.36), (Draw, 3.15), (Away, 3.9)])
    );
    assert_eq!(results(&recs)[0].1.full_time, Score { home: 0, away: 0 });

    // 30262025 has two Match Odds markets: the one with prices is kept, the other's three
    // rows are skipped; its half-time prices are empty, so no in-play snapshot.
    let recs = of_match(&imp.records, betfair_id("30262025"));
    assert!(
        markets(&recs, MarketKind::MatchOdds)
            .iter()
            .all(|(_, m)| m.phase == Phase::Prematch)
    );
    let sk = &imp.report.skipped;
    assert_eq!(
        sk.iter()
            .filter(|s| s.contains("market 178680214 is a second"))
            .count(),
        3,
        "{sk:#?}"
    );
    assert!(
        sk.iter()
            .any(|s| s.contains("30262025") && s.contains("half-time prices missing"))
    );
    assert_eq!(sk.len(), 4, "{sk:#?}");
}

#[test]
fn a_league_season_without_half_time_column() {
    let path = fixture("A-League_2022-2023_Match_Odds.excerpt.csv");
    let imp = run(std::slice::from_ref(&path));
    let rows = csv_rows(&path);
    let events: BTreeSet<&str> = rows.iter().map(|r| r["EVENT_ID"].as_str()).collect();
    assert_eq!(
        (imp.report.events, imp.report.results),
        (events.len(), events.len())
    );
    assert_eq!(winners_settle(&imp, &rows), events.len());
    assert!(
        !imp.records
            .iter()
            .any(|r| matches!(&r.body, Body::Market(m) if m.phase == Phase::InPlay))
    );
    assert_eq!(imp.report.skipped.len(), 1, "{:?}", imp.report.skipped);
    assert!(imp.report.skipped[0].contains("no HALF_TIME column"));
    let recs = of_match(&imp.records, betfair_id("31766313"));
    let f = &fixtures(&recs)[0];
    assert_eq!(
        f.kickoff,
        utc_ms(2022, 10, 7, 0, 0, 0),
        "7/10/2022 is 7 October"
    );
    assert_eq!(f.season, "2022-23");
    // 31872507: HOME_TEAM/AWAY_TEAM are swapped against the event name "Newcastle Jets v
    // Melbourne City"; the score 1-2 follows the event name and Melbourne City won.
    let recs = of_match(&imp.records, betfair_id("31872507"));
    let f = &fixtures(&recs)[0];
    assert_eq!(
        (f.home.name.as_str(), f.away.name.as_str()),
        ("Newcastle Jets", "Melbourne City")
    );
    assert_eq!(results(&recs)[0].1.full_time, Score { home: 1, away: 2 });
}

#[test]
fn a_league_women_names_and_all_markets() {
    let mo = fixture("A-League_Womens_2021-2022_Match_Odds.excerpt.csv");
    let all = fixture("A-League_Womens_2021-2022_All_Markets.excerpt.csv");
    let imp = run(&[mo.clone(), all.clone()]);
    let rows = csv_rows(&mo);
    let events: BTreeSet<&str> = rows.iter().map(|r| r["EVENT_ID"].as_str()).collect();
    assert_eq!(
        (imp.report.events, imp.report.results),
        (events.len(), events.len())
    );
    assert_eq!(winners_settle(&imp, &rows), events.len());
    // "Western Sydney (W)" is the runner of "Western Sydney Wanderers (W": away, winner 0-1.
    let recs = of_match(&imp.records, betfair_id("31161686"));
    let f = &fixtures(&recs)[0];
    assert_eq!(f.league, "A-League Women");
    assert_eq!(f.away.name, "Western Sydney Wanderers (W)");
    assert_eq!(f.home.name, "Brisbane Roar (W)");
    assert_eq!(results(&recs)[0].1.full_time, Score { home: 0, away: 1 });
    // A women's team written without "(W)" is still the women's team.
    let recs = of_match(&imp.records, betfair_id("31107484"));
    assert_eq!(fixtures(&recs)[0].away.name, "Western Sydney Wanderers (W)");

    // 31107467 in both files: Match Odds with the 60/30-min prices of All_Markets and the
    // kick-off price of Match_Odds; over/under lines and double chance from All_Markets, all
    // settling as Betfair marked them.
    let recs = of_match(&imp.records, betfair_id("31107467"));
    let f = &fixtures(&recs)[0];
    assert_eq!(f.kickoff, utc_ms(2021, 12, 3, 9, 3, 0));
    let k = f.kickoff;
    use Selection::{Away, Draw, DrawOrAway, Home, HomeOrAway, HomeOrDraw};
    assert_eq!(markets(&recs, MarketKind::MatchOdds)[0].0, k - 60 * MINUTE);
    assert_eq!(
        odds_at(&recs, MarketKind::MatchOdds, k - 60 * MINUTE),
        BTreeMap::from([(Home, 1.84), (Draw, 4.2), (Away, 4.2)])
    );
    // 1 min: kick-off prices 1.87/4.1/4.1 (the All_Markets 1-min prices are the same here
    // except none); only changes are sent.
    assert_eq!(
        odds_at(&recs, MarketKind::MatchOdds, k - MINUTE),
        BTreeMap::from([(Home, 1.87), (Draw, 4.1)])
    );
    let result = results(&recs)[0].1;
    assert_eq!(result.full_time, Score { home: 0, away: 1 });
    let all_rows = csv_rows(&all);
    let mut settled = 0;
    for row in &all_rows {
        let Some(kind) = csv_market_kind(&row["MARKET_TYPE"], &row["MARKET_NAME"]) else {
            continue;
        };
        let m = markets(&recs, kind);
        assert!(!m.is_empty(), "{kind:?} imported");
        let listed = m[0].1.selections.clone();
        let sel = match kind {
            MarketKind::OverUnder { .. } => over_under_selection(&row["RUNNER_NAME"]).unwrap(),
            MarketKind::DoubleChance => match row["RUNNER_NAME"].as_str() {
                "Home or Draw" => HomeOrDraw,
                "Draw or Away" => DrawOrAway,
                _ => HomeOrAway,
            },
            _ => continue,
        };
        let want = if row["RUNNER_STATUS"] == "WINNER" {
            Outcome::Won
        } else {
            Outcome::Lost
        };
        assert_eq!(
            settle(kind, sel, &listed, &facts(result.full_time)),
            Ok(want),
            "{row:?}"
        );
        settled += 1;
    }
    assert_eq!(
        settled,
        2 * 9 + 3,
        "nine over/under lines (0.5 to 8.5) and double chance"
    );
    let sk = &imp.report.skipped;
    assert!(
        sk.iter().any(|s| s.contains("\"Asian Handicap\" skipped")),
        "{sk:#?}"
    );
    assert!(sk.iter().any(|s| s.contains("\"Correct Score\" skipped")));
    assert!(!sk.iter().any(|s| s.contains("settles it")), "{sk:#?}");
}

#[test]
fn a_league_rows_that_disagree_or_are_broken_are_skipped_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let header = "EVENT_DATE,PATH,EVENT_ID,MARKET_TYPE,MARKET_ID,MARKET_NAME,SELECTION_ID,RUNNER_NAME,RUNNER_STATUS,IS_WINNER,TOTAL_GOALS,HOME_TEAM,AWAY_TEAM,HOME_MARGIN,HOME_SCORE,AWAY_SCORE,BEST_BACK_KICK_OFF,BEST_LAY_KICK_OFF,MATCHED_VOLUME_KICK_OFF,HALF_TIME,BEST_BACK_PRICE_HALF_TIME,BEST_LAY_PRICE_HALF_TIME,MATCHED_VOLUME_HALF_TIME,TOTAL_MATCHED_VOLUME";
    let row = |event: &str,
               sel: &str,
               runner: &str,
               status: &str,
               score: &str,
               ko: &str,
               ht: &str| {
        format!(
            "2023-10-20T00:00:00.000Z,A/B/Fixtures 20 Oct/Perth Glory v Sydney FC,{event},MATCH_ODDS,9{event},Match Odds,{sel},{runner},{status},0,1,Perth Glory,Sydney FC,0,{score},{ko},1,1,2023-10-20T09:37:41.000Z,{ht},1,1,1"
        )
    };
    let text = [
        header.to_string(),
        // 1: Perth won per Betfair, but the score says 0-1.
        row("1", "11", "Perth Glory", "WINNER", "0,1", "2.5", "1.5"),
        row("1", "12", "Sydney FC", "LOSER", "0,1", "3", "4"),
        row("1", "58805", "The Draw", "LOSER", "0,1", "3.2", "abc"),
        // 2: no score; a price of 1.0.
        row("2", "11", "Perth Glory", "WINNER", ",", "1.0", "1.5"),
        row("2", "12", "Sydney FC", "LOSER", ",", "3", "4"),
        row("2", "58805", "The Draw", "LOSER", ",", "3.2", "5"),
        // 3: a runner named like neither team, and a bad date.
        row("3", "11", "Perth Glory", "LOSER", "1,1", "2.5", "1.5"),
        row("3", "13", "Someone Else", "LOSER", "1,1", "3", "4"),
        row("3", "58805", "The Draw", "WINNER", "1,1", "3.2", "5"),
        "nonsense,x,4,MATCH_ODDS,94,Match Odds,1,A,WINNER,1,1,A,B,0,1,0,2,2,1,,,,,".into(),
    ]
    .join("\n");
    let path = dir.path().join("A-League_2023-2024_Match_Odds.csv");
    std::fs::write(&path, text).unwrap();
    let imp = run(std::slice::from_ref(&path));
    assert_eq!(imp.report.events, 3);
    assert_eq!(imp.report.results, 0, "{:#?}", imp.report.skipped);
    let sk = &imp.report.skipped;
    let has = |line: usize, what: &str| {
        sk.iter()
            .any(|s| s.contains(&format!("Match_Odds.csv:{line}:")) && s.contains(what))
    };
    assert!(
        has(2, "is marked WINNER but the score 0-1 settles it Lost"),
        "{sk:#?}"
    );
    assert!(has(4, "BEST_BACK_PRICE_HALF_TIME \"abc\""), "{sk:#?}");
    assert!(
        has(5, "BEST_BACK_KICK_OFF \"1.0\" is not a price > 1"),
        "{sk:#?}"
    );
    assert!(has(5, "no readable final score"), "{sk:#?}");
    assert!(has(9, "Someone Else"), "{sk:#?}");
    assert!(has(11, "unreadable EVENT_DATE"), "{sk:#?}");
    // Event 1: half-time snapshot skipped (the draw's half-time price is unreadable).
    let recs = of_match(&imp.records, betfair_id("1"));
    assert!(
        markets(&recs, MarketKind::MatchOdds)
            .iter()
            .all(|(_, m)| m.phase == Phase::Prematch)
    );
    assert_eq!(fixtures(&recs)[0].league, "A-League");
}

/// The whole shared data set, where this checkout has it.
#[test]
fn full_shared_data_when_present() {
    let (Some(aleague), Some(streams)) = (
        crate::import::shared_data("betfair-aleague"),
        crate::import::shared_data("betfair-stream-fixtures"),
    ) else {
        return;
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&aleague)
        .unwrap()
        .chain(std::fs::read_dir(&streams).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let imp = run(&paths);
    let r = &imp.report;
    eprintln!(
        "files {} events {} markets {} odds {} results {} skipped {}",
        r.files,
        r.events,
        r.markets,
        r.odds,
        r.results,
        r.skipped.len()
    );
    for s in r.skipped.iter().filter(|s| s.contains("settles it")) {
        eprintln!("  {s}");
    }
    for what in [
        "no readable final score",
        "no marketDefinition",
        "is a second",
        "half-time prices missing",
        "unreadable score",
        "market type not imported",
        "is not imported",
    ] {
        let n = r.skipped.iter().filter(|s| s.contains(what)).count();
        eprintln!("  {n:4} skipped lines with {what:?}");
    }
    // Every Match_Odds event with a score has a result, unless Betfair's WINNER disagrees
    // with the score (a skipped line says so); every result agrees with the WINNER rows.
    let mut disagreements = BTreeSet::new();
    let mut scored = BTreeSet::new();
    let mut all_rows = Vec::new();
    for p in paths
        .iter()
        .filter(|p| p.to_string_lossy().contains("Match_Odds"))
    {
        let rows = csv_rows(p);
        for row in &rows {
            // Whole numbers only: some rows carry scores like "5.625"-"1.375".
            if parse_goals(&row["HOME_SCORE"]).is_some()
                && parse_goals(&row["AWAY_SCORE"]).is_some()
            {
                scored.insert(row["EVENT_ID"].clone());
            }
        }
        all_rows.extend(rows);
    }
    for id in &scored {
        let has_result = !results(&of_match(&imp.records, betfair_id(id))).is_empty();
        let disagrees = r
            .skipped
            .iter()
            .any(|s| s.contains(&format!("event {id} ")) && s.contains("settles it"));
        assert!(
            has_result != disagrees,
            "event {id}: result {has_result}, disagreement {disagrees}"
        );
        if disagrees {
            disagreements.insert(id.clone());
        }
    }
    eprintln!("scored {} disagreements {disagreements:?}", scored.len());
    // The two events of 27 Dec 2022 whose score columns contradict Betfair's settlement
    // (e.g. Adelaide United v Newcastle Jets 1-0 with Newcastle the WINNER).
    assert_eq!(
        disagreements,
        BTreeSet::from(["31967376".to_string(), "31967377".to_string()])
    );
    assert_eq!(
        winners_settle(&imp, &all_rows),
        scored.len() - disagreements.len()
    );
    // The BTTS recording settles; the prematch recording does not.
    assert_eq!(
        results(&of_match(&imp.records, betfair_id("28796969"))).len(),
        1
    );
}
