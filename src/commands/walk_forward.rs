//! The walk-forward evaluation on real prices: `oddsflow eval --football-data CSV…`.
//!
//! **In**: football-data seasons ([`crate::import::football_data`]). **Out**: `walk_forward.md`
//! and `walk_forward.json` in the output directory, and the run's betting tables (`replay`'s
//! outputs, with the learner head's bets in `learner/`).
//!
//! 1. The seasons are imported into one feed and replayed (chronologically, every league
//!    together) with the baselines: no-bet, random, favourite and value bet through the
//!    bookmaker at the real prematch prices (opening odds from kick-off − 24 h, closing odds from
//!    − 5 min). Everything a decision reads comes from records with event time ≤ its time: the
//!    value model's team ratings and league averages are the ratings dataflow's, updated only as
//!    matches finish.
//! 2. **Probabilities of 1X2** at the close (kick-off − 5 min) of every match of a test season
//!    (every season but the first): the margin-free Pinnacle close (proportional
//!    normalisation); the value model (its prematch Poisson rates from the ratings as of the
//!    close); the learner's probability head ([`crate::learner::prematch`]: the `drqn` network,
//!    fresh for each test season and trained only on the matches of **earlier seasons**, its three
//!    `p̂` normalised to sum 1). Scored by log loss, Brier and RPS.
//! 3. **The learner's head as a policy**: at the close (kick-off − 5 min) it backs the 1X2 or over/under 2.5
//!    selection with the largest `p̂ · price − 1`, if that is at least `min_prob_edge` and the
//!    price at most `max_price`, at a flat stake; these bets are replayed through the same
//!    bookmaker (a second run, as the `scripted` policy, shown as `drqn-head`). The `drqn` policy
//!    itself acts only in play, and football-data has no in-play prices: it is not in this table
//!    (its in-play results come from the StatsBomb replay, on modelled prices, reported apart).
//! 4. **Per policy**, over the bets on test-season matches: bets, ROI with a bootstrap interval
//!    (match-days resampled), CLV against the margin-free Pinnacle close with a bootstrap
//!    interval (bets whose market has a Pinnacle close: 1X2 always, over/under and Asian handicap
//!    from 2019-20), and the largest drawdown of the cumulative profit. A result is called profit
//!    only when its whole ROI interval is above zero.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::betting::metrics::{SettledBet, bankroll_curve, bootstrap_days, bootstrap_roi, metrics};
use crate::import::FeedBuilder;
use crate::import::football_data::{self, CLOSE_LEAD_MS, FdMatch};
use crate::learner::encode::SELECTIONS;
use crate::learner::prematch::{
    HeadTraining, Sample, encode_prematch, prematch_vector, train_head,
};
use crate::policy::baselines::{GoalModel, ValueConfig, prematch_rates};
use crate::policy::{PolicySpec, ScriptedBet};
use crate::runtime::config::RunConfig;
use crate::runtime::outputs::{Outputs, write_outputs};
use crate::runtime::replay::replay;
use crate::runtime::source::memory_feed;
use crate::time::DAY_MS;
use oddsflow_dataflows::availability::Quote;
use oddsflow_dataflows::bookmaker::BookmakerConfig;
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::*;
use oddsflow_dataflows::policy::View;
use oddsflow_dataflows::pricing::margin::proportional;
use oddsflow_dataflows::ratings::{LeagueAverages, TeamRating};
use oddsflow_dataflows::settlement::{MatchFacts, Outcome, settle};
use oddsflow_operators::AsOf;

