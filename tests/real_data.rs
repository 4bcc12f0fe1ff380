//! Real data through the whole pipeline: imported football-data, StatsBomb and Betfair feeds are
//! replayed with bets, and what the dataflows and the bookmaker make of them is checked against
//! the source files (committed excerpts in `fixtures/real/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oddsflow::import::{betfair, football_data, statsbomb};
use oddsflow::policy::{PolicySpec, ScriptedBet};
use oddsflow::runtime::config::RunConfig;
use oddsflow::runtime::outputs::{Change, Outputs};
use oddsflow::runtime::replay::replay;
use oddsflow::runtime::source::memory_feed;
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::*;

fn real(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/real")
        .join(path)
}

fn run(records: &[Record], bets: Vec<ScriptedBet>) -> Outputs {
    let cfg = RunConfig {
        progress: false,
        policies: vec![PolicySpec::Scripted(bets)],
        seed: 1,
        ..RunConfig::default()
    };
    let items: Vec<Payload> = records.iter().cloned().map(Payload::Decoded).collect();
    let (o, _) = replay(memory_feed(items), &cfg, None, timely::Config::thread())
        .expect("replay runs")
        .expect("worker 0 is here");
    assert_eq!(o.summary.rejected, 0, "{:?}", o.dead_letters.first());
    o
}

/// Each bet's payout multiple once settled (by the bet's sequence number).
fn payouts(o: &Outputs) -> BTreeMap<u32, f64> {
    oddsflow::betting::ledger::standing_settlements(&o.betting)
        .into_iter()
        .map(|(id, (s, _))| (id.seq, s.payout.0))
        .collect()
}

/// The last value each key was given (counters only grow until the match retires).
fn finals<K: Ord + Clone, V: Clone>(changes: &[Change<(K, V)>]) -> BTreeMap<K, V> {
    let mut sorted: Vec<&Change<(K, V)>> = changes.iter().filter(|c| c.2 > 0).collect();
    sorted.sort_by_key(|c| c.1);
    sorted
        .into_iter()
        .map(|((k, v), _, _)| (k.clone(), v.clone()))
        .collect()
}

/// Every football-data match, through the pipeline: a bet on each of home, draw and away at the
/// close settles won exactly on the `FTR` side, and the team statistics of the dataflow equal the
/// file's goals, corners and cards.
#[test]
fn football_data_bets_settle_like_ftr_and_statistics_match_the_file() {
    let files = [
        real("football-data/E0_1516_head.csv"),
        real("football-data/E0_2122_head.csv"),
    ];
    let oddsflow::import::Imported {
        records,
        report: summary,
    } = football_data::import(&files).expect("imports");
    assert!(summary.refused.is_empty());
    let mut matches = Vec::new();
    for f in &files {
        matches.extend(football_data::read_csv(f).expect("reads").matches);
    }
    let mut bets = Vec::new();
    let mut expect = BTreeMap::new();
    for m in &matches {
        for (k, (sel, ftr)) in [
            (Selection::Home, 'H'),
            (Selection::Draw, 'D'),
            (Selection::Away, 'A'),
        ]
        .into_iter()
        .enumerate()
        {
            bets.push(ScriptedBet {
                at: (m.kickoff - football_data::CLOSE_LEAD_MS) as u64,
                legs: vec![(m.match_id(), MarketKind::MatchOdds, sel)],
                stake: 10.0,
            });
            let price = m.last_prices(MarketKind::MatchOdds).expect("1X2")[k];
            expect.insert(
                bets.len() as u32 - 1,
                if m.ftr == ftr { price } else { 0.0 },
            );
        }
    }
    let o = run(&records, bets);
    let got = payouts(&o);
    assert_eq!(got.len(), expect.len(), "every bet settled");
    for (seq, want) in &expect {
        let g = got.get(seq).copied().unwrap_or(f64::NAN);
        assert!(
            (g - want).abs() < 1e-9,
            "bet {seq}: payout {g}, want {want}"
        );
    }
    let stats = finals(&o.team_match);
    for m in &matches {
        let s = m.stats.expect("statistics");
        for (i, side) in Side::BOTH.into_iter().enumerate() {
            let t = &stats[&(m.match_id(), side)];
            let goals = [m.full_time.home, m.full_time.away][i] as u32;
            assert_eq!(
                (t.goals, t.corners, t.yellow, t.red, t.shots, t.fouls),
                (
                    goals,
                    s.corners[i],
                    s.yellow[i],
                    s.red[i],
                    s.shots[i],
                    s.fouls[i]
                ),
                "{} v {} {side:?}",
                m.home,
                m.away
            );
        }
    }
}

