//! The surface an app adopts: the built-in error page, routes mounted only when
//! configured, an app-owned `SessionMiddleware`, `AuthSession`'s `log_in` / `log_out` /
//! `log_out_everywhere` from the app's own handlers, and a wrong store reported instead
//! of a login loop.

use std::time::Duration;

use actix_kakao_auth::actix_session::storage::CookieSessionStore;
use actix_kakao_auth::actix_session::SessionMiddleware;
use actix_kakao_auth::session::AuthSessionError;
use actix_kakao_auth::store::{Link, LinkStore, Provider, Tokens};
use actix_kakao_auth::{AuthSession, CurrentUser, KakaoAuth};
use actix_web::cookie::Key;
use actix_web::http::header;
use actix_web::{test, web, App, HttpResponse};

use crate::rig::{
    app, begin, call, config_for, consent, location, log_in, rig, rig_with, visit, whoami, Jar,
    MemoryStore, ORIGIN,
};

async fn body_of(
    response: actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
) -> String {
    String::from_utf8(test::read_body(response).await.to_vec()).unwrap()
}

#[actix_web::test]
async fn the_built_in_error_page_answers_in_an_app_that_mounts_nothing_else() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = test::init_service(App::new().configure(rig.auth.routes())).await;
    let cancelled = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/login/error/?reason=access_denied")
            .to_request(),
    )
    .await;
    assert_eq!(cancelled.status(), 400);
    assert_eq!(
        cancelled.headers().get(header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
    let body = body_of(cancelled).await;
    assert!(
        body.contains("카카오 동의 화면에서 로그인을 취소했습니다."),
        "{body}"
    );
    assert!(body.contains("You cancelled the login"), "{body}");
    assert!(body.contains("href=\"/login/\""), "{body}");

    let forged = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/login/error/?reason=%3Cscript%3Ealert(1)%3C/script%3E")
            .to_request(),
    )
    .await;
    assert_eq!(forged.status(), 400);
    let body = body_of(forged).await;
    assert!(
        !body.contains("<script>"),
        "the reason is never echoed: {body}"
    );
    assert!(body.contains("<code>internal</code>"), "{body}");
}

#[actix_web::test]
async fn a_cancelled_consent_ends_on_the_built_in_error_page() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let authorize = begin(&app, &mut jar).await;
    let callback = rig
        .kakao
        .consent(&authorize, kakao_emulator::ConsentDecision::Cancel)
        .await
        .unwrap();
    let answer = visit(&app, &mut jar, &callback).await;
    let error_url = location(&answer);
    assert_eq!(error_url, "/login/error/?reason=access_denied");
    let page = call(&app, &mut jar, test::TestRequest::get().uri(&error_url)).await;
    assert_eq!(page.status(), 400);
}

#[actix_web::test]
async fn an_app_with_its_own_error_page_keeps_it() {
    let rig = rig_with(|k| k, |c| c.serve_error_page(false)).await;
    let app = test::init_service(App::new().configure(rig.auth.routes()).route(
        "/login/error/",
        web::get().to(|| async { HttpResponse::Ok().body("the app's own page") }),
    ))
    .await;
    let page = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/login/error/?reason=access_denied")
            .to_request(),
    )
    .await;
    assert_eq!(page.status(), 200);
    assert_eq!(body_of(page).await, "the app's own page");
}

/// A link store that keeps nothing but says it does: enough to get its routes mounted.
struct EmptyLinks;

impl LinkStore<i64> for EmptyLinks {
    type Error = std::io::Error;
    async fn link(&self, _: &i64, _: Provider) -> Result<Option<Link>, std::io::Error> {
        Ok(None)
    }
    async fn update_tokens(&self, _: &i64, _: Provider, _: &Tokens) -> Result<(), std::io::Error> {
        Ok(())
    }
    async fn user_for(&self, _: Provider, _: &str) -> Result<Option<i64>, std::io::Error> {
        Ok(None)
    }
    async fn remove_link(&self, _: &i64, _: Provider) -> Result<bool, std::io::Error> {
        Ok(false)
    }
}

fn same_origin_post(path: &str) -> test::TestRequest {
    test::TestRequest::post()
        .uri(path)
        .insert_header((header::ORIGIN, ORIGIN))
}

