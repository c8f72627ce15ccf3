//! The demo's SDK sign-in route (`POST /accounts/oauth/token/kakao/`) over HTTP, with
//! `KAKAO_APP_ID` and `KAKAO_SDK_AUDIENCES` set as the contract says.

use futures_util::future::join_all;
use kakao_emulator::{SdkClient, UserChoice};

use crate::common::TestApp;

const ROUTE: &str = "/accounts/oauth/token/kakao/";

async fn sdk_app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.kakao_app_id = Some(100_001);
        c.kakao_sdk_audiences = vec![
            "emulator-native-app-key".into(),
            "emulator-javascript-key".into(),
        ];
    })
    .await
}

async fn post(app: &TestApp, form: &[(&str, &str)]) -> (u16, serde_json::Value, Option<String>) {
    let response = reqwest::Client::new()
        .post(app.url(ROUTE))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("sessionid="));
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body, cookie)
}

#[actix_web::test]
async fn an_sdk_access_token_of_this_app_opens_a_session_and_another_apps_writes_nothing() {
    let app = sdk_app().await;
    let other = app
        .emulator()
        .mint_sdk_tokens(SdkClient::OtherApp, 1001, None)
        .unwrap();
    let (status, body, cookie) = post(&app, &[("access_token", &other.access_token)]).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("wrong_app")));
    assert_eq!(cookie, None);
    assert_eq!((app.users().await, app.links().await), (0, 0));

    let mine = app
        .emulator()
        .mint_sdk_tokens(SdkClient::NativeApp, 1001, None)
        .unwrap();
    let (status, body, cookie) = post(&app, &[("access_token", &mine.access_token)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kakao_id"], "1001");
    let user_id = body["user_id"].as_i64().unwrap();
    assert_eq!(
        app.store.user_id_by_uid("1001").await.unwrap(),
        Some(user_id)
    );
    let browser = app.browser();
    let cookie = cookie.unwrap();
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("sessionid=");
    browser.set_cookie("sessionid", value);
    assert_eq!(browser.get("/download-list/").await.status, 200);
}

#[actix_web::test]
async fn concurrent_first_sign_ins_through_the_sdk_and_the_web_make_one_user_and_one_link() {
    let app = sdk_app().await;
    let sdk = (0..8).map(|i| {
        let client = if i % 2 == 0 {
            SdkClient::NativeApp
        } else {
            SdkClient::JavaScript
        };
        let tokens = app.emulator().mint_sdk_tokens(client, 1004, None).unwrap();
        let app = &app;
        async move {
            let (status, body, _) = post(app, &[("id_token", &tokens.id_token)]).await;
            assert_eq!(status, 200, "{body}");
            body["user_id"].as_i64().unwrap()
        }
    });
    let web = (0..4).map(|_| {
        let app = &app;
        async move {
            let browser = app.browser();
            let page = browser.login(app, UserChoice::Fixture(1004), None).await;
            assert_eq!(page.location().as_deref(), Some("/download-list/"));
            app.store.user_id_by_uid("1004").await.unwrap().unwrap()
        }
    });
    let (sdk_users, web_users) = tokio::join!(join_all(sdk), join_all(web));
    let mut all: Vec<i64> = sdk_users.into_iter().chain(web_users).collect();
    all.dedup();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!((app.users().await, app.links().await), (1, 1));
}
