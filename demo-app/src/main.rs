//! `demo-app`: see the demo-app contract for its environment and routes.

use std::process::ExitCode;

use demo_app::config::DemoConfig;
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = match DemoConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("demo-app: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
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