#[actix_web::test]
async fn routes_that_are_not_configured_are_not_mounted() {
    // No link store, no admin key, no SDK settings.
    let rig = rig(Duration::from_secs(60)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    for (method, path) in [
        ("POST", "/accounts/oauth/disconnect/kakao/"),
        ("POST", "/accounts/oauth/unlink/kakao/"),
        ("GET", "/accounts/oauth/unlink/kakao/"),
        ("POST", "/accounts/oauth/token/kakao/"),
    ] {
        let request = match method {
            "POST" => same_origin_post(path),
            _ => test::TestRequest::get().uri(path),
        };
        let answer = call(&app, &mut jar, request).await;
        assert_eq!(answer.status(), 404, "{method} {path}");
    }
    // The always-mounted routes answer.
    let logout = call(&app, &mut jar, same_origin_post("/logout/")).await;
    assert_eq!(logout.status(), 303);

    // With a link store, disconnect is mounted; the webhook still needs an admin key.
    let config = |admin: bool| {
        let builder = config_for(&rig.kakao);
        let builder = if admin {
            builder.admin_key("admin-key")
        } else {
            builder
        };
        builder.build().unwrap()
    };
    for admin in [false, true] {
        let auth =
            KakaoAuth::with_links(config(admin), MemoryStore::default(), EmptyLinks).unwrap();
        let app = test::init_service(
            App::new()
                .configure(auth.routes())
                .wrap(auth.identity())
                .wrap(
                    auth.session_middleware(CookieSessionStore::default())
                        .build(),
                ),
        )
        .await;
        let mut jar = Jar::default();
        let disconnect = call(
            &app,
            &mut jar,
            same_origin_post("/accounts/oauth/disconnect/kakao/"),
        )
        .await;
        assert_eq!(disconnect.status(), 302, "anonymous: sent to log in");
        let webhook = call(
            &app,
            &mut jar,
            test::TestRequest::post().uri("/accounts/oauth/unlink/kakao/"),
        )
        .await;
        let expected = if admin { 401 } else { 404 };
        assert_eq!(webhook.status(), expected, "admin key: {admin}");
    }
}

/// The app's own session middleware: its own key, cookie name and domain.
fn own_sessions() -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[7u8; 64]))
        .cookie_name("myapp_session".to_owned())
        .cookie_domain(Some("app.test".to_owned()))
        .cookie_secure(false)
        .build()
}

#[actix_web::test]
async fn an_app_owned_session_middleware_logs_in_across_a_restart() {
    let rig = rig(Duration::from_secs(60)).await;
    let store = rig.auth.store().clone();
    let before = test::init_service(
        App::new()
            .configure(rig.auth.routes())
            .wrap(rig.auth.identity())
            .wrap(own_sessions()),
    )
    .await;
    let mut jar = Jar::default();
    let authorize = begin(&before, &mut jar).await;
    drop(before);

    // "Restarted": a new KakaoAuth from the same settings, a new app.
    let config = config_for(&rig.kakao).build().unwrap();
    let restarted = KakaoAuth::new(config, store).unwrap();
    let after = test::init_service(
        App::new()
            .configure(restarted.routes())
            .route(
                "/whoami",
                web::get().to(|user: CurrentUser<MemoryStore>| async move {
                    format!("{} {}", user.id, user.csrf_token())
                }),
            )
            .wrap(restarted.identity())
            .wrap(own_sessions()),
    )
    .await;
    let callback = consent(&rig.kakao, &authorize, 1001).await;
    let answer = visit(&after, &mut jar, &callback).await;
    assert_eq!(location(&answer), "/");
    let cookie = answer
        .response()
        .cookies()
        .find(|c| c.name() == "myapp_session")
        .expect("the app's session cookie");
    assert_eq!(cookie.domain(), Some("app.test"));
    assert!(!jar.0.contains_key("sessionid"));
    assert!(whoami(&after, &mut jar).await.is_some());
}

macro_rules! own_handlers_app {
    ($rig:expr) => {{
        let users = $rig.auth.store().clone();
        test::init_service(
            App::new()
                .configure($rig.auth.routes())
                .route(
                    "/whoami",
                    web::get().to(|user: CurrentUser<MemoryStore>| async move {
                        format!("{} {}", user.id, user.csrf_token())
                    }),
                )
                .route(
                    "/as/{id}",
                    web::post().to(
                        move |mut auth: AuthSession<MemoryStore>, id: web::Path<i64>| {
                            let users = users.clone();
                            async move {
                                let found =
                                    users.users.lock().unwrap().get(&id.into_inner()).cloned();
                                let Some(user) = found else {
                                    return Ok(HttpResponse::NotFound().finish());
                                };
                                auth.log_in(user)?;
                                let csrf = auth.csrf_token().unwrap_or_default().to_owned();
                                Ok::<_, AuthSessionError>(HttpResponse::Ok().body(csrf))
                            }
                        },
                    ),
                )
                .route(
                    "/bye",
                    web::post().to(|mut auth: AuthSession<MemoryStore>| async move {
                        let was = auth.user().map(|u| u.id);
                        auth.log_out();
                        HttpResponse::Ok().body(format!("{was:?} {:?}", auth.user().map(|u| u.id)))
                    }),
                )
                .route(
                    "/bye-everywhere",
                    web::post().to(|mut auth: AuthSession<MemoryStore>| async move {
                        auth.log_out_everywhere().await?;
                        Ok::<_, AuthSessionError>(HttpResponse::Ok().finish())
                    }),
                )
                .wrap($rig.auth.identity())
                .wrap($rig.auth.session_middleware($rig.sessions.clone()).build()),
        )
        .await
    }};
}