/// Settings of the walk-forward evaluation.
#[derive(Clone, Debug)]
pub struct WalkForwardConfig {
    /// The football-data season CSVs.
    pub files: Vec<PathBuf>,
    /// Where `walk_forward.md`, `walk_forward.json` and the betting tables go.
    pub out: PathBuf,
    /// Seed of the baselines, the learner head and the bootstrap.
    pub seed: u64,
    /// Timely workers of each replay.
    pub workers: usize,
    /// How the learner head is trained.
    pub head: HeadTraining,
    /// The learner head bets when `p̂ · price − 1` is at least this.
    pub min_prob_edge: f64,
    /// … and the price at most this.
    pub max_price: f64,
    /// Its flat stake.
    pub stake: f64,
    /// Each policy's starting bankroll (large: a season-long test should not stop at ruin).
    pub bankroll: f64,
    /// Bootstrap resamples for the intervals.
    pub resamples: usize,
}

impl WalkForwardConfig {
    /// The defaults, on `files`, writing to `out`.
    pub fn new(files: Vec<PathBuf>, out: PathBuf) -> Self {
        WalkForwardConfig {
            files,
            out,
            seed: 1,
            workers: 1,
            head: HeadTraining::default(),
            min_prob_edge: 0.05,
            max_price: 10.0,
            stake: 10.0,
            bankroll: 100_000.0,
            resamples: 2_000,
        }
    }
}

/// Log loss, Brier and RPS of one forecaster over a set of matches.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Matches scored.
    pub matches: usize,
    /// Mean negative log probability of the outcome.
    pub log_loss: f64,
    /// Mean squared error of the probabilities.
    pub brier: f64,
    /// Mean ranked probability score.
    pub rps: f64,
}

/// One forecaster's scores on one season (`season` = `all` for every test season).
#[derive(Clone, Debug, Serialize)]
pub struct ScoreRow {
    /// The season, or `all`.
    pub season: String,
    /// The forecaster.
    pub model: String,
    /// Its scores.
    pub scores: Scores,
}

/// One policy's betting results over the test seasons (or one season).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PolicyRow {
    /// The season, or `all`.
    pub season: String,
    /// The policy.
    pub policy: String,
    /// Bets settled.
    pub bets: usize,
    /// Money staked.
    pub turnover: f64,
    /// Settled profit.
    pub profit: f64,
    /// Profit over turnover.
    pub roi: f64,
    /// Bootstrap 95 % interval of the ROI over match-days.
    pub roi_interval: Option<(f64, f64)>,
    /// Bets with a Pinnacle close, and their mean CLV with its interval.
    pub clv_bets: usize,
    /// Mean CLV against the margin-free Pinnacle close.
    pub clv: Option<f64>,
    /// Its bootstrap 95 % interval.
    pub clv_interval: Option<(f64, f64)>,
    /// Largest fall of the cumulative profit from its running peak (money).
    pub max_drawdown: f64,
}

/// Everything the evaluation measured.
#[derive(Clone, Debug, Serialize)]
pub struct WalkForward {
    /// Matches in the files.
    pub matches: usize,
    /// Every season, in order.
    pub seasons: Vec<String>,
    /// The seasons scored (all but the first).
    pub test_seasons: Vec<String>,
    /// The forecasters' scores.
    pub scores: Vec<ScoreRow>,
    /// The policies' results.
    pub policies: Vec<PolicyRow>,
    /// Per season: the learner head's training samples (matches of earlier seasons).
    pub head_training: BTreeMap<String, usize>,
}

/// `[home, draw, away]` won.
fn outcome_1x2(s: Score) -> [f64; 3] {
    match s.home.cmp(&s.away) {
        std::cmp::Ordering::Greater => [1.0, 0.0, 0.0],
        std::cmp::Ordering::Equal => [0.0, 1.0, 0.0],
        std::cmp::Ordering::Less => [0.0, 0.0, 1.0],
    }
}

/// Adds one forecast to running sums (the result is averaged by [`Scores::mean`]).
fn add_score(acc: &mut Scores, p: [f64; 3], y: [f64; 3]) {
    let k = y.iter().position(|v| *v > 0.5).unwrap_or(0);
    acc.matches += 1;
    acc.log_loss -= p[k].max(1e-12).ln();
    acc.brier += p.iter().zip(y).map(|(p, y)| (p - y).powi(2)).sum::<f64>();
    let (c1, c2) = (p[0] - y[0], p[0] + p[1] - y[0] - y[1]);
    acc.rps += (c1 * c1 + c2 * c2) / 2.0;
}

