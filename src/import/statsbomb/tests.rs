use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::load::find_file;
use super::source::parse_timestamp;
use super::*;
use crate::import::{inplay, team_id};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn fixture_args(odds: bool) -> StatsbombArgs {
    let dir = root().join("fixtures/real/statsbomb");
    StatsbombArgs {
        events_dir: dir.join("events"),
        lineups_dir: dir.join("lineups"),
        matches_file: dir.join("matches.json.gz"),
        odds: if odds {
            vec![root().join("fixtures/real/football-data/E0_1516_head.csv")]
        } else {
            vec![]
        },
        only: vec![],
    }
}

/// Goals, corners, yellow cards, sendings-off per side: [home, away] × 4.
type Counts = [[u32; 4]; 2];

/// Counted from the raw source events, independently of the importer.
fn source_counts(events_file: &Path, home_team: u64) -> Counts {
    let v: Value = serde_json::from_str(&read_text(events_file).expect("reads")).expect("json");
    let mut c = Counts::default();
    for e in v.as_array().expect("an array") {
        let kind = e["type"]["name"].as_str().unwrap_or("");
        let side = usize::from(e["team"]["id"].as_u64() != Some(home_team));
        if kind == "Shot" && e["shot"]["outcome"]["name"] == "Goal" || kind == "Own Goal For" {
            c[side][0] += 1;
        }
        if kind == "Pass" && e["pass"]["type"]["name"] == "Corner" {
            c[side][1] += 1;
        }
        for card in [
            &e["foul_committed"]["card"]["name"],
            &e["bad_behaviour"]["card"]["name"],
        ] {
            match card.as_str() {
                Some("Yellow Card") => c[side][2] += 1,
                Some("Second Yellow" | "Red Card") => c[side][3] += 1,
                _ => {}
            }
        }
    }
    c
}

fn feed_counts(records: &[Record], id: MatchId) -> Counts {
    let mut c = Counts::default();
    for r in records.iter().filter(|r| r.match_id == id) {
        if let Body::Incident(i) = &r.body {
            let k = match i.detail {
                IncidentDetail::Goal { .. } => 0,
                IncidentDetail::Corner => 1,
                IncidentDetail::Card {
                    card: CardKind::Yellow,
                    ..
                } => 2,
                IncidentDetail::Card { .. } => 3,
                _ => continue,
            };
            c[i.side as usize][k] += 1;
        }
    }
    c
}

fn matches_file(path: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_str(&read_text(path).expect("reads")).expect("json");
    v.as_array().expect("an array").clone()
}

fn result_of(records: &[Record], id: MatchId) -> MatchResult {
    records
        .iter()
        .filter(|r| r.match_id == id)
        .find_map(|r| match &r.body {
            Body::Result(x) => Some(*x),
            _ => None,
        })
        .expect("a result")
}

/// Per match: counts equal the source's, the result equals the matches file's score, the
/// fixture comes first and the result last. Returns the number of matches checked.
fn check_counts(args: &StatsbombArgs, imported: &Imported<StatsbombReport>) -> usize {
    let mut n = 0;
    for m in matches_file(&args.matches_file) {
        let id = m["match_id"].as_u64().expect("id");
        let Some(events) = find_file(&args.events_dir, id) else {
            continue;
        };
        let home = m["home_team"]["home_team_id"].as_u64().expect("home id");
        let want = source_counts(&events, home);
        let got = feed_counts(&imported.records, id);
        assert_eq!(got, want, "match {id}");
        let r = result_of(&imported.records, id);
        let score = (u64::from(r.full_time.home), u64::from(r.full_time.away));
        assert_eq!(
            score,
            (
                m["home_score"].as_u64().expect("score"),
                m["away_score"].as_u64().expect("score")
            ),
            "match {id}"
        );
        assert_eq!(
            (u32::from(r.full_time.home), u32::from(r.full_time.away)),
            (want[0][0], want[1][0])
        );
        let mine: Vec<&Record> = imported
            .records
            .iter()
            .filter(|r| r.match_id == id)
            .collect();
        assert!(matches!(mine[0].body, Body::Fixture(_)), "match {id}");
        assert!(matches!(
            mine.last().expect("records").body,
            Body::Result(_)
        ));
        n += 1;
    }
    n
}

