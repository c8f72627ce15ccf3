//! The bare Actix baseline: the protected page's body from a plain handler, no session, no
//! middleware. Run by the bench as a child process (`--serve-baseline ADDR --body-file PATH`)
//! so that its CPU and memory are read from `/proc` exactly like the app's.

use std::path::Path;

use actix_web::web::Bytes;
use actix_web::{web, App, HttpResponse, HttpServer};

/// The path served (the same as the app's protected page).
pub const PATH: &str = "/download-list/";

/// Serves `body` on `GET /download-list/` at `addr` until killed. Workers: Actix's default
/// (one per CPU), as in the demo app.
pub fn serve(addr: &str, body_file: &Path) -> Result<(), String> {
    let body =
        Bytes::from(std::fs::read(body_file).map_err(|e| format!("{}: {e}", body_file.display()))?);
    let system = actix_web::rt::System::new();
    system
        .block_on(async move {
            HttpServer::new(move || {
                let body = body.clone();
                App::new().route(
                    PATH,
                    web::get().to(move || {
                        let body = body.clone();
                        async move {
                            HttpResponse::Ok()
                                .content_type("text/html; charset=utf-8")
                                .body(body)
                        }
                    }),
                )
            })
            .bind(addr)?
            .run()
            .await
        })
        .map_err(|e| format!("baseline server on {addr}: {e}"))
}