impl Scores {
    fn mean(mut self) -> Scores {
        let n = self.matches.max(1) as f64;
        self.log_loss /= n;
        self.brier /= n;
        self.rps /= n;
        self
    }
}

/// What the evaluation knows of one match at its close.
struct AtClose {
    m: FdMatch,
    quotes: BTreeMap<(MarketKind, Selection), Quote>,
    pinnacle: Option<[f64; 3]>,
    value: [f64; 3],
    sample: Sample,
}

fn close_quotes(m: &FdMatch) -> BTreeMap<(MarketKind, Selection), Quote> {
    let mut q = BTreeMap::new();
    for kind in [
        MarketKind::MatchOdds,
        MarketKind::OverUnder { line: Line(10) },
    ] {
        let (Some(fm), Some(prices)) = (m.market(kind), m.last_prices(kind)) else {
            continue;
        };
        for (s, p) in fm.selections.iter().zip(prices) {
            q.insert(
                (kind, *s),
                Quote {
                    phase: Phase::Prematch,
                    price: F64(*p),
                    modelled: false,
                },
            );
        }
    }
    q
}

fn facts(m: &FdMatch) -> MatchFacts {
    MatchFacts {
        full_time: m.full_time,
        corners: None,
        goals: vec![],
        abandoned: false,
        no_result: false,
    }
}

/// Reads the files (a match in two files counts once), in kick-off order.
pub fn load_matches(files: &[PathBuf]) -> Result<Vec<FdMatch>> {
    let mut by_id = BTreeMap::new();
    for f in files {
        let file = football_data::read_csv(f)?;
        for r in &file.refused {
            eprintln!("refused {}:{}: {}", r.file, r.line, r.reason);
        }
        for m in file.matches {
            by_id.entry(m.match_id()).or_insert(m);
        }
    }
    let mut v: Vec<FdMatch> = by_id.into_values().collect();
    v.sort_by_key(|m| (m.kickoff, m.match_id()));
    Ok(v)
}

fn run(records: &[Record], cfg: &WalkForwardConfig, policies: Vec<PolicySpec>) -> Result<Outputs> {
    let items: Vec<Payload> = records.iter().cloned().map(Payload::Decoded).collect();
    let rc = RunConfig {
        progress: false,
        keep_outputs: true,
        policies,
        bookmaker: BookmakerConfig {
            bankroll: cfg.bankroll,
            ..BookmakerConfig::default()
        },
        seed: cfg.seed,
        ..RunConfig::default()
    };
    let (outputs, stats) = replay(
        memory_feed(items),
        &rc,
        None,
        timely::Config::process(cfg.workers.max(1)),
    )?
    .context("the replay hosts worker 0 in this process")?;
    eprintln!(
        "replayed {} records in {:.1} s",
        outputs.summary.records_in, stats.elapsed_s
    );
    Ok(outputs)
}

/// One settled single bet.
struct Bet {
    policy: String,
    match_id: MatchId,
    market: MarketKind,
    selection: Selection,
    price: f64,
    stake: f64,
    payout: f64,
    kickoff: i64,
    settled_at: u64,
}

fn bets_of(outputs: &Outputs, rename: &[(&str, &str)]) -> Vec<Bet> {
    let b = &outputs.betting;
    let standing = crate::betting::ledger::standing_settlements(b);
    let mut out = Vec::new();
    for d in &b.decisions {
        let (Ok(legs), Some((settled, at))) = (&d.verdict, standing.get(&d.request.id)) else {
            continue;
        };
        let [leg] = legs.as_slice() else { continue };
        let name = b
            .policies
            .get(usize::from(d.request.id.policy))
            .cloned()
            .unwrap_or_default();
        let name = rename
            .iter()
            .find(|(from, _)| *from == name)
            .map_or(name.clone(), |(_, to)| (*to).to_owned());
        out.push(Bet {
            policy: name,
            match_id: leg.leg.match_id,
            market: leg.leg.market,
            selection: leg.leg.selection,
            price: leg.price.0,
            stake: settled.stake.0,
            payout: settled.payout.0,
            kickoff: leg.leg.kickoff,
            settled_at: *at,
        });
    }
    out
}