/// The records of one match.
fn records_of(records: &[Record], id: MatchId) -> Vec<&Record> {
    records.iter().filter(|r| r.match_id == id).collect()
}

/// Goal incidents: (time, side, clock, detail).
fn goals_of(mine: &[&Record]) -> Vec<(i64, Side, i32, IncidentDetail)> {
    mine.iter()
        .filter_map(|r| match &r.body {
            Body::Incident(i) if matches!(i.detail, IncidentDetail::Goal { .. }) => {
                Some((r.ts, i.side, i.clock_s, i.detail))
            }
            _ => None,
        })
        .collect()
}

/// The times of the goal incidents.
fn goal_times(mine: &[&Record]) -> Vec<i64> {
    mine.iter()
        .filter(|r| matches!(&r.body, Body::Incident(i) if matches!(i.detail, IncidentDetail::Goal { .. })))
        .map(|r| r.ts)
        .collect()
}

/// The times of the penalties awarded.
fn penalty_times(mine: &[&Record]) -> Vec<i64> {
    mine.iter()
        .filter(
            |r| matches!(&r.body, Body::Incident(i) if i.detail == IncidentDetail::PenaltyAwarded),
        )
        .map(|r| r.ts)
        .collect()
}

/// The lineup records.
fn lineups_of<'a>(mine: &[&'a Record]) -> Vec<&'a Lineup> {
    mine.iter()
        .filter_map(|r| match &r.body {
            Body::Lineup(l) => Some(l),
            _ => None,
        })
        .collect()
}

/// The status records: (time, status, clock).
fn statuses_of(mine: &[&Record]) -> Vec<(i64, MatchStatus, i32)> {
    mine.iter()
        .filter_map(|r| match &r.body {
            Body::Status(s) => Some((r.ts, s.status, s.clock_s)),
            _ => None,
        })
        .collect()
}

