//! `oddsflow`: parse the arguments, run the command, turn an error into an exit code.
use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match oddsflow::cli::run(oddsflow::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let status = oddsflow::commands::exit_status(&e);
            if status == oddsflow::commands::EXIT_INPUT_ENDED_EARLY {
                eprintln!("warning: {e:#}");
            } else {
                eprintln!("error: {e:#}");
            }
            std::process::ExitCode::from(status)
        }
    }
}