/// The margin-free Pinnacle close of a selection, where the file has Pinnacle's close.
fn pinnacle_fair(m: &FdMatch, market: MarketKind, selection: Selection) -> Option<f64> {
    let fm = m.market(market)?;
    if fm.close_source != "Pinnacle" {
        return None;
    }
    let close = fm.close.as_ref()?;
    let k = fm.selections.iter().position(|s| *s == selection)?;
    Some(1.0 / proportional(close)?[k])
}

/// Percentile bootstrap of a mean over match-days (`(day, value)` pairs): the days are
/// resampled, each with its values' sum and count.
fn bootstrap_mean(values: &[(i64, f64)], resamples: usize, seed: u64) -> Option<(f64, f64)> {
    if values.len() < crate::betting::metrics::MIN_INTERVAL_SAMPLE {
        return None;
    }
    let mut days: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (d, v) in values {
        let e = days.entry(*d).or_default();
        e.0 += v;
        e.1 += 1.0;
    }
    let days: Vec<(f64, f64)> = days.into_values().collect();
    bootstrap_days(&days, resamples, 0.95, seed)
}

fn policy_row(
    season: &str,
    policy: &str,
    bets: &[&Bet],
    matches: &HashMap<MatchId, &FdMatch>,
    cfg: &WalkForwardConfig,
) -> PolicyRow {
    let settled: Vec<SettledBet> = bets
        .iter()
        .map(|b| SettledBet {
            settled_at: b.settled_at as i64,
            match_day: b.kickoff.div_euclid(DAY_MS),
            stake: b.stake,
            price: b.price,
            payout: b.payout,
            close: None,
            fair_close: None,
        })
        .collect();
    let totals = metrics(&settled, 0.0);
    let clv: Vec<(i64, f64)> = bets
        .iter()
        .filter_map(|b| {
            let m = matches.get(&b.match_id)?;
            let fair = pinnacle_fair(m, b.market, b.selection)?;
            Some((b.kickoff.div_euclid(DAY_MS), b.price / fair - 1.0))
        })
        .collect();
    // Drawdown in money: the largest fall of the cumulative profit from its running peak.
    let (mut peak, mut dd) = (0.0f64, 0.0f64);
    for (_, cum) in bankroll_curve(&settled, 0.0) {
        peak = peak.max(cum);
        dd = dd.max(peak - cum);
    }
    PolicyRow {
        season: season.to_owned(),
        policy: policy.to_owned(),
        bets: bets.len(),
        // `+ 0.0`: an empty float sum is −0.0.
        turnover: totals.turnover + 0.0,
        profit: totals.profit + 0.0,
        roi: totals.roi,
        roi_interval: bootstrap_roi(&settled, cfg.resamples, 0.95, cfg.seed),
        clv_bets: clv.len(),
        clv: (!clv.is_empty()).then(|| clv.iter().map(|c| c.1).sum::<f64>() / clv.len() as f64),
        clv_interval: bootstrap_mean(&clv, cfg.resamples, cfg.seed),
        max_drawdown: dd,
    }
}