/// The Betfair both-teams-to-score recording: a virtual bet on the runner Betfair marked WINNER,
/// placed while the market is open, settles won at the price taken; one on the LOSER settles lost.
#[test]
fn betfair_btts_bet_on_the_winner_settles_won() {
    let file = real("betfair/mzaja_betfair_database__1.145405534.bz2");
    // Betfair's marks, read from the source: the last market definition's runner statuses.
    let text = oddsflow::import::read_text(&file).expect("reads");
    let mut marks: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        for mc in v["mc"].as_array().into_iter().flatten() {
            for r in mc["marketDefinition"]["runners"]
                .as_array()
                .into_iter()
                .flatten()
            {
                marks.insert(
                    r["name"].as_str().unwrap_or_default().to_owned(),
                    r["status"].as_str().unwrap_or_default().to_owned(),
                );
            }
        }
    }
    let winner = match marks.iter().find(|(_, s)| *s == "WINNER") {
        Some((name, _)) if name == "Yes" => Selection::Yes,
        Some(_) => Selection::No,
        None => panic!("the recording settles: {marks:?}"),
    };
    let loser = if winner == Selection::Yes {
        Selection::No
    } else {
        Selection::Yes
    };
    let imp = betfair::import(&[file]).expect("imports");
    let (m, open_at) = imp
        .records
        .iter()
        .find_map(|r| match &r.body {
            Body::Odds(o) if o.market == MarketKind::Btts && o.price.0 > 1.2 => {
                Some((r.match_id, r.ts))
            }
            _ => None,
        })
        .expect("a price worth betting");
    let bets = [winner, loser]
        .into_iter()
        .map(|s| ScriptedBet {
            at: open_at as u64,
            legs: vec![(m, MarketKind::Btts, s)],
            stake: 10.0,
        })
        .collect();
    let o = run(&imp.records, bets);
    let accepted: Vec<f64> = o
        .betting
        .decisions
        .iter()
        .map(|d| d.verdict.as_ref().expect("accepted")[0].price.0)
        .collect();
    let got = payouts(&o);
    assert_eq!(
        got.get(&0),
        Some(&accepted[0]),
        "the WINNER bet is paid its price"
    );
    assert_eq!(got.get(&1), Some(&0.0), "the LOSER bet loses");
}