#[actix_web::test]
async fn an_app_handler_logs_a_user_in_and_out() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = own_handlers_app!(rig);
    // A user the store knows (created by a Kakao login in another browser).
    let mut first = Jar::default();
    log_in(&app, &mut first, &rig.kakao, 1001).await;
    let (id, _) = whoami(&app, &mut first).await.unwrap();

    let mut jar = Jar::default();
    let anonymous = call(&app, &mut jar, test::TestRequest::post().uri("/bye")).await;
    assert_eq!(body_of(anonymous).await, "None None");
    let unknown = call(&app, &mut jar, test::TestRequest::post().uri("/as/999999")).await;
    assert_eq!(unknown.status(), 404);
    assert!(whoami(&app, &mut jar).await.is_none());

    let logged_in = call(
        &app,
        &mut jar,
        test::TestRequest::post().uri(&format!("/as/{id}")),
    )
    .await;
    assert_eq!(logged_in.status(), 200);
    let csrf = body_of(logged_in).await;
    assert!(!csrf.is_empty());
    assert_eq!(whoami(&app, &mut jar).await, Some((id, csrf)));

    let out = call(&app, &mut jar, test::TestRequest::post().uri("/bye")).await;
    assert_eq!(body_of(out).await, format!("Some({id}) None"));
    assert!(whoami(&app, &mut jar).await.is_none());
    assert!(
        whoami(&app, &mut first).await.is_some(),
        "other sessions stay"
    );
}

#[actix_web::test]
async fn log_out_everywhere_ends_every_session_of_the_user() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = own_handlers_app!(rig);
    let mut phone = Jar::default();
    let mut laptop = Jar::default();
    let mut someone_else = Jar::default();
    log_in(&app, &mut phone, &rig.kakao, 1001).await;
    log_in(&app, &mut laptop, &rig.kakao, 1001).await;
    log_in(&app, &mut someone_else, &rig.kakao, 1002).await;
    assert_eq!(
        whoami(&app, &mut phone).await.map(|w| w.0),
        whoami(&app, &mut laptop).await.map(|w| w.0)
    );
    let done = call(
        &app,
        &mut laptop,
        test::TestRequest::post().uri("/bye-everywhere"),
    )
    .await;
    assert_eq!(done.status(), 200);
    assert!(whoami(&app, &mut laptop).await.is_none());
    assert!(whoami(&app, &mut phone).await.is_none());
    assert!(whoami(&app, &mut someone_else).await.is_some());
    let anonymous = call(
        &app,
        &mut laptop,
        test::TestRequest::post().uri("/bye-everywhere"),
    )
    .await;
    assert_eq!(anonymous.status(), 401);
}

/// A second store type, to wire up wrongly.
#[derive(Clone, Default)]
struct OtherStore(MemoryStore);

impl actix_kakao_auth::UserStore for OtherStore {
    type User = crate::rig::LocalUser;
    type Error = std::io::Error;
    async fn find_or_create(
        &self,
        login: &actix_kakao_auth::store::SocialLogin,
    ) -> Result<Self::User, std::io::Error> {
        self.0.find_or_create(login).await
    }
    async fn get_user(&self, id: &i64) -> Result<Option<Self::User>, std::io::Error> {
        self.0.get_user(id).await
    }
}

#[actix_web::test]
async fn an_extractor_of_another_store_is_an_error_not_a_login_loop() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = test::init_service(
        App::new()
            .configure(rig.auth.routes())
            .route(
                "/wrong",
                web::get().to(|user: CurrentUser<OtherStore>| async move { user.id.to_string() }),
            )
            .route(
                "/wrong-session",
                web::get().to(|auth: AuthSession<OtherStore>| async move {
                    format!("{:?}", auth.user().map(|u| u.id))
                }),
            )
            .wrap(rig.auth.identity())
            .wrap(rig.auth.session_middleware(rig.sessions.clone()).build()),
    )
    .await;
    let mut jar = Jar::default();
    log_in(&app, &mut jar, &rig.kakao, 1001).await;
    for path in ["/wrong", "/wrong-session"] {
        let answer = call(&app, &mut jar, test::TestRequest::get().uri(path)).await;
        assert_eq!(answer.status(), 500, "{path}");
        assert!(
            location(&answer).is_empty(),
            "{path}: no redirect to log in"
        );
    }

    // Without the identity middleware at all: the same.
    let bare = test::init_service(App::new().route(
        "/wrong",
        web::get().to(|user: CurrentUser<MemoryStore>| async move { user.id.to_string() }),
    ))
    .await;
    let answer =
        test::call_service(&bare, test::TestRequest::get().uri("/wrong").to_request()).await;
    assert_eq!(answer.status(), 500);
}