/// Runs the whole evaluation (see the module docs).
pub fn walk_forward(cfg: &WalkForwardConfig) -> Result<WalkForward> {
    let matches = load_matches(&cfg.files)?;
    anyhow::ensure!(!matches.is_empty(), "no matches in {:?}", cfg.files);
    let mut seasons: Vec<String> = matches.iter().map(|m| m.season.clone()).collect();
    seasons.sort();
    seasons.dedup();
    anyhow::ensure!(
        seasons.len() >= 2,
        "walk-forward needs at least two seasons (one to train on): got {seasons:?}"
    );
    let test_seasons: Vec<String> = seasons[1..].to_vec();
    let mut b = FeedBuilder::new();
    for m in &matches {
        football_data::push_match(&mut b, m);
    }
    let records = b.finish();
    eprintln!(
        "{} matches, {} seasons, {} records",
        matches.len(),
        seasons.len(),
        records.len()
    );

    // 1. The baselines on real prices.
    let baselines = PolicySpec::baselines(cfg.seed, false);
    let outputs = run(&records, cfg, baselines)?;
    // 2. Each match at its close: ratings as the dataflow had them, the forecasts, the sample.
    let at_close = matches_at_close(&matches, &outputs);
    // 3. The learner head, walk-forward by season; its forecasts and bets.
    let head = learner_head(&at_close, &test_seasons, cfg);
    // 4. Scores of the forecasts.
    let scores = forecast_scores(&at_close, &head.forecasts, &seasons[0], &test_seasons);
    // 5. The learner head's bets through the bookmaker, then every policy's results.
    std::fs::create_dir_all(&cfg.out).with_context(|| format!("creating {}", cfg.out.display()))?;
    let learner_out = run(&records, cfg, vec![PolicySpec::Scripted(head.bets)])?;
    write_outputs(&cfg.out, &outputs, &Default::default())?;
    write_outputs(&cfg.out.join("learner"), &learner_out, &Default::default())?;
    let policies = policy_rows(
        &matches,
        &outputs,
        &learner_out,
        &seasons[0],
        &test_seasons,
        cfg,
    );
    let result = WalkForward {
        matches: matches.len(),
        seasons: seasons.clone(),
        test_seasons,
        scores,
        policies,
        head_training: head.training,
    };
    std::fs::write(
        cfg.out.join("walk_forward.json"),
        serde_json::to_string_pretty(&result)?,
    )?;
    std::fs::write(cfg.out.join("walk_forward.md"), format_markdown(&result))?;
    Ok(result)
}

/// Each match at its close: the team ratings and league averages the baselines' run had then
/// (swept forwards as of each close), the value model's and the market's 1X2, the learner
/// head's sample.
fn matches_at_close(matches: &[FdMatch], outputs: &Outputs) -> Vec<AtClose> {
    let mut ratings: AsOf<(String, TeamId), TeamRating, u64> =
        AsOf::new(outputs.team_ratings.clone());
    let mut leagues: AsOf<String, LeagueAverages, u64> = AsOf::new(outputs.league_averages.clone());
    let rho = ValueConfig::default().dixon_coles_rho;
    let mut at_close: Vec<AtClose> = Vec::with_capacity(matches.len());
    for m in matches {
        let t = (m.kickoff - CLOSE_LEAD_MS).max(0) as u64;
        ratings.advance(&t);
        leagues.advance(&t);
        let fixture = football_data::fixture(m, 0, "");
        let mut view = View::default();
        for team in [fixture.home.id, fixture.away.id] {
            let key = (m.league.clone(), team);
            if let Some(r) = ratings.get(&key) {
                view.ratings.insert(key, r.clone());
            }
        }
        if let Some(l) = leagues.get(&m.league) {
            view.leagues.insert(m.league.clone(), l.clone());
        }
        let value = GoalModel::new([0, 0], prematch_rates(&view, &fixture), rho).one_x_two();
        let quotes = close_quotes(m);
        let fv = prematch_vector(
            view.ratings.get(&(m.league.clone(), fixture.home.id)),
            view.ratings.get(&(m.league.clone(), fixture.away.id)),
            &quotes,
        );
        let won = std::array::from_fn(|k| {
            let (mk, s) = SELECTIONS[k];
            quotes.contains_key(&(mk, s)).then(|| {
                let listed: Vec<Selection> = vec![];
                settle(mk, s, &listed, &facts(m)) == Ok(Outcome::Won)
            })
        });
        at_close.push(AtClose {
            sample: Sample {
                x: encode_prematch(&fv, &quotes),
                won,
            },
            pinnacle: m.pinnacle_close.and_then(|p| {
                let f = proportional(&p)?;
                Some([f[0], f[1], f[2]])
            }),
            value,
            quotes,
            m: m.clone(),
        });
    }

    at_close
}

