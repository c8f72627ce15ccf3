//! The bench's own Kakao emulator, on an Actix system of its own thread in this process
//! (so its CPU is not counted as the app's), with the latency knob.

use std::time::Duration;

use kakao_emulator::{Endpoint, Fault, Faults, KakaoEmulator};

/// The app's REST API key at the emulator.
pub const CLIENT_ID: &str = "kakao-bench-client";
/// The client secret (sent in the token request, as with a real Kakao app that has one).
pub const CLIENT_SECRET: &str = "kakao-bench-secret";

/// A running emulator: where it is and its fault table.
#[derive(Debug, Clone)]
pub struct Kakao {
    /// Base URL without the trailing slash, e.g. `http://127.0.0.1:PORT`.
    pub base: String,
    faults: Faults,
}

impl Kakao {
    /// Starts the emulator with `redirect_uri` registered; it runs until the process exits.
    pub fn start(redirect_uri: String, workers: usize) -> Result<Kakao, String> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("kakao-emulator".into())
            .spawn(move || {
                let system = actix_web::rt::System::new();
                system.block_on(async move {
                    let started = KakaoEmulator::builder()
                        .client_id(CLIENT_ID)
                        .client_secret(Some(CLIENT_SECRET.to_owned()))
                        .redirect_uri(redirect_uri)
                        .workers(workers)
                        .start()
                        .await;
                    match started {
                        Ok(emulator) => {
                            let _ = tx.send(Ok(Kakao {
                                base: emulator
                                    .base_url()
                                    .as_str()
                                    .trim_end_matches('/')
                                    .to_owned(),
                                faults: emulator.faults(),
                            }));
                            // Serve until the process exits.
                            std::future::pending::<()>().await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(format!("the Kakao emulator did not start: {e}")));
                        }
                    }
                });
            })
            .map_err(|e| format!("cannot start the emulator thread: {e}"))?;
        rx.recv_timeout(Duration::from_secs(30))
            .map_err(|_| "the Kakao emulator did not start within 30 s".to_owned())?
    }

    /// Delays every token and user-info answer by `ms` (0: no delay).
    pub fn set_latency_ms(&self, ms: u64) {
        for endpoint in [Endpoint::Token, Endpoint::UserMe] {
            if ms == 0 {
                self.faults.clear(endpoint);
            } else {
                self.faults
                    .set(endpoint, Fault::Delay(Duration::from_millis(ms)));
            }
        }
    }
}
