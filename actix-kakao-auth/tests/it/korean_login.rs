//! What a Korean service needs beyond the basic flow: `prompt` and `login_hint`, KakaoTalk
//! auto-login with its fallback (never a loop), and Kakao Sync service terms with the
//! consent ledger; through the library's routes in-process, against the emulator.

use std::collections::BTreeMap;

use actix_kakao_auth::config::LoginDefaults;
use actix_kakao_auth::error::KakaoApiError;
use actix_kakao_auth::kakao::login_options::Prompt;
use actix_web::{test, web, App};
use kakao_emulator::{ConsentDecision, Endpoint, Fault, UserChoice};

use crate::rig::{
    app, begin, begin_location, call, location, log_in, rig_with, visit, whoami, Jar, MemoryStore,
};
use actix_kakao_auth::CurrentUser;

const KAKAOTALK_UA: &str = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36 KAKAOTALK 10.4.3";

fn params(url: &url::Url) -> BTreeMap<String, String> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Begins a login with `query` and `user_agent`; returns Kakao's authorize URL.
async fn begin_with<S, B>(app: &S, jar: &mut Jar, query: &str, user_agent: &str) -> url::Url
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let location = begin_location(app, jar, query, Some(user_agent)).await;
    url::Url::parse(&location).unwrap_or_else(|e| panic!("{query}: {e}: {location:?}"))
}

#[actix_web::test]
async fn prompt_and_login_hint_reach_kakao_and_other_prompts_are_dropped() {
    let rig = rig_with(|k| k, |c| c).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    for prompt in ["login", "select_account", "create"] {
        let authorize = begin_with(
            &app,
            &mut jar,
            &format!("?prompt={prompt}&login_hint=ryan%40kakao.example"),
            "Firefox",
        )
        .await;
        let query = params(&authorize);
        assert_eq!(query.get("prompt").map(String::as_str), Some(prompt));
        assert_eq!(query["login_hint"], "ryan@kakao.example");
    }
    for dropped in ["none", "consent", "login%0Anone", "LOGIN"] {
        let authorize = begin_with(&app, &mut jar, &format!("?prompt={dropped}"), "Firefox").await;
        assert!(
            !params(&authorize).contains_key("prompt"),
            "{dropped}: {authorize}"
        );
    }
    let authorize = begin_with(&app, &mut jar, "?login_hint=a%0Ab", "Firefox").await;
    assert!(!params(&authorize).contains_key("login_hint"));
}

#[actix_web::test]
async fn the_builder_defaults_apply_when_the_request_names_none() {
    let rig = rig_with(
        |k| k,
        |c| {
            c.login(LoginDefaults {
                prompt: Some(Prompt::SelectAccount),
                login_hint: Some("muzi@kakao.example".into()),
                ..LoginDefaults::default()
            })
        },
    )
    .await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let authorize = begin_with(&app, &mut jar, "", "Firefox").await;
    assert_eq!(params(&authorize)["prompt"], "select_account");
    assert_eq!(params(&authorize)["login_hint"], "muzi@kakao.example");
    let authorize = begin_with(&app, &mut jar, "?prompt=login", "Firefox").await;
    assert_eq!(params(&authorize)["prompt"], "login");
}

#[actix_web::test]
async fn the_kakaotalk_in_app_browser_asks_for_auto_login_unless_a_prompt_was_named() {
    let rig = rig_with(|k| k, |c| c).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let authorize = begin_with(&app, &mut jar, "", KAKAOTALK_UA).await;
    assert_eq!(params(&authorize)["prompt"], "none");
    let authorize = begin_with(&app, &mut jar, "?prompt=select_account", KAKAOTALK_UA).await;
    assert_eq!(params(&authorize)["prompt"], "select_account");
    let authorize = begin_with(&app, &mut jar, "", "Firefox").await;
    assert!(!params(&authorize).contains_key("prompt"));

    let off = rig_with(
        |k| k,
        |c| {
            c.login(LoginDefaults {
                kakaotalk_auto_login: false,
                ..LoginDefaults::default()
            })
        },
    )
    .await;
    let app = app!(off);
    let authorize = begin_with(&app, &mut jar, "", KAKAOTALK_UA).await;
    assert!(!params(&authorize).contains_key("prompt"));
}

