//! Lineup records: a side's eleven from a `Starting XI` or `Tactical Shift` event, with the rest of
//! the squad from the lineups file as bench.

use oddsflow_dataflows::model::{Lineup, Player, Side};

use super::load::Loaded;
use super::position_label;
use super::source::{SbEvent, SbSquadPlayer, name_of, player_id};

/// A side's lineup from a `Starting XI` or `Tactical Shift` event: the eleven (starter = on the
/// pitch) then the rest of the squad from the lineups file.
pub(super) fn lineup(l: &Loaded, side: Side, e: &SbEvent) -> Lineup {
    let squad: Vec<&SbSquadPlayer> = l
        .squads
        .iter()
        .filter(|s| s.team_id == l.team_id_of(side))
        .flat_map(|s| s.lineup.iter())
        .collect();
    let name_in_squad = |id: u64| squad.iter().find(|p| p.player_id == id).map(|p| p.name());
    let mut players: Vec<Player> = Vec::new();
    let mut on: Vec<u64> = Vec::new();
    for p in e.tactics.iter().flat_map(|t| t.lineup.iter()) {
        let Some(id) = p.player.id else { continue };
        on.push(id);
        players.push(Player {
            id: player_id(id),
            name: name_in_squad(id).unwrap_or_else(|| p.player.name().to_owned()),
            position: position_label(name_of(&p.position)),
            starter: true,
        });
    }
    for p in squad.iter().filter(|p| !on.contains(&p.player_id)) {
        players.push(Player {
            id: player_id(p.player_id),
            name: p.name(),
            position: p
                .positions
                .iter()
                .find_map(|x| x.position.as_deref())
                .map_or_else(|| "SUB".to_owned(), position_label),
            starter: false,
        });
    }
    Lineup {
        version: 0,
        side,
        formation: e.formation(),
        players,
    }
}
