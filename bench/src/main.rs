//! `kakao-bench`: complete Kakao logins per second and protected-page throughput of the demo
//! app against a bare Actix baseline, in one run. See `--help` and the README's performance
//! section.

mod args;
mod baseline;
mod bench;
mod child;
mod kakao;
mod load;
mod procfs;
mod report;
mod stores;
mod vu;

use std::process::ExitCode;

use args::Command;

fn main() -> ExitCode {
    let command = match args::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("kakao-bench: {e}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{}", args::HELP);
            ExitCode::SUCCESS
        }
        Command::ServeBaseline { addr, body_file } => match baseline::serve(&addr, &body_file) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kakao-bench baseline: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Bench(args) => {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(cores)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("kakao-bench: tokio runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(bench::run(*args)) {
                Ok(outcome) => {
                    report::print(&outcome);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("kakao-bench: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