/// The possession shares: (time, side, share).
fn possession_shares(mine: &[&Record]) -> Vec<(i64, Side, u8)> {
    mine.iter()
        .filter_map(|r| match &r.body {
            Body::Incident(i) => match i.detail {
                IncidentDetail::Possession { share } => Some((r.ts, i.side, share)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The incidents of one match, as details.
fn incident_details(records: &[Record], id: MatchId) -> Vec<IncidentDetail> {
    records
        .iter()
        .filter(|r| r.match_id == id)
        .filter_map(|r| match &r.body {
            Body::Incident(i) => Some(i.detail),
            _ => None,
        })
        .collect()
}

/// The formations of one match's lineup records.
fn formations_of(records: &[Record], id: MatchId) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.match_id == id)
        .filter_map(|r| match &r.body {
            Body::Lineup(l) => Some(l.formation.clone()),
            _ => None,
        })
        .collect()
}

/// The 1X2 prices at `ts`.
fn match_odds_prices_at(mine: &[&Record], ts: i64) -> Vec<f64> {
    mine.iter()
        .filter(|r| r.ts == ts)
        .filter_map(|r| match &r.body {
            Body::Odds(o) if o.market == MarketKind::MatchOdds => Some(o.price.0),
            _ => None,
        })
        .collect()
}

/// The market records at `ts`: (market, status, phase).
fn markets_at(mine: &[&Record], ts: i64) -> Vec<(MarketKind, MarketStatus, Phase)> {
    mine.iter()
        .filter(|r| r.ts == ts)
        .filter_map(|r| match &r.body {
            Body::Market(m) => Some((m.market, m.status, m.phase)),
            _ => None,
        })
        .collect()
}

/// The 1X2 market's statuses from `from` on: (time, status).
fn match_odds_statuses_from(mine: &[&Record], from: i64) -> Vec<(i64, MarketStatus)> {
    mine.iter()
        .filter_map(|r| match &r.body {
            Body::Market(m) if m.market == MarketKind::MatchOdds && r.ts >= from => {
                Some((r.ts, m.status))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn names_formations_positions_and_kickoff() {
    assert_eq!(football_data_name("West Bromwich Albion"), "West Brom");
    assert_eq!(football_data_name("AFC Bournemouth"), "Bournemouth");
    assert_eq!(football_data_name("Everton"), "Everton");
    assert_eq!(formation_label("4231"), "4-2-3-1");
    assert_eq!(formation_label("41212"), "4-1-2-1-2");
    assert_eq!(position_label("Center Attacking Midfield"), "CAM");
    assert_eq!(position_label("Center Forward"), "ST");
    // 16:00 in the file = 15:00 BST = 14:00 UTC; 13:45 = 11:45 UTC.
    assert_eq!(
        kickoff_utc("2015-08-08", "16:00:00.000"),
        Some(crate::time::utc_ms(2015, 8, 8, 14, 0, 0))
    );
    assert_eq!(
        kickoff_utc("2015-08-08", "13:45:00.000"),
        Some(crate::time::utc_ms(2015, 8, 8, 11, 45, 0))
    );
    // 2016-01-02 is GMT: 16:00 in the file = 15:00 UTC.
    assert_eq!(
        kickoff_utc("2016-01-02", "16:00:00.000"),
        Some(crate::time::utc_ms(2016, 1, 2, 15, 0, 0))
    );
    assert_eq!(parse_timestamp("00:21:36.115"), Some(1_296_115));
}

/// The committed excerpts without odds: counts per side equal the raw events', scores equal
/// the matches file's, lineups and the timeline look like a live feed, and no markets.
#[test]
fn excerpts_import_with_the_source_counts_lineups_and_timeline() {
    let args = fixture_args(false);
    let imp = import(&args).expect("imports");
    assert_eq!(imp.report.matches, 2);
    assert_eq!(imp.report.with_odds, 0);
    assert_eq!(check_counts(&args, &imp), 2);
    assert_eq!(imp.report.events, 3780 + 3036);
    assert_eq!(imp.report.modelled_odds, 0);
    assert!(
        imp.records
            .iter()
            .all(|r| !matches!(r.body, Body::Market(_) | Body::Odds(_)))
    );
    let incidents = imp
        .records
        .iter()
        .filter(|r| matches!(r.body, Body::Incident(_)))
        .count();
    assert_eq!(incidents, imp.report.incidents);
    // Only the incidents without a kind are reported (an injury stoppage in each match).
    assert!(
        imp.report
            .skipped
            .iter()
            .all(|s| s.contains("Injury Stoppage")),
        "{:?}",
        imp.report.skipped
    );
    // Man United 1-0 Tottenham: Kyle Walker's own goal at 21:36, kick-off 11:45 UTC.
    let id = 3754097;
    let mine = records_of(&imp.records, id);
    let Body::Fixture(fx) = &mine[0].body else {
        panic!("fixture first")
    };
    let ko = crate::time::utc_ms(2015, 8, 8, 11, 45, 0);
    assert_eq!(fx.kickoff, ko);
    assert_eq!(
        (fx.home.name.as_str(), fx.away.name.as_str()),
        ("Man United", "Tottenham")
    );
    assert_eq!(fx.home.id, team_id("Man United"));
    assert_eq!(
        (fx.league.as_str(), fx.season.as_str()),
        ("Premier League", "2015-16")
    );
    assert_eq!(fx.venue, "Old Trafford");
    let goals = goals_of(&mine);
    assert_eq!(
        goals,
        vec![(
            ko + 1_296_115,
            Side::Home,
            21 * 60 + 36,
            IncidentDetail::Goal {
                player: Some(3205),
                own_goal: true,
                penalty: false
            }
        )]
    );
    let lineups = lineups_of(&mine);
    assert_eq!(lineups.len(), 2);
    for l in &lineups {
        assert_eq!(l.formation, "4-2-3-1");
        assert_eq!(l.players.iter().filter(|p| p.starter).count(), 11);
        assert!(l.players.iter().filter(|p| !p.starter).count() >= 5);
        assert_eq!(
            l.players
                .iter()
                .filter(|p| p.starter && p.position == "GK")
                .count(),
            1
        );
    }
    // Statuses: scheduled, first half from kick-off with a clock per minute, half time at
    // the end of period 1 (46:07), second half 15 minutes later at 45:00, finished at 94:22.
    let statuses = statuses_of(&mine);
    assert_eq!(statuses[0].1, MatchStatus::Scheduled);
    assert_eq!(statuses[1], (ko, MatchStatus::FirstHalf, 0));
    assert_eq!(statuses[2], (ko + 60_000, MatchStatus::FirstHalf, 60));
    let ht = ko + 2_767_805;
    assert!(statuses.contains(&(ht, MatchStatus::HalfTime, 2767)));
    let sh = ht + BREAK_MS;
    assert!(statuses.contains(&(sh, MatchStatus::SecondHalf, 2700)));
    assert_eq!(
        *statuses.last().expect("statuses"),
        (sh + 2_962_486, MatchStatus::Finished, 5662)
    );
    assert!(
        statuses
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && (w[0].2 <= w[1].2 || w[1].1 == MatchStatus::SecondHalf))
    );
    // Possession shares every 5 minutes, home and away summing to 100.
    let shares = possession_shares(&mine);
    assert_eq!(shares.len(), 2 * (9 + 9));
    assert!(
        shares
            .chunks(2)
            .all(|w| w[0].0 == w[1].0 && u16::from(w[0].2) + u16::from(w[1].2) == 100)
    );
    // Leicester 4-2 Sunderland: Mahrez's penalty, the foul first.
    let id = 3754237;
    let details = incident_details(&imp.records, id);
    let pen_goals = details
        .iter()
        .filter(|d| matches!(d, IncidentDetail::Goal { penalty: true, .. }))
        .count();
    assert_eq!(pen_goals, 1);
    assert_eq!(
        details
            .iter()
            .filter(|d| **d == IncidentDetail::PenaltyAwarded)
            .count(),
        1
    );
    let shots = details
        .iter()
        .filter(|d| matches!(d, IncidentDetail::Shot { .. }))
        .count();
    assert_eq!(shots, 28);
    // Leicester's 4-4-2, Sunderland's 4-1-4-1.
    let formations = formations_of(&imp.records, id);
    assert_eq!(formations, vec!["4-4-2", "4-1-4-1"]);
}

/// With odds: prematch prices are real and precede kick-off, in-play ones are modelled and
/// from kick-off; markets are suspended at each goal (no prices while suspended) and reopen
/// later or close at full time; the result settles 1X2 like the score.
#[test]
fn excerpts_with_odds_prematch_real_inplay_modelled_suspended_at_goals() {
    let args = fixture_args(true);
    let imp = import(&args).expect("imports");
    assert_eq!(imp.report.matches, 2);
    assert_eq!(imp.report.with_odds, 2);
    assert_eq!(check_counts(&args, &imp), 2);
    assert!(imp.report.modelled_odds > 0);
    let modelled = imp
        .records
        .iter()
        .filter(|r| matches!(r.body, Body::Odds(o) if o.modelled))
        .count();
    assert_eq!(modelled, imp.report.modelled_odds);
    let fd = football_data::read_csv(&args.odds[0]).expect("reads");
    for id in [3754097u64, 3754237] {
        let mine = records_of(&imp.records, id);
        let Body::Fixture(fx) = &mine[0].body else {
            panic!("fixture first")
        };
        let ko = fx.kickoff;
        let row = fd
            .matches
            .iter()
            .find(|m| m.home == fx.home.name && m.away == fx.away.name)
            .expect("joined row");
        let mut prematch = 0;
        let mut inplay = 0;
        let mut status: BTreeMap<MarketKind, (MarketStatus, Phase)> = BTreeMap::new();
        let mut suspended_at: Vec<i64> = Vec::new();
        for r in &mine {
            match &r.body {
                Body::Market(m) => {
                    if m.status == MarketStatus::Suspended {
                        suspended_at.push(r.ts);
                    }
                    match m.phase {
                        Phase::InPlay => assert!(r.ts >= ko, "{r:?}"),
                        Phase::Prematch => assert!(r.ts <= ko, "{r:?}"),
                    }
                    status.insert(m.market, (m.status, m.phase));
                }
                Body::Odds(o) => {
                    if o.modelled {
                        inplay += 1;
                        assert!(r.ts >= ko);
                    } else {
                        prematch += 1;
                        assert!(r.ts < ko);
                    }
                    // Prices only for an open market.
                    assert_eq!(
                        status.get(&o.market).map(|s| s.0),
                        Some(MarketStatus::Open),
                        "{r:?}"
                    );
                    assert!(o.price.0 > 1.0);
                }
                _ => {}
            }
        }
        assert!(prematch >= 5 && inplay > 20, "{prematch} {inplay}");
        assert!(status.values().all(|s| s.0 == MarketStatus::Closed));
        // The closing 1X2 at kick-off − 5 min is football-data's.
        let close = row.last_prices(MarketKind::MatchOdds).expect("1X2");
        let at_close = match_odds_prices_at(&mine, ko - football_data::CLOSE_LEAD_MS);
        assert_eq!(at_close, close);
        // In-play markets at kick-off: 1X2, o/u 1.5/2.5/3.5, BTTS; Asian handicap closed.
        let at_ko = markets_at(&mine, ko);
        assert!(at_ko.iter().any(|m| matches!(
            m,
            (
                MarketKind::AsianHandicap { .. },
                MarketStatus::Closed,
                Phase::Prematch
            )
        )));
        assert_eq!(
            at_ko
                .iter()
                .filter(|m| m.1 == MarketStatus::Open && m.2 == Phase::InPlay)
                .count(),
            5
        );
        // Every goal suspends the 1X2 at its time; the next 1X2 market record after it is a
        // reopening at least a minute later, or the close at full time.
        let goals = goal_times(&mine);
        assert!(!goals.is_empty());
        let x12 = match_odds_statuses_from(&mine, ko);
        // (A penalty goal finds the markets suspended since the foul, held until the kick.)
        let penalties = penalty_times(&mine);
        assert_eq!(penalties.len(), usize::from(id == 3754237));
        for g in &goals {
            let k = x12
                .iter()
                .rposition(|(ts, _)| ts <= g)
                .expect("a 1X2 record before the goal");
            assert_eq!(
                x12[k].1,
                MarketStatus::Suspended,
                "at the goal at {g}: {x12:?}"
            );
            assert!(
                x12[k].0 == *g || penalties.contains(&x12[k].0),
                "{g}: {x12:?}"
            );
            let next = x12.get(k + 1).expect("a later 1X2 record");
            assert!(
                (next.1 == MarketStatus::Open && next.0 >= g + inplay::SUSPEND_MS)
                    || next.1 == MarketStatus::Closed,
                "{next:?}"
            );
        }
        // The model's kick-off 1X2 follows the close: the favourite stays the favourite.
        let first_inplay = match_odds_prices_at(&mine, ko);
        assert_eq!(first_inplay.len(), 3);
        assert_eq!(close[0] < close[2], first_inplay[0] < first_inplay[2]);
        // Settlement of 1X2 from the result agrees with the score and football-data's FTR.
        let r = result_of(&imp.records, id);
        assert_eq!(super::super::settled_1x2(&r), vec![row.ftr]);
        assert_eq!(r.full_time, row.full_time);
        assert_eq!(Some(r.half_time), row.half_time);
    }
}

/// The synthetic match's events: both `Starting XI`s (4-4-2), an away red card at 10:00, a
/// penalty to the home side at 20:00 saved at 22:00, an away tactical shift to 4-5-1 at 30:00, an
/// offside, a home goal at 50:00; periods of 46 and 48 minutes.
fn synthetic_events() -> Vec<String> {
    let team = |id: u64, name: &str| format!(r#"{{"id": {id}, "name": "{name}"}}"#);
    let xi = |first: u64| {
        let players: Vec<String> = (0..11)
            .map(|k| {
                let pos = if k == 0 { "Goalkeeper" } else { "Center Forward" };
                format!(r#"{{"player": {{"id": {}, "name": "P{}"}}, "position": {{"id": 1, "name": "{pos}"}}}}"#, first + k, first + k)
            })
            .collect();
        format!(
            r#""tactics": {{"formation": 442, "lineup": [{}]}}"#,
            players.join(",")
        )
    };
    let e = |idx: u64,
             period: u8,
             ts: &str,
             min: i32,
             sec: i32,
             kind: &str,
             t: u64,
             extra: &str| {
        let tname = if t == 1 { "Home FC" } else { "Away FC" };
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(", {extra}")
        };
        format!(
            r#"{{"id": "e{idx}", "index": {idx}, "period": {period}, "timestamp": "{ts}", "minute": {min}, "second": {sec}, "type": {{"name": "{kind}"}}, "team": {}, "possession_team": {}, "player": {{"id": {}, "name": "X"}}{extra}}}"#,
            team(t, tname),
            team(t, tname),
            if t == 1 { 105 } else { 205 }
        )
    };
    vec![
        e(1, 1, "00:00:00.000", 0, 0, "Starting XI", 1, &xi(100)),
        e(2, 1, "00:00:00.000", 0, 0, "Starting XI", 2, &xi(200)),
        e(3, 1, "00:00:00.000", 0, 0, "Half Start", 1, ""),
        e(
            4,
            1,
            "00:10:00.000",
            10,
            0,
            "Bad Behaviour",
            2,
            r#""bad_behaviour": {"card": {"name": "Red Card"}}"#,
        ),
        e(
            5,
            1,
            "00:20:00.000",
            20,
            0,
            "Foul Committed",
            2,
            r#""foul_committed": {"penalty": true}"#,
        ),
        e(
            6,
            1,
            "00:22:00.000",
            22,
            0,
            "Shot",
            1,
            r#""shot": {"statsbomb_xg": 0.76, "outcome": {"name": "Saved"}, "type": {"name": "Penalty"}}"#,
        ),
        e(
            7,
            1,
            "00:30:00.000",
            30,
            0,
            "Tactical Shift",
            2,
            &xi(200).replace("442", "451"),
        ),
        e(8, 1, "00:31:00.000", 31, 0, "Offside", 1, ""),
        e(9, 1, "00:46:00.000", 46, 0, "Half End", 1, ""),
        e(10, 2, "00:00:00.000", 45, 0, "Half Start", 1, ""),
        e(
            11,
            2,
            "00:05:00.000",
            50,
            0,
            "Shot",
            1,
            r#""shot": {"statsbomb_xg": 0.3, "outcome": {"name": "Goal"}, "type": {"name": "Open Play"}}"#,
        ),
        e(12, 2, "00:48:00.000", 93, 0, "Half End", 1, ""),
    ]
}

/// Writes the synthetic match under `dir` twice: id 1 on 2015-12-05 with a lineups file (one bench
/// player) and a football-data row, id 2 a day later with neither and a wrong score (2-0) in the
/// matches file. The arguments ask for ids 1, 2 and 3 (3 has no events file).
fn synthetic_match(dir: &Path) -> StatsbombArgs {
    let ev = dir.join("events");
    let lu = dir.join("lineups");
    std::fs::create_dir_all(&ev).expect("mkdir");
    std::fs::create_dir_all(&lu).expect("mkdir");
    let events = synthetic_events();
    std::fs::write(ev.join("1.json"), format!("[{}]", events.join(","))).expect("write");
    std::fs::write(ev.join("2.json"), format!("[{}]", events.join(","))).expect("write");
    std::fs::write(lu.join("1.json"), r#"[{"team_id": 1, "team_name": "Home FC", "lineup": [{"player_id": 150, "player_name": "Bench Guy", "player_nickname": null, "positions": []}]}]"#).expect("write");
    let m = |id: u64, date: &str, home_score: u32| {
        format!(
            r#"{{"match_id": {id}, "match_date": "{date}", "kick_off": "16:00:00.000", "home_team": {{"home_team_id": 1, "home_team_name": "Home FC"}}, "away_team": {{"away_team_id": 2, "away_team_name": "Away FC"}}, "home_score": {home_score}, "away_score": 0, "stadium": {{"id": 1, "name": "Ground "}}, "referee": {{"id": 1, "name": "Ref"}}}}"#
        )
    };
    let matches = dir.join("matches.json");
    std::fs::write(
        &matches,
        format!("[{}, {}]", m(1, "2015-12-05", 1), m(2, "2015-12-06", 2)),
    )
    .expect("write");
    let csv = dir.join("odds.csv");
    std::fs::write(&csv, "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,FTR,HTHG,HTAG,PSH,PSD,PSA,PSCH,PSCD,PSCA,BbAv>2.5,BbAv<2.5\nE0,05/12/2015,Home FC,Away FC,1,0,H,0,0,2.0,3.5,4.0,1.9,3.6,4.3,1.95,1.9\n").expect("write");
    StatsbombArgs {
        events_dir: ev,
        lineups_dir: lu,
        matches_file: matches,
        odds: vec![csv],
        only: vec![1, 2, 3],
    }
}

/// A synthetic match in StatsBomb's format: a red card and a penalty suspend the markets (the
/// penalty until it is taken), a tactical shift is a new lineup version, a match without a
/// football-data row gets no markets, and a wrong score in the matches file is reported.
#[test]
fn red_cards_penalties_tactical_shifts_and_reports_on_a_synthetic_match() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = synthetic_match(dir.path());
    let imp = import(&args).expect("imports");
    assert_eq!((imp.report.matches, imp.report.with_odds), (2, 1));
    let said = |what: &str| {
        imp.report
            .skipped
            .iter()
            .filter(|s| s.contains(what))
            .count()
    };
    assert_eq!(said("3: no events file"), 1);
    assert_eq!(said("1 × Offside not mapped"), 2);
    assert_eq!(said("no football-data row"), 1);
    assert_eq!(said("the matches file says 2-0"), 1);
    assert_eq!(said("no lineups file"), 1);
    // 16:00 in the file on 2015-12-05 (GMT) = 15:00 UTC.
    let ko = crate::time::utc_ms(2015, 12, 5, 15, 0, 0);
    let mine = records_of(&imp.records, 1);
    let x12 = match_odds_statuses_from(&mine, ko);
    let min = 60_000;
    let p2 = ko + 46 * min + BREAK_MS;
    assert_eq!(
        x12,
        vec![
            (ko, MarketStatus::Open),
            // The red card: a minute.
            (ko + 10 * min, MarketStatus::Suspended),
            (ko + 11 * min, MarketStatus::Open),
            // The penalty: held until it is taken (missed) two minutes later.
            (ko + 20 * min, MarketStatus::Suspended),
            (ko + 22 * min, MarketStatus::Open),
            // The goal.
            (p2 + 5 * min, MarketStatus::Suspended),
            (p2 + 6 * min, MarketStatus::Open),
            (p2 + 48 * min, MarketStatus::Closed),
        ]
    );
    // After the away red card the home price is shorter than at kick-off.
    let home: Vec<(i64, f64)> = mine
        .iter()
        .filter_map(|r| match &r.body {
            Body::Odds(o)
                if o.market == MarketKind::MatchOdds
                    && o.selection == Selection::Home
                    && r.ts >= ko =>
            {
                Some((r.ts, o.price.0))
            }
            _ => None,
        })
        .collect();
    let at = |t: i64| {
        home.iter()
            .rev()
            .find(|(ts, _)| *ts <= t)
            .expect("a price")
            .1
    };
    assert!(at(ko + 11 * min) < at(ko), "{home:?}");
    // The bench from the lineups file, then a new lineup version at the tactical shift.
    let lineups: Vec<(i64, Side, String, usize)> = mine
        .iter()
        .filter_map(|r| match &r.body {
            Body::Lineup(l) => Some((r.ts, l.side, l.formation.clone(), l.players.len())),
            _ => None,
        })
        .collect();
    assert_eq!(
        lineups,
        vec![
            (ko - LINEUP_LEAD_MS, Side::Home, "4-4-2".into(), 12),
            (ko - LINEUP_LEAD_MS, Side::Away, "4-4-2".into(), 11),
            (ko + 30 * min, Side::Away, "4-5-1".into(), 11),
        ]
    );
    let cards: Vec<(Side, IncidentDetail)> = mine
        .iter()
        .filter_map(|r| match &r.body {
            Body::Incident(i)
                if matches!(
                    i.detail,
                    IncidentDetail::Card { .. } | IncidentDetail::PenaltyAwarded
                ) =>
            {
                Some((i.side, i.detail))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        cards,
        vec![
            (
                Side::Away,
                IncidentDetail::Card {
                    player: Some(205),
                    card: CardKind::Red
                }
            ),
            (Side::Home, IncidentDetail::PenaltyAwarded),
        ]
    );
    // Match 2 (no football-data row): no markets; the feed keeps the score of its goals.
    assert!(
        imp.records
            .iter()
            .filter(|r| r.match_id == 2)
            .all(|r| !matches!(r.body, Body::Market(_) | Body::Odds(_)))
    );
    assert_eq!(
        result_of(&imp.records, 2).full_time,
        Score { home: 1, away: 0 }
    );
}

/// All 65 matches of the shared folder, when it is there: every one joins to football-data,
/// the scores equal the matches file's and football-data's, counts equal the source's.
#[test]
fn every_shared_statsbomb_match_joins_and_scores_agree() {
    let (Some(dir), Some(fd)) = (
        crate::import::shared_data("statsbomb-epl-2015-16"),
        crate::import::shared_data("football-data"),
    ) else {
        return;
    };
    let args = StatsbombArgs {
        events_dir: dir.join("events"),
        lineups_dir: dir.join("lineups"),
        matches_file: dir.join("matches_2_27_before_2016-04-01.json.gz"),
        odds: vec![fd.join("E0_1516_before_2016-04-01.csv.gz")],
        only: vec![],
    };
    let imp = import(&args).expect("imports");
    assert_eq!(imp.report.matches, 65);
    assert_eq!(imp.report.with_odds, 65, "{:?}", imp.report.skipped);
    assert_eq!(check_counts(&args, &imp), 65);
    let bad: Vec<&String> = imp
        .report
        .skipped
        .iter()
        .filter(|s| !s.contains("not mapped"))
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
    assert!(imp.report.events > 200_000);
    // Every modelled price is in play; tactical shifts made new lineup versions.
    let lineups = imp
        .records
        .iter()
        .filter(|r| matches!(r.body, Body::Lineup(_)))
        .count();
    assert_eq!(lineups, 130 + 93);
    let mut per_match: BTreeMap<MatchId, EventTime> = BTreeMap::new();
    for r in &imp.records {
        if let Body::Fixture(f) = &r.body {
            per_match.insert(r.match_id, f.kickoff);
        }
        if let Body::Odds(o) = &r.body {
            assert_eq!(o.modelled, r.ts >= per_match[&r.match_id], "{r:?}");
        }
    }
    eprintln!(
        "statsbomb: {} matches, {} events, {} incidents, {} modelled odds, {} skipped lines",
        imp.report.matches,
        imp.report.events,
        imp.report.incidents,
        imp.report.modelled_odds,
        imp.report.skipped.len()
    );
}
