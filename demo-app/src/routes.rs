//! The demo's own pages. The login routes themselves come from `actix-kakao-auth`.

use actix_kakao_auth::{CurrentUser, LoginFailure, LoginRequired};
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::downloads::{self, DOWNLOADS};
use crate::link_data::LinkData;
use crate::pages::{DownloadsPage, HomePage, LoginErrorPage, LogoutPage, TermView, UserView};
use crate::state::AppState;
use crate::store::DieselUserStore;

/// Registers the demo's pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/healthz", web::get().to(healthz))
        .route("/login/error/", web::get().to(login_error))
        .route("/logout/", web::get().to(logout_page))
        .route("/static/app.css", web::get().to(stylesheet))
        .service(
            web::resource("/download-list/")
                .wrap(LoginRequired)
                .route(web::get().to(download_list)),
        )
        .service(
            web::resource("/account/")
                .wrap(LoginRequired)
                .route(web::get().to(account)),
        )
        .service(
            web::resource("/download/{name}")
                .wrap(LoginRequired)
                .route(web::get().to(download)),
        );
}

/// `GET /account/`: the user's links, a connect button for each configured provider
/// not linked yet, a disconnect button for each linked one (POST forms with the CSRF
/// token).
async fn account(
    state: web::Data<AppState>,
    current: CurrentUser<DieselUserStore>,
) -> HttpResponse {
    let links = match state.store.links_of(current.id).await {
        Ok(links) => links,
        Err(error) => {
            tracing::error!(%error, "account page: reading the links failed");
            return HttpResponse::ServiceUnavailable().body("service unavailable");
        }
    };
    let mut providers = vec!["kakao"];
    if state.naver {
        providers.push("naver");
    }
    let linked: Vec<crate::pages::LinkView> = links
        .iter()
        .map(|link| crate::pages::LinkView {
            provider: link.provider.clone(),
            label: crate::pages::provider_label(&link.provider),
            since: link.created.format("%Y-%m-%d %H:%M UTC").to_string(),
        })
        .collect();
    let connectable: Vec<crate::pages::LinkView> = providers
        .into_iter()
        .filter(|p| !links.iter().any(|l| l.provider == *p))
        .map(|p| crate::pages::LinkView {
            provider: p.to_owned(),
            label: crate::pages::provider_label(p),
            since: String::new(),
        })
        .collect();
    html(&crate::pages::AccountPage {
        user: UserView::from(&current),
        linked,
        connectable,
    })
}

fn html(page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(error) => {
            tracing::error!(%error, "template failed");
            HttpResponse::InternalServerError().body("internal error")
        }
    }
}

async fn home(
    state: web::Data<AppState>,
    current: Option<CurrentUser<DieselUserStore>>,
) -> HttpResponse {
    // The link is read only when there is a ledger to show.
    let terms = match &current {
        Some(current) if state.service_terms => agreed_terms(&state, current.id).await,
        _ => Vec::new(),
    };
    html(&HomePage {
        user: current.as_ref().map(UserView::from),
        emulator: state.emulator_mode,
        naver: state.naver,
        terms,
    })
}

/// The service terms (Kakao Sync consent ledger) kept in the user's link, if any.
async fn agreed_terms(state: &AppState, user_id: i64) -> Vec<TermView> {
    let link = match state.store.link_by_user(user_id).await {
        Ok(link) => link,
        Err(error) => {
            tracing::warn!(%error, "reading the consent ledger failed");
            None
        }
    };
    link.and_then(|link| LinkData::parse(&link.extra_data).service_terms)
        .unwrap_or_default()
        .into_iter()
        .map(|term| TermView {
            tag: term.tag,
            agreed_at: term.agreed_at.unwrap_or_else(|| "-".to_owned()),
        })
        .collect()
}

async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.db.ping().await.map_err(|e| e.to_string());
    let redis = state.sessions.ping_redis().await;
    let mut body = format!(
        "database: {}\n",
        if database.is_ok() {
            "ok"
        } else {
            "unavailable"
        }
    );
    if let Some(redis) = &redis {
        body.push_str(&format!(
            "redis: {}\n",
            if redis.is_ok() { "ok" } else { "unavailable" }
        ));
    }
    let failures: Vec<&String> = [
        database.as_ref().err(),
        redis.as_ref().and_then(|r| r.as_ref().err()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if failures.is_empty() {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(body)
    } else {
        tracing::warn!(?failures, "health check failed");
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body(body)
    }
}

#[derive(Debug, Deserialize)]
struct ReasonQuery {
    reason: Option<String>,
}

async fn login_error(query: Option<web::Query<ReasonQuery>>) -> HttpResponse {
    let reason = query
        .and_then(|q| q.into_inner().reason)
        .and_then(|r| LoginFailure::from_code(&r));
    html(&LoginErrorPage::for_reason(reason))
}

async fn logout_page(current: Option<CurrentUser<DieselUserStore>>) -> HttpResponse {
    html(&LogoutPage {
        csrf_token: current.map(|c| c.csrf_token().to_owned()),
    })
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../static/app.css"))
}

async fn download_list(current: CurrentUser<DieselUserStore>) -> HttpResponse {
    html(&DownloadsPage {
        user: UserView::from(&current),
        files: DOWNLOADS,
    })
}

async fn download(path: web::Path<String>) -> HttpResponse {
    let Some(file) = downloads::find(&path) else {
        return HttpResponse::NotFound()
            .content_type("text/plain")
            .body("not found");
    };
    HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(file.name.to_owned())],
        })
        .body(file.content)
}