#[actix_web::test]
async fn auto_login_logs_a_linked_user_in_without_a_screen() {
    let rig = rig_with(|k| k, |c| c).await;
    let app = app!(rig);
    // The user linked the app before (and is the emulated Kakao Account session).
    let mut first = Jar::default();
    let authorize = begin(&app, &mut first).await;
    let callback = rig
        .kakao
        .approve(&authorize, UserChoice::Fixture(1001))
        .await
        .unwrap();
    visit(&app, &mut first, &callback).await;
    let mut in_app = Jar::default();
    let authorize = begin_with(&app, &mut in_app, "?next=%2Fmembers%2F", KAKAOTALK_UA).await;
    // prompt=none: Kakao answers with a code at once, no consent page.
    let callback = rig
        .kakao
        .consent(&authorize, ConsentDecision::Cancel)
        .await
        .unwrap();
    assert!(params(&callback).contains_key("code"), "{callback}");
    let answer = visit(&app, &mut in_app, &callback).await;
    assert_eq!(location(&answer), "/members/");
    assert!(whoami(&app, &mut in_app).await.is_some());
}

#[actix_web::test]
async fn an_auto_login_kakao_refuses_falls_back_once_and_never_loops() {
    let rig = rig_with(|k| k, |c| c).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    for error in ["consent_required", "login_required", "interaction_required"] {
        // Kakao answers every attempt with `error`: the first falls back to a login with
        // its screens, the second ends as a normal failure.
        let authorize = begin_with(&app, &mut jar, "?next=%2Fdownload-list%2F", KAKAOTALK_UA).await;
        assert_eq!(params(&authorize)["prompt"], "none");
        let state = params(&authorize)["state"].clone();
        let answer = call(
            &app,
            &mut jar,
            test::TestRequest::get().uri(&format!("/cb/?error={error}&state={state}")),
        )
        .await;
        let retry = url::Url::parse(&location(&answer)).unwrap();
        assert_eq!(retry.path(), "/oauth/authorize", "{error}: {retry}");
        let retry_query = params(&retry);
        assert!(
            !retry_query.contains_key("prompt"),
            "{error}: the fallback has no prompt=none"
        );
        assert_ne!(retry_query["state"], state);
        let answer = call(
            &app,
            &mut jar,
            test::TestRequest::get().uri(&format!(
                "/cb/?error={error}&state={}",
                retry_query["state"]
            )),
        )
        .await;
        assert_eq!(
            location(&answer),
            "/login/error/?reason=access_denied",
            "{error}: the second refusal is a failure, not another attempt"
        );
        assert!(jar.pending().is_empty(), "{error}: {:?}", jar.pending());
    }
    // The fallback keeps `next`: Kakao approving it lands there.
    let authorize = begin_with(&app, &mut jar, "?next=%2Fdownload-list%2F", KAKAOTALK_UA).await;
    let state = params(&authorize)["state"].clone();
    let answer = call(
        &app,
        &mut jar,
        test::TestRequest::get().uri(&format!("/cb/?error=consent_required&state={state}")),
    )
    .await;
    let retry = url::Url::parse(&location(&answer)).unwrap();
    let callback = rig
        .kakao
        .approve(&retry, UserChoice::Fixture(1002))
        .await
        .unwrap();
    let answer = visit(&app, &mut jar, &callback).await;
    assert_eq!(location(&answer), "/download-list/");
    assert!(rig.kakao.token_requests().len() == 1);
}

/// The access token of the first login the rig's store was handed.
fn first_access_token(rig: &crate::rig::Rig) -> actix_kakao_auth::kakao::secret::AccessToken {
    rig.auth.store().logins.lock().unwrap()[0]
        .tokens
        .as_ref()
        .unwrap()
        .access_token
        .clone()
}

/// A rig with two service terms: `tos` (required) and `marketing` (optional).
async fn terms_rig() -> crate::rig::Rig {
    rig_with(
        |k| k.service_term("tos", true).service_term("marketing", false),
        |c| {
            c.login(LoginDefaults {
                service_terms: vec!["tos".into(), "marketing".into()],
                ..LoginDefaults::default()
            })
        },
    )
    .await
}

