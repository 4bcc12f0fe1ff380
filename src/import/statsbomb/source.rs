//! The StatsBomb JSON records (matches file, events, lineups) as read, and the parsers of their
//! dates, clock timestamps and player ids.

use oddsflow_dataflows::model::PlayerId;
use serde::Deserialize;

use super::formation_label;
use crate::import::stable_id;

pub(super) fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let mut it = s.trim().split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d) && it.next().is_none()).then_some((y, m, d))
}

/// `00:21:36.115` → milliseconds.
pub(super) fn parse_timestamp(s: &str) -> Option<i64> {
    let mut it = s.trim().split(':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let sec: f64 = it.next()?.parse().ok()?;
    // Within a day (hours, minutes and seconds in range): anything else is corrupt.
    (it.next().is_none()
        && (0..24).contains(&h)
        && (0..60).contains(&m)
        && sec.is_finite()
        && (0.0..60.0).contains(&sec))
    .then(|| (h * 3600 + m * 60) * 1000 + (sec * 1000.0).round() as i64)
}

pub(super) fn player_id(id: u64) -> PlayerId {
    u32::try_from(id).unwrap_or_else(|_| {
        (stable_id(&["statsbomb player", &id.to_string()]) & 0xffff_ffff) as u32
    })
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct Named {
    #[serde(default)]
    pub(super) id: Option<u64>,
    #[serde(default)]
    pub(super) name: Option<String>,
}

impl Named {
    pub(super) fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

pub(super) fn name_of(n: &Option<Named>) -> &str {
    n.as_ref().map_or("", Named::name)
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct SbHomeTeam {
    pub(super) home_team_id: u64,
    pub(super) home_team_name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct SbAwayTeam {
    pub(super) away_team_id: u64,
    pub(super) away_team_name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct SbCompetition {
    #[serde(default)]
    pub(super) competition_name: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct SbMatch {
    pub(super) match_id: u64,
    pub(super) match_date: String,
    #[serde(default)]
    pub(super) kick_off: Option<String>,
    #[serde(default)]
    pub(super) competition: Option<SbCompetition>,
    pub(super) home_team: SbHomeTeam,
    pub(super) away_team: SbAwayTeam,
    #[serde(default)]
    pub(super) home_score: Option<u32>,
    #[serde(default)]
    pub(super) away_score: Option<u32>,
    #[serde(default)]
    pub(super) stadium: Option<Named>,
    #[serde(default)]
    pub(super) referee: Option<Named>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct SbShot {
    #[serde(default)]
    pub(super) statsbomb_xg: Option<f64>,
    #[serde(default)]
    pub(super) outcome: Option<Named>,
    #[serde(default, rename = "type")]
    pub(super) kind: Option<Named>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct SbPass {
    #[serde(default, rename = "type")]
    pub(super) kind: Option<Named>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct SbCard {
    #[serde(default)]
    pub(super) card: Option<Named>,
    #[serde(default)]
    pub(super) penalty: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct SbSubstitution {
    #[serde(default)]
    pub(super) replacement: Option<Named>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct SbTacticsPlayer {
    pub(super) player: Named,
    #[serde(default)]
    pub(super) position: Option<Named>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct SbTactics {
    #[serde(default)]
    pub(super) formation: Option<serde_json::Value>,
    #[serde(default)]
    pub(super) lineup: Vec<SbTacticsPlayer>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct SbEvent {
    #[serde(default)]
    pub(super) id: String,
    #[serde(default)]
    pub(super) index: u64,
    pub(super) period: u8,
    pub(super) timestamp: String,
    pub(super) minute: i32,
    pub(super) second: i32,
    #[serde(rename = "type")]
    pub(super) kind: Named,
    #[serde(default)]
    pub(super) team: Option<Named>,
    #[serde(default)]
    pub(super) player: Option<Named>,
    #[serde(default)]
    pub(super) possession_team: Option<Named>,
    #[serde(default)]
    pub(super) related_events: Vec<String>,
    #[serde(default)]
    pub(super) shot: Option<SbShot>,
    #[serde(default)]
    pub(super) pass: Option<SbPass>,
    #[serde(default)]
    pub(super) foul_committed: Option<SbCard>,
    #[serde(default)]
    pub(super) bad_behaviour: Option<SbCard>,
    #[serde(default)]
    pub(super) substitution: Option<SbSubstitution>,
    #[serde(default)]
    pub(super) tactics: Option<SbTactics>,
}

impl SbEvent {
    pub(super) fn kind(&self) -> &str {
        self.kind.name()
    }
    pub(super) fn team_id(&self) -> Option<u64> {
        self.team.as_ref().and_then(|t| t.id)
    }
    pub(super) fn player(&self) -> Option<PlayerId> {
        self.player.as_ref().and_then(|p| p.id).map(player_id)
    }
    pub(super) fn clock_s(&self) -> i32 {
        (self.minute * 60 + self.second).max(0)
    }
    pub(super) fn formation(&self) -> String {
        match self.tactics.as_ref().and_then(|t| t.formation.as_ref()) {
            Some(serde_json::Value::Number(n)) => formation_label(&n.to_string()),
            Some(serde_json::Value::String(s)) => formation_label(s),
            _ => String::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct SbPosition {
    #[serde(default)]
    pub(super) position: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct SbSquadPlayer {
    pub(super) player_id: u64,
    #[serde(default)]
    pub(super) player_name: Option<String>,
    #[serde(default)]
    pub(super) player_nickname: Option<String>,
    #[serde(default)]
    pub(super) positions: Vec<SbPosition>,
}

impl SbSquadPlayer {
    pub(super) fn name(&self) -> String {
        self.player_nickname
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .or(self.player_name.as_deref())
            .unwrap_or("")
            .to_owned()
    }
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct SbTeamSheet {
    pub(super) team_id: u64,
    #[serde(default)]
    pub(super) lineup: Vec<SbSquadPlayer>,
}
