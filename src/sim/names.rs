//! Name lists for the simulated world: towns, club suffixes, venues, people, abandonment reasons.

pub(crate) const TOWNS: [&str; 48] = [
    "Ashford", "Barrowby", "Caldmoor", "Dunhaven", "Eastwick", "Fairbourne", "Glenrock", "Hartwell",
    "Ironbridge", "Kingsmere", "Lowfield", "Marlow", "Northbridge", "Oakham", "Portsea", "Queensport",
    "Redcliffe", "Stanmore", "Thornbury", "Upton", "Valemouth", "Westbury", "Yarrow", "Zennor",
    "Aldgate", "Brackley", "Coldstream", "Dovercourt", "Elmstead", "Farnley", "Greystone", "Holloway",
    "Invergarry", "Kestrel Bay", "Lindon", "Millbrook", "Newhaven", "Oldcastle", "Pennington", "Rosewood",
    "Saltmarsh", "Tidewater", "Ulverston", "Wolverton", "Brightwater", "Cliffton", "Highmoor", "Riverton",
];

pub(crate) const CLUB_SUFFIXES: [&str; 8] =
    ["United", "City", "Rovers", "Athletic", "Town", "Wanderers", "Albion", "Rangers"];

pub(crate) const VENUE_KINDS: [&str; 5] = ["Stadium", "Park", "Arena", "Ground", "Road"];

pub(crate) const FIRST_NAMES: [&str; 48] = [
    "Aaron", "Ben", "Carlos", "Daniel", "Emil", "Felix", "Gabriel", "Hugo", "Ivan", "Jonas", "Kai",
    "Luca", "Mateo", "Nico", "Oscar", "Pablo", "Quentin", "Rafael", "Samuel", "Tomas", "Umar",
    "Victor", "William", "Xavier", "Yusuf", "Zane", "Adrian", "Bruno", "Cian", "Diego", "Elias",
    "Finn", "Goran", "Henrik", "Idris", "Jamal", "Kofi", "Leon", "Marco", "Noah", "Owen", "Pedro",
    "Rory", "Sven", "Theo", "Ulrich", "Vito", "Wes",
];

pub(crate) const SURNAMES: [&str; 64] = [
    "Abbott", "Berger", "Costa", "Dumont", "Eriksen", "Fischer", "Garcia", "Hansen", "Ibrahim",
    "Jansen", "Kovac", "Larsen", "Moreau", "Novak", "Okafor", "Petrov", "Quinn", "Rossi", "Silva",
    "Torres", "Urban", "Vidal", "Weber", "Yilmaz", "Zielinski", "Andersen", "Baker", "Conte",
    "Duarte", "Evans", "Ferreira", "Gomez", "Holm", "Iversen", "Jovanovic", "Keller", "Lopez",
    "Mendes", "Nilsson", "Ortega", "Pereira", "Ramos", "Schmidt", "Tanaka", "Uzun", "Varga", "Walsh",
    "Young", "Zeller", "Bauer", "Carvalho", "Diallo", "Engel", "Fofana", "Grant", "Hughes", "Ito",
    "Kane", "Lindqvist", "Mensah", "Nunez", "Osei", "Park", "Reyes",
];

pub(crate) const ABANDON_REASONS: [&str; 5] = [
    "floodlight failure",
    "waterlogged pitch",
    "crowd disturbance",
    "serious injury",
    "thunderstorm",
];