#[actix_web::test]
async fn service_terms_are_asked_for_and_the_agreed_ones_reach_the_store() {
    let rig = terms_rig().await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let authorize = begin(&app, &mut jar).await;
    assert_eq!(params(&authorize)["service_terms"], "tos,marketing");
    let callback = rig
        .kakao
        .approve(&authorize, UserChoice::Fixture(1001))
        .await
        .unwrap();
    let answer = visit(&app, &mut jar, &callback).await;
    assert_eq!(location(&answer), "/");
    let logins = rig.auth.store().logins.lock().unwrap().clone();
    let terms = logins[0].service_terms.clone().expect("a terms step");
    let tags: Vec<&str> = terms.iter().map(|t| t.tag.as_str()).collect();
    assert_eq!(tags, ["tos", "marketing"]);
    assert!(terms.iter().all(|t| t.agreed_at.is_some()));
}

#[actix_web::test]
async fn a_missing_required_term_writes_nothing_and_an_optional_one_does_not_block() {
    let rig = terms_rig().await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let authorize = begin(&app, &mut jar).await;
    let callback = rig
        .kakao
        .consent(
            &authorize,
            ConsentDecision::ApproveTerms(UserChoice::Fixture(1001), vec!["marketing".into()]),
        )
        .await
        .unwrap();
    let answer = visit(&app, &mut jar, &callback).await;
    assert_eq!(location(&answer), "/login/error/?reason=terms_required");
    assert!(
        rig.auth.store().logins.lock().unwrap().is_empty(),
        "the store was not asked"
    );
    assert!(whoami(&app, &mut jar).await.is_none());

    // Another user agrees to the required term only: the optional one does not block.
    let authorize = begin(&app, &mut jar).await;
    let callback = rig
        .kakao
        .consent(
            &authorize,
            ConsentDecision::ApproveTerms(UserChoice::Fixture(1002), vec!["tos".into()]),
        )
        .await
        .unwrap();
    let answer = visit(&app, &mut jar, &callback).await;
    assert_eq!(location(&answer), "/");
    let logins = rig.auth.store().logins.lock().unwrap().clone();
    let tags: Vec<String> = logins[0]
        .service_terms
        .clone()
        .unwrap()
        .into_iter()
        .map(|t| t.tag)
        .collect();
    assert_eq!(tags, ["tos"]);
}

#[actix_web::test]
async fn revocable_terms_can_be_withdrawn_and_required_ones_cannot() {
    let rig = terms_rig().await;
    let app = test::init_service(
        App::new()
            .configure(rig.auth.routes())
            .route(
                "/whoami",
                web::get().to(|u: CurrentUser<MemoryStore>| async move { u.id.to_string() }),
            )
            .wrap(rig.auth.identity())
            .wrap(rig.auth.session_middleware(rig.sessions.clone()).build()),
    )
    .await;
    let mut jar = Jar::default();
    log_in(&app, &mut jar, &rig.kakao, 1001).await;
    let token = first_access_token(&rig);
    let client = rig.auth.client();
    let revoked = client
        .revoke_service_terms(&token, &["marketing", "tos"])
        .await
        .unwrap();
    assert_eq!(revoked, ["marketing"]);
    let terms = client.service_terms(&token).await.unwrap();
    let agreed: Vec<(&str, bool)> = terms.iter().map(|t| (t.tag.as_str(), t.agreed)).collect();
    assert_eq!(agreed, [("tos", true), ("marketing", false)]);
    assert!(terms.iter().all(|t| t.required == (t.tag == "tos")));
}