/// StatsBomb matches through the pipeline: goals, corners and cards of the team statistics equal
/// the source events' counts, and the final score equals the matches file's.
#[test]
fn statsbomb_statistics_through_the_dataflow_equal_the_source_events() {
    let args = statsbomb::StatsbombArgs {
        events_dir: real("statsbomb/events"),
        lineups_dir: real("statsbomb/lineups"),
        matches_file: real("statsbomb/matches.json.gz"),
        odds: vec![real("football-data/E0_1516_head.csv")],
        only: vec![],
    };
    let imp = statsbomb::import(&args).expect("imports");
    assert_eq!(imp.report.matches, 2);
    assert_eq!(imp.report.with_odds, 2);
    // Counts straight from the raw events.
    let mut want: BTreeMap<(u64, String), [u32; 4]> = BTreeMap::new();
    for entry in std::fs::read_dir(real("statsbomb/events")).expect("dir") {
        let path = entry.expect("entry").path();
        let id: u64 = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split('.').next())
            .and_then(|n| n.parse().ok())
            .expect("<id>.json.gz");
        let events: serde_json::Value =
            serde_json::from_str(&oddsflow::import::read_text(&path).expect("reads"))
                .expect("json");
        for e in events.as_array().expect("array") {
            let team = e["team"]["name"].as_str().unwrap_or_default().to_owned();
            let kind = e["type"]["name"].as_str().unwrap_or_default();
            let card = e["foul_committed"]["card"]["name"]
                .as_str()
                .or(e["bad_behaviour"]["card"]["name"].as_str());
            let c = want.entry((id, team)).or_default();
            match kind {
                "Shot" if e["shot"]["outcome"]["name"] == "Goal" => c[0] += 1,
                "Own Goal For" => c[0] += 1,
                "Pass" if e["pass"]["type"]["name"] == "Corner" => c[1] += 1,
                _ => {}
            }
            match card {
                Some("Yellow Card") => c[2] += 1,
                // A second yellow is a yellow shown and a sending-off (as the aggregates count).
                Some("Second Yellow") => {
                    c[2] += 1;
                    c[3] += 1;
                }
                Some("Red Card") => c[3] += 1,
                _ => {}
            }
        }
    }
    let fixtures: BTreeMap<MatchId, Fixture> = imp
        .records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Fixture(f) => Some((r.match_id, f.clone())),
            _ => None,
        })
        .collect();
    // A bet at the prematch close (a real price) and one 3 minutes into play (a modelled price)
    // on the first match: reported apart.
    let (&first, f) = fixtures.iter().next().expect("a match");
    let bets = [
        (f.kickoff - 5 * 60_000, Selection::Home),
        (f.kickoff + 3 * 60_000, Selection::Away),
    ]
    .into_iter()
    .map(|(at, s)| ScriptedBet {
        at: at as u64,
        legs: vec![(first, MarketKind::MatchOdds, s)],
        stake: 10.0,
    })
    .collect();
    let o = run(&imp.records, bets);
    let legs: Vec<(Phase, bool)> = o
        .betting
        .decisions
        .iter()
        .map(|d| (d.request.legs[0].phase, d.request.legs[0].modelled))
        .collect();
    assert_eq!(legs, vec![(Phase::Prematch, false), (Phase::InPlay, true)]);
    let parts =
        oddsflow::betting::reports::reports_by_price_source(&o.betting, &o.prematch_close, 1);
    // Each part's curve is its own: its cumulative profit from 0, never the whole bankroll.
    for (name, reps) in &parts {
        for r in reps {
            assert!(
                (r.metrics.final_bankroll - r.metrics.profit).abs() < 1e-9,
                "{name}: {:?}",
                r.metrics
            );
        }
    }
    let requests: BTreeMap<&str, u64> = parts
        .iter()
        .map(|(name, r)| (*name, r.iter().map(|p| p.requests).sum()))
        .collect();
    assert_eq!(requests["prematch singles on market prices"], 1);
    assert_eq!(requests["singles on modelled prices"], 1);
    assert_eq!(requests["in-play singles on market prices"], 0);
    let stats = finals(&o.team_match);
    let mut compared = 0;
    for ((m, side), t) in &stats {
        let f = &fixtures[m];
        let name = match side {
            Side::Home => &f.home.name,
            Side::Away => &f.away.name,
        };
        let (_, counts) = want
            .iter()
            .find(|((id, team), _)| id == m && statsbomb::football_data_name(team) == name.as_str())
            .unwrap_or_else(|| panic!("source team {name} of match {m}"));
        assert_eq!(
            [t.goals, t.corners, t.yellow, t.red],
            *counts,
            "match {m} {side:?}"
        );
        compared += 1;
    }
    assert_eq!(compared, 4);
}