/// What the learner head gives on the test seasons.
struct Head {
    /// Its 1X2 forecast per match.
    forecasts: HashMap<MatchId, [f64; 3]>,
    /// Its bets at the close.
    bets: Vec<ScriptedBet>,
    /// Training samples per test season.
    training: BTreeMap<String, usize>,
}

/// The learner head, trained afresh for each test season on the matches of earlier seasons.
fn learner_head(at_close: &[AtClose], test_seasons: &[String], cfg: &WalkForwardConfig) -> Head {
    let mut learner: HashMap<MatchId, [f64; 3]> = HashMap::new();
    let mut scripted: Vec<ScriptedBet> = Vec::new();
    let mut head_training = BTreeMap::new();
    for season in test_seasons {
        let train: Vec<Sample> = at_close
            .iter()
            .filter(|a| a.m.season < *season)
            .map(|a| a.sample.clone())
            .collect();
        head_training.insert(season.clone(), train.len());
        eprintln!(
            "season {season}: training the learner head on {} earlier matches",
            train.len()
        );
        let head = train_head(
            &train,
            &HeadTraining {
                seed: cfg.seed,
                ..cfg.head.clone()
            },
        );
        let test: Vec<&AtClose> = at_close.iter().filter(|a| a.m.season == *season).collect();
        let xs: Vec<Vec<f32>> = test.iter().map(|a| a.sample.x.clone()).collect();
        for (a, p) in test.iter().zip(head.predict(&xs)) {
            if let (Some(h), Some(d), Some(w)) = (p[0], p[1], p[2]) {
                let total = h + d + w;
                learner.insert(a.m.match_id(), [h / total, d / total, w / total]);
            }
            let best = SELECTIONS
                .iter()
                .zip(p)
                .filter_map(|(key, p)| {
                    let q = a.quotes.get(key)?;
                    let edge = p? * q.price.0 - 1.0;
                    (q.price.0 <= cfg.max_price).then_some((edge, *key))
                })
                .max_by(|x, y| x.0.total_cmp(&y.0));
            if let Some((edge, (mk, s))) = best
                && edge >= cfg.min_prob_edge
            {
                scripted.push(ScriptedBet {
                    at: (a.m.kickoff - CLOSE_LEAD_MS).max(0) as u64,
                    legs: vec![(a.m.match_id(), mk, s)],
                    stake: cfg.stake,
                });
            }
        }
    }

    Head {
        forecasts: learner,
        bets: scripted,
        training: head_training,
    }
}

/// Log loss, Brier and RPS of each forecaster per test season and over all, on the matches
/// every forecaster has.
fn forecast_scores(
    at_close: &[AtClose],
    learner: &HashMap<MatchId, [f64; 3]>,
    first_season: &str,
    test_seasons: &[String],
) -> Vec<ScoreRow> {
    let mut scores = Vec::new();
    for season in test_seasons.iter().map(String::as_str).chain(["all"]) {
        let mut acc: BTreeMap<&str, Scores> = BTreeMap::new();
        for a in at_close
            .iter()
            .filter(|a| a.m.season != first_season && (season == "all" || a.m.season == season))
        {
            // Only matches every forecaster has, so that the scores compare.
            let (Some(pin), Some(lrn)) = (a.pinnacle, learner.get(&a.m.match_id())) else {
                continue;
            };
            let y = outcome_1x2(a.m.full_time);
            add_score(
                acc.entry("Pinnacle close (margin-free)").or_default(),
                pin,
                y,
            );
            add_score(acc.entry("value model").or_default(), a.value, y);
            add_score(acc.entry("learner probability head").or_default(), *lrn, y);
        }
        for (model, s) in acc {
            scores.push(ScoreRow {
                season: season.to_owned(),
                model: model.to_owned(),
                scores: s.mean(),
            });
        }
    }

    scores
}

