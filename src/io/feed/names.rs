//! The short string forms of the model's enums in the feed's Parquet columns (the same names as
//! their serde snake_case form), both ways.
//!
//! **In:** a [`Side`], [`MatchStatus`], card, VAR decision, market status, phase, [`Selection`]
//! or [`MarketKind`]. **Out:** its short name (`"home"`, `"first_half"`, a correct score as
//! `"2-1"`; a market as its name plus its line and goal number), and back: a name parses to the
//! value, or to `None` when it names nothing.

use oddsflow_dataflows::model::{
    CardKind, F64, Line, MarketKind, MarketStatus, MatchStatus, Phase, Selection, Side, VarDecision,
};

macro_rules! short_names {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl ShortName for $ty {
            fn short(&self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }
            fn parse_short(s: &str) -> Option<Self> {
                match s { $($name => Some($ty::$variant),)* _ => None }
            }
        }
    };
}

/// An enum's short string form, both ways.
pub(super) trait ShortName: Sized {
    /// The short name.
    fn short(&self) -> &'static str;
    /// The value a short name names.
    fn parse_short(s: &str) -> Option<Self>;
}

short_names!(Side { Home => "home", Away => "away" });
short_names!(MatchStatus {
    Scheduled => "scheduled",
    FirstHalf => "first_half",
    HalfTime => "half_time",
    SecondHalf => "second_half",
    Finished => "finished",
    Abandoned => "abandoned",
    Postponed => "postponed",
});
short_names!(CardKind { Yellow => "yellow", SecondYellow => "second_yellow", Red => "red" });
short_names!(VarDecision {
    GoalConfirmed => "goal_confirmed",
    GoalOverturned => "goal_overturned",
    PenaltyAwarded => "penalty_awarded",
    PenaltyOverturned => "penalty_overturned",
    RedCard => "red_card",
});
short_names!(MarketStatus { Open => "open", Suspended => "suspended", Closed => "closed" });
short_names!(Phase { Prematch => "prematch", InPlay => "in_play" });

/// The enum named by an optional short name.
pub(super) fn parse<T: ShortName>(s: &Option<String>) -> Option<T> {
    T::parse_short(s.as_deref()?)
}

/// `home`, …, or a correct score as `"2-1"`.
pub(crate) fn selection_short(s: Selection) -> String {
    let name = match s {
        Selection::Home => "home",
        Selection::Draw => "draw",
        Selection::Away => "away",
        Selection::Over => "over",
        Selection::Under => "under",
        Selection::Yes => "yes",
        Selection::No => "no",
        Selection::HomeOrDraw => "home_or_draw",
        Selection::DrawOrAway => "draw_or_away",
        Selection::HomeOrAway => "home_or_away",
        Selection::NoGoal => "no_goal",
        Selection::AnyOther => "any_other",
        Selection::Score { home, away } => return format!("{home}-{away}"),
    };
    name.to_owned()
}

/// The selection of a [`selection_short`] name.
pub(super) fn parse_selection(s: &str) -> Option<Selection> {
    Some(match s {
        "home" => Selection::Home,
        "draw" => Selection::Draw,
        "away" => Selection::Away,
        "over" => Selection::Over,
        "under" => Selection::Under,
        "yes" => Selection::Yes,
        "no" => Selection::No,
        "home_or_draw" => Selection::HomeOrDraw,
        "draw_or_away" => Selection::DrawOrAway,
        "home_or_away" => Selection::HomeOrAway,
        "no_goal" => Selection::NoGoal,
        "any_other" => Selection::AnyOther,
        _ => {
            let (h, a) = s.split_once('-')?;
            Selection::Score {
                home: h.parse().ok()?,
                away: a.parse().ok()?,
            }
        }
    })
}

/// The market's short name, line (goals) and goal number.
pub(crate) fn market_short(m: MarketKind) -> (&'static str, Option<f64>, Option<u8>) {
    match m {
        MarketKind::MatchOdds => ("match_odds", None, None),
        MarketKind::OverUnder { line } => ("over_under", Some(line.goals()), None),
        MarketKind::Btts => ("btts", None, None),
        MarketKind::NextGoal { goal } => ("next_goal", None, Some(goal)),
        MarketKind::DoubleChance => ("double_chance", None, None),
        MarketKind::CorrectScore => ("correct_score", None, None),
        MarketKind::AsianHandicap { line } => ("asian_handicap", Some(line.goals()), None),
        MarketKind::CornersOverUnder { line } => ("corners_over_under", Some(line.goals()), None),
    }
}

/// The market of a [`market_short`] name, line (goals) and goal number; `None` when the name is
/// unknown or the line or goal it needs is missing (or the line is not a multiple of 0.25).
pub(super) fn parse_market(
    name: Option<&str>,
    line: Option<F64>,
    goal: Option<u8>,
) -> Option<MarketKind> {
    let line = || line.and_then(|l| Line::from_goals(l.0));
    Some(match name? {
        "match_odds" => MarketKind::MatchOdds,
        "over_under" => MarketKind::OverUnder { line: line()? },
        "btts" => MarketKind::Btts,
        "next_goal" => MarketKind::NextGoal { goal: goal? },
        "double_chance" => MarketKind::DoubleChance,
        "correct_score" => MarketKind::CorrectScore,
        "asian_handicap" => MarketKind::AsianHandicap { line: line()? },
        "corners_over_under" => MarketKind::CornersOverUnder { line: line()? },
        _ => return None,
    })
}