#[actix_web::test]
async fn a_minus_402_becomes_an_additional_consent_redirect_for_allowlisted_scopes_only() {
    let rig = rig_with(
        |k| k,
        |c| {
            c.login(LoginDefaults {
                additional_consent_scopes: vec!["account_email".into()],
                ..LoginDefaults::default()
            })
        },
    )
    .await;
    let app = app!(rig);
    let mut jar = Jar::default();
    log_in(&app, &mut jar, &rig.kakao, 1001).await;
    let token = first_access_token(&rig);
    rig.kakao.faults().set(
        Endpoint::UserMe,
        Fault::insufficient_scope(["account_email", "friends"]),
    );
    let error = rig.auth.client().user_info(&token).await.unwrap_err();
    let KakaoApiError::InsufficientScope {
        required_scopes, ..
    } = &error
    else {
        panic!("not a typed -402: {error:?}");
    };
    assert_eq!(required_scopes, &["account_email", "friends"]);
    let url = rig
        .auth
        .additional_consent_url(&error, Some("/friends/"))
        .unwrap();
    assert_eq!(
        url,
        "/accounts/oauth/login/kakao/?scope=account_email&next=%2Ffriends%2F"
    );
    let other = KakaoApiError::Api {
        status: 401,
        code: -401,
        msg: "x".into(),
    };
    assert_eq!(rig.auth.additional_consent_url(&other, None), None);

    // Following it asks Kakao for the allowed item; a link asking for more gets no more.
    let response = call(&app, &mut jar, test::TestRequest::get().uri(&url)).await;
    let authorize = url::Url::parse(&location(&response)).unwrap();
    let scope = params(&authorize)["scope"].clone();
    assert!(scope.split(' ').any(|s| s == "account_email"), "{scope}");
    let response = call(
        &app,
        &mut jar,
        test::TestRequest::get().uri("/accounts/oauth/login/kakao/?scope=friends,talk_message"),
    )
    .await;
    let authorize = url::Url::parse(&location(&response)).unwrap();
    let scope = params(&authorize).get("scope").cloned().unwrap_or_default();
    assert!(
        !scope.contains("friends") && !scope.contains("talk_message"),
        "{scope}"
    );
    // Anonymous requests add nothing at all.
    let mut anonymous = Jar::default();
    let response = call(
        &app,
        &mut anonymous,
        test::TestRequest::get().uri("/accounts/oauth/login/kakao/?scope=account_email"),
    )
    .await;
    let authorize = url::Url::parse(&location(&response)).unwrap();
    let scope = params(&authorize).get("scope").cloned().unwrap_or_default();
    assert!(!scope.contains("account_email"), "{scope}");
}

#[actix_web::test]
async fn consent_items_are_listed_and_revocable_ones_withdrawn() {
    let rig = rig_with(|k| k, |c| c).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    log_in(&app, &mut jar, &rig.kakao, 1001).await;
    let token = first_access_token(&rig);
    let client = rig.auth.client();
    let scopes = client.scopes(&token).await.unwrap();
    let email = scopes.iter().find(|s| s.id == "account_email").unwrap();
    assert!(email.agreed && email.revocable);
    let after = client
        .revoke_scopes(&token, &["account_email"])
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert!(!after[0].agreed);
    let refused = client
        .revoke_scopes(&token, &["profile_nickname"])
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            KakaoApiError::Api {
                code: -3,
                status: 403,
                ..
            }
        ),
        "{refused:?}"
    );
}

#[actix_web::test]
async fn a_kakao_that_always_answers_consent_required_ends_in_one_failure_not_a_loop() {
    let rig = rig_with(|k| k, |c| c).await;
    rig.kakao.faults().set_authorize_error("consent_required");
    let app = app!(rig);
    let mut jar = Jar::default();
    let mut authorize = begin_with(&app, &mut jar, "?next=%2Fdownload-list%2F", KAKAOTALK_UA).await;
    let mut trips = 0;
    let landing = loop {
        trips += 1;
        assert!(trips <= 5, "still bouncing between the app and Kakao");
        // The emulator answers at once with error=consent_required (no page).
        let callback = rig
            .kakao
            .consent(&authorize, ConsentDecision::Cancel)
            .await
            .unwrap();
        assert_eq!(params(&callback)["error"], "consent_required");
        let answer = visit(&app, &mut jar, &callback).await;
        let next = location(&answer);
        match url::Url::parse(&next) {
            Ok(kakao) if kakao.path() == "/oauth/authorize" => authorize = kakao,
            _ => break next,
        }
    };
    assert_eq!(trips, 2, "one fallback, then the failure");
    assert_eq!(landing, "/login/error/?reason=access_denied");
    assert!(rig.kakao.token_requests().is_empty());
    assert!(whoami(&app, &mut jar).await.is_none());
}
