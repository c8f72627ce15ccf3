//! `demo-app`: see the demo-app contract for its environment and routes.

use std::process::ExitCode;

use demo_app::config::DemoConfig;
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> ExitCode {
    let doctor = std::env::args().nth(1).as_deref() == Some("doctor");
    // The doctor's own lines are its output: the log says only what went wrong, on stderr.
    let default_filter = if doctor { "error" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .with_writer(move || -> Box<dyn std::io::Write> {
            if doctor {
                Box::new(std::io::stderr())
            } else {
                Box::new(std::io::stdout())
            }
        })
        .init();
    let config = match DemoConfig::from_env() {
        Ok(config) => config,
        Err(error) if doctor => {
            println!("✗ 설정 오류: {error} · Configuration error: {error}");
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("demo-app: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    if std::env::args().nth(1).as_deref() == Some("import-django") {
        let args: Vec<String> = std::env::args().skip(2).collect();
        return ExitCode::from(demo_app::import_django::command(&config, &args).await);
    }
    if doctor {
        let lines = demo_app::doctor::run(&config).await;
        for line in &lines {
            println!("{line}");
        }
        return if lines.iter().all(|l| l.ok) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let app = match demo_app::app::start(config).await {
        Ok(app) => app,
        Err(error) => {
            eprintln!("demo-app: cannot start: {error}");
            return ExitCode::from(1);
        }
    };
    println!("demo-app: open {}/ in a browser", app.url);
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo-app: server error: {error}");
            ExitCode::FAILURE
        }
    }
}
