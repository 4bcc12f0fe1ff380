//! `cargo bench --bench fuzz [-- --cases N]`: the mutation fuzzer of `tests/common/fuzz.rs`
//! over every target, N cases in all (default 10^6, spread as in `tests/fuzz.rs`), printing
//! cases, time and panics per target. Exits non-zero on any panic, printing the inputs.

#[path = "../tests/common/fuzz.rs"]
mod fuzz;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let total: u64 = args
        .iter()
        .position(|a| a == "--cases")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let scratch = tempfile::tempdir().expect("tempdir");
    let targets = fuzz::targets(scratch.path());
    // The suite's shares of 10,000, scaled.
    let share = |name: &str| match name {
        "record decoder" => 5_000,
        "changelog reader" => 1_500,
        "StatsBomb events" => 500,
        _ => 1_000,
    };
    let mut panicked = 0;
    let mut sum = 0;
    println!("| target | cases | seconds | cases/s | accepted | panics |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (i, t) in targets.iter().enumerate() {
        let n = total * share(t.name) / 10_000;
        let r = fuzz::fuzz(t, n, 77_000 + i as u64, scratch.path());
        println!(
            "| {} | {} | {:.1} | {:.0} | {} | {} |",
            r.name,
            r.cases,
            r.seconds,
            r.cases as f64 / r.seconds.max(1e-9),
            r.accepted,
            r.panics.len()
        );
        sum += r.cases;
        for (input, msg) in r.panics.iter().take(5) {
            eprintln!(
                "{}: {msg}\n  input: {:?}",
                r.name,
                String::from_utf8_lossy(&input[..input.len().min(400)])
            );
        }
        panicked += r.panics.len();
    }
    println!("{sum} cases, {panicked} panics");
    if panicked > 0 {
        std::process::exit(1);
    }
}