/// Every policy's results (the baselines' and the learner head's bets) per test season and over
/// all.
fn policy_rows(
    matches: &[FdMatch],
    outputs: &Outputs,
    learner_out: &Outputs,
    first_season: &str,
    test_seasons: &[String],
    cfg: &WalkForwardConfig,
) -> Vec<PolicyRow> {
    let by_id: HashMap<MatchId, &FdMatch> = matches.iter().map(|m| (m.match_id(), m)).collect();
    let mut bets = bets_of(outputs, &[]);
    bets.extend(bets_of(learner_out, &[("scripted", "drqn-head")]));
    let in_test = |b: &&Bet| {
        by_id
            .get(&b.match_id)
            .is_some_and(|m| m.season != first_season)
    };
    let mut names: Vec<String> = outputs.betting.policies.clone();
    names.push("drqn-head".into());
    let mut policies = Vec::new();
    for season in ["all"]
        .into_iter()
        .chain(test_seasons.iter().map(String::as_str))
    {
        for name in &names {
            let mine: Vec<&Bet> = bets
                .iter()
                .filter(in_test)
                .filter(|b| b.policy == *name)
                .filter(|b| season == "all" || by_id[&b.match_id].season == season)
                .collect();
            policies.push(policy_row(season, name, &mine, &by_id, cfg));
        }
    }
    policies
}

fn interval(i: Option<(f64, f64)>) -> String {
    i.map_or("–".into(), |(lo, hi)| {
        format!("[{:+.1} %, {:+.1} %]", lo * 100.0, hi * 100.0)
    })
}

/// A result's verdict: profit only when the whole ROI interval is above zero.
pub fn verdict(r: &PolicyRow) -> &'static str {
    match r.roi_interval {
        _ if r.bets == 0 => "no bets",
        Some((lo, _)) if lo > 0.0 => "profit (interval above 0)",
        Some((_, hi)) if hi < 0.0 => "loss (interval below 0)",
        Some(_) => "not distinguishable from 0",
        None => "too few match-days",
    }
}

/// The tables of `walk_forward.md`.
pub fn format_markdown(w: &WalkForward) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "Walk-forward on football-data.co.uk: {} matches, seasons {} (test: {}).\n\n",
        w.matches,
        w.seasons.join(", "),
        w.test_seasons.join(", ")
    ));
    s.push_str("1X2 probabilities at the close, test seasons (lower is better):\n\n");
    s.push_str(
        "| season | model | matches | log loss | Brier | RPS |\n|---|---|---:|---:|---:|---:|\n",
    );
    for r in &w.scores {
        s.push_str(&format!(
            "| {} | {} | {} | {:.4} | {:.4} | {:.4} |\n",
            r.season, r.model, r.scores.matches, r.scores.log_loss, r.scores.brier, r.scores.rps
        ));
    }
    s.push_str(
        "\nPolicies on real prematch prices, test seasons (ROI and CLV with 95 % bootstrap intervals over match-days; CLV against the margin-free Pinnacle close):\n\n",
    );
    s.push_str("| season | policy | bets | turnover | profit | ROI | ROI interval | CLV bets | CLV | CLV interval | max drawdown | verdict |\n|---|---|---:|---:|---:|---:|---|---:|---:|---|---:|---|\n");
    for r in &w.policies {
        s.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:+.0} | {:+.2} % | {} | {} | {} | {} | {:.0} | {} |\n",
            r.season,
            r.policy,
            r.bets,
            r.turnover,
            r.profit,
            r.roi * 100.0,
            interval(r.roi_interval),
            r.clv_bets,
            r.clv.map_or("–".into(), |c| format!("{:+.2} %", c * 100.0)),
            interval(r.clv_interval),
            r.max_drawdown,
            verdict(r)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_their_definitions() {
        let mut acc = Scores::default();
        add_score(&mut acc, [0.5, 0.3, 0.2], [1.0, 0.0, 0.0]);
        let s = acc.mean();
        assert!((s.log_loss - (-(0.5f64).ln())).abs() < 1e-12);
        assert!((s.brier - (0.25 + 0.09 + 0.04)).abs() < 1e-12);
        // Cumulative: (0.5 − 1)² + (0.8 − 1)², halved.
        assert!((s.rps - (0.25 + 0.04) / 2.0).abs() < 1e-12);
        let mut away = Scores::default();
        add_score(&mut away, [0.5, 0.3, 0.2], [0.0, 0.0, 1.0]);
        // RPS punishes a forecast far from the outcome more: (0.5)² + (0.8)², halved.
        assert!((away.mean().rps - (0.25 + 0.64) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn verdicts_need_the_whole_interval() {
        let row = |i| PolicyRow {
            bets: 10,
            roi_interval: i,
            ..PolicyRow::default()
        };
        assert_eq!(
            verdict(&row(Some((0.01, 0.2)))),
            "profit (interval above 0)"
        );
        assert_eq!(
            verdict(&row(Some((-0.01, 0.2)))),
            "not distinguishable from 0"
        );
        assert_eq!(
            verdict(&row(Some((-0.2, -0.01)))),
            "loss (interval below 0)"
        );
    }

    #[test]
    fn bootstrap_mean_brackets_the_mean() {
        let v: Vec<(i64, f64)> = (0..200).map(|i| (i / 4, (i % 7) as f64 / 100.0)).collect();
        let (lo, hi) = bootstrap_mean(&v, 500, 3).expect("many days");
        let mean = v.iter().map(|x| x.1).sum::<f64>() / v.len() as f64;
        assert!(lo < mean && mean < hi, "{lo} {mean} {hi}");
    }

    /// Two short real seasons end to end: every part of the report is there, the head trains only
    /// on the earlier season, and the Pinnacle close scores as a sane forecaster.
    #[test]
    fn walk_forward_on_two_excerpt_seasons() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real/football-data");
        let out = tempfile::tempdir().expect("tempdir");
        let mut cfg = WalkForwardConfig::new(
            vec![dir.join("E0_1516_head.csv"), dir.join("E0_2122_head.csv")],
            out.path().to_path_buf(),
        );
        cfg.head.updates = 20;
        cfg.resamples = 100;
        cfg.min_prob_edge = -1.0; // bet every match, to exercise the bookmaker path
        let w = walk_forward(&cfg).expect("runs");
        assert_eq!(w.test_seasons, vec!["2021-22".to_string()]);
        assert_eq!(w.head_training["2021-22"], 10);
        let all: Vec<&ScoreRow> = w.scores.iter().filter(|r| r.season == "all").collect();
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|r| r.scores.matches == 6));
        let pin = all
            .iter()
            .find(|r| r.model.starts_with("Pinnacle"))
            .expect("pinnacle");
        assert!(
            pin.scores.log_loss > 0.3 && pin.scores.log_loss < 2.0,
            "{pin:?}"
        );
        let head = w
            .policies
            .iter()
            .find(|r| r.season == "all" && r.policy == "drqn-head")
            .expect("head row");
        assert_eq!(head.bets, 6, "one bet per test match");
        assert_eq!(
            head.clv_bets, 6,
            "Pinnacle closes 1X2 and o/u 2.5 in 2021-22"
        );
        assert!(out.path().join("walk_forward.md").exists());
        assert!(out.path().join("learner/bets.parquet").exists());
        // Nothing from the training season is scored or counted.
        assert!(w.policies.iter().all(|r| r.season != "2015-16"));
    }
}
