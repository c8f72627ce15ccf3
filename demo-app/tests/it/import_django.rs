//! `demo-app import-django`: synthetic social-auth-app-django databases (a TEXT and a JSON
//! `extra_data` column, with and without `id_key`, a JSON-string `extra_data`), on SQLite
//! and PostgreSQL, imported into SQLite and PostgreSQL targets; re-runs, conflicts,
//! `--dry-run` and bad sources; and a Kakao login of an imported uid afterwards.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};

use crate::common::{self, PgSchema, TempSqlite};

use demo_app::config::DemoConfig;
use demo_app::db::Db;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use kakao_auth_e2e::Browser;
use kakao_emulator::UserChoice;

const SECRET: &str = "import-test-session-secret-import-test-session-secret-0123456789";
const NAVER_ID: &str = "Ab3dE+f/GhI9jKlMnOpQrStUvWxYz0123456789+/AbC=";

/// The Django tables, as social-app-django's migrations leave them: `extra_data` as
/// TEXT (before 5.3) or a JSON column (after), `id_key` since 8.0.
fn django_schema(json_column: bool, id_key: bool, postgres: bool) -> String {
    let (pk, datetime, json, boolean) = if postgres {
        ("SERIAL PRIMARY KEY", "TIMESTAMPTZ", "JSONB", "BOOLEAN")
    } else {
        (
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "DATETIME",
            "TEXT CHECK (JSON_VALID(extra_data))",
            "BOOL",
        )
    };
    let extra = if json_column { json } else { "TEXT" };
    let id_key = if id_key {
        ", id_key VARCHAR(255) NULL"
    } else {
        ""
    };
    format!(
        "CREATE TABLE auth_user (id {pk}, password VARCHAR(128) NOT NULL, last_login {datetime} NULL, \
         is_superuser {boolean} NOT NULL, username VARCHAR(150) NOT NULL UNIQUE, first_name VARCHAR(150) NOT NULL, \
         last_name VARCHAR(150) NOT NULL, email VARCHAR(254) NOT NULL, is_staff {boolean} NOT NULL, \
         is_active {boolean} NOT NULL, date_joined {datetime} NOT NULL);
         CREATE TABLE social_auth_usersocialauth (id {pk}, provider VARCHAR(32) NOT NULL, \
         uid VARCHAR(255) NOT NULL, extra_data {extra} NOT NULL, user_id INTEGER NOT NULL REFERENCES auth_user (id), \
         created {datetime} NOT NULL, modified {datetime} NOT NULL{id_key}, UNIQUE (provider, uid));
         CREATE INDEX social_auth_usersocialauth_user_id ON social_auth_usersocialauth (user_id);"
    )
}

/// The users: 42 (Kakao 1001, tokens in `extra_data`), 43 (inactive, Kakao 1002), 44
/// (only Google), 45 (Naver, `extra_data` a JSON *string*), 46 (no link).
fn django_rows(postgres: bool) -> String {
    let (t, f) = if postgres {
        ("TRUE", "FALSE")
    } else {
        ("1", "0")
    };
    let naver_extra = if postgres {
        // A JSONB string holding the object, as some old rows are.
        format!(
            r#"to_jsonb('{{"nickname": "초록이", "access_token": "plain-naver-token-{NAVER_ID}"}}'::text)"#
        )
    } else {
        r#"'"{\"nickname\": \"초록이\", \"access_token\": \"plain-naver-token\"}"'"#.to_owned()
    };
    format!(
        "INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES
         (42, '!', '2025-01-02 03:04:05', {f}, 'ryan', '이언', '라', 'ryan@kakao.example', {f}, {t}, '2024-06-01 10:00:00'),
         (43, '!', NULL, {f}, 'gone', '', '', '', {f}, {f}, '2024-06-02 10:00:00'),
         (44, '!', NULL, {f}, 'googler', 'G', 'G', '', {f}, {t}, '2024-06-03 10:00:00'),
         (45, '!', NULL, {f}, 'green', '록이', '초', '', {f}, {t}, '2024-06-04 10:00:00'),
         (46, '!', NULL, {f}, 'plain', 'P', 'P', '', {f}, {t}, '2024-06-05 10:00:00');
         INSERT INTO social_auth_usersocialauth (id, provider, uid, extra_data, user_id, created, modified) VALUES
         (1, 'kakao', '1001', '{{\"auth_time\": 1717236000, \"properties\": {{\"nickname\": \"라이언\"}}, \"access_token\": \"plain-kakao-access-token\", \"token_type\": \"bearer\"}}', 42, '2024-06-01 10:00:00', '2025-01-02 03:04:05'),
         (2, 'kakao', '1002', '{{}}', 43, '2024-06-02 10:00:00', '2024-06-02 10:00:00'),
         (3, 'google-oauth2', 'g-44', '{{}}', 44, '2024-06-03 10:00:00', '2024-06-03 10:00:00'),
         (4, 'naver', '{NAVER_ID}', {naver_extra}, 45, '2024-06-04 10:00:00', '2024-06-04 10:00:00');"
    )
}

/// A Django SQLite database of one schema generation.
fn django_sqlite(json_column: bool, id_key: bool) -> TempSqlite {
    let db = TempSqlite::new();
    let path = db.url.strip_prefix("sqlite://").unwrap().to_owned();
    let mut conn = <diesel::SqliteConnection as diesel::Connection>::establish(&path).unwrap();
    use diesel::connection::SimpleConnection;
    conn.batch_execute(&django_schema(json_column, id_key, false))
        .unwrap();
    conn.batch_execute(&django_rows(false)).unwrap();
    db
}

/// Runs `demo-app import-django` with `args` into `target`; returns the exit code, stdout
/// and stderr.
fn import(target: &str, args: &[&str]) -> (i32, String, String) {
    import_paged(target, args, "1000")
}

/// [`import`] reading `page` rows at a time.
fn import_paged(target: &str, args: &[&str], page: &str) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_demo-app"))
        .env_clear()
        .env("DEMO_IMPORT_PAGE_SIZE", page)
        .arg("import-django")
        .args(args)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", target)
        .env("SESSION_SECRET", SECRET)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `(id, username, email, nickname)` of every target user, and every link's
/// `(user_id, provider, uid, extra_data)`.
async fn target_rows(
    url: &str,
) -> (
    Vec<(i64, String, Option<String>, String)>,
    Vec<(i64, String, String, String)>,
) {
    use demo_app::db_run;
    use demo_app::schema::{social_auth_usersocialauth as links, users};
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    type Rows = (
        Vec<(i64, String, Option<String>, String)>,
        Vec<(i64, String, String, String)>,
    );
    async fn run(db: &Db) -> Result<Rows, demo_app::db::DbError> {
        let users = db_run!(db, |conn| {
            users::table
                .order(users::id)
                .select((users::id, users::username, users::email, users::nickname))
                .load(conn)
                .await
        })?;
        let links = db_run!(db, |conn| {
            links::table
                .order(links::id)
                .select((
                    links::user_id,
                    links::provider,
                    links::uid,
                    links::extra_data,
                ))
                .load(conn)
                .await
        })?;
        Ok((users, links))
    }
    let db = Db::connect(url).await.unwrap();
    run(&db).await.unwrap()
}

/// What every successful import of [`django_rows`] must leave.
async fn assert_imported(target: &str) {
    let (users, links) = target_rows(target).await;
    assert_eq!(
        users,
        [
            (42, "ryan".into(), None, "라이언".into()),
            (45, "green".into(), None, "초록이".into()),
        ],
        "same ids and usernames, Django's email not taken as verified"
    );
    let summary: Vec<(i64, &str, &str)> = links
        .iter()
        .map(|(u, p, uid, _)| (*u, p.as_str(), uid.as_str()))
        .collect();
    assert_eq!(summary, [(42, "kakao", "1001"), (45, "naver", NAVER_ID)]);
    for (_, _, _, extra) in &links {
        assert!(!extra.contains("plain-"), "a token in plain text: {extra}");
        assert!(
            extra.contains("access_token"),
            "the token is kept, sealed: {extra}"
        );
    }
}

#[actix_web::test]
async fn every_sqlite_schema_generation_imports_and_a_rerun_writes_nothing() {
    for (json_column, id_key) in [(false, false), (true, false), (true, true)] {
        let source = django_sqlite(json_column, id_key);
        let target = TempSqlite::new();
        let (code, out, err) = import(&target.url, &[&source.url]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("imported: 2 users, 2 links"), "{out}");
        assert!(
            out.contains("skipped: 1 links of inactive users, 1 links of other providers, 2 users without a Kakao or Naver link"),
            "{out}"
        );
        assert_imported(&target.url).await;

        let (code, out, _) = import(&target.url, &[&source.url]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("imported: 0 users, 0 links"), "{out}");
        assert!(out.contains("already present: 2 users, 2 links"), "{out}");
        assert_imported(&target.url).await;
    }
}

#[actix_web::test]
async fn pages_of_one_row_import_the_same_as_one_page() {
    for page in ["1", "2"] {
        let source = django_sqlite(true, false);
        let target = TempSqlite::new();
        let (code, out, err) = import_paged(&target.url, &[&source.url], page);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            out.contains("imported: 2 users, 2 links"),
            "page {page}: {out}"
        );
        assert!(out.contains("4 links read"), "page {page}: {out}");
        assert_imported(&target.url).await;
    }
}

#[actix_web::test]
async fn a_dry_run_a_conflict_and_a_bad_source_write_nothing() {
    let source = django_sqlite(true, true);
    let target = TempSqlite::new();
    let (code, out, _) = import(&target.url, &[&source.url, "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("imported: 2 users, 2 links"),
        "the same report: {out}"
    );
    assert!(out.contains("dry run: nothing written"), "{out}");
    assert!(target_rows(&target.url).await.0.is_empty());

    // User 42 is someone else in the target.
    let db = Db::connect(&target.url).await.unwrap();
    common::exec(
        &db,
        "INSERT INTO users (id, username, nickname) VALUES (42, 'somebody-else', 'x')",
    )
    .await;
    let (code, out, _) = import(&target.url, &[&source.url]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("conflict: user 42"), "{out}");
    assert!(out.contains("nothing written: 1 conflict(s)"), "{out}");
    let (users, links) = target_rows(&target.url).await;
    assert_eq!(users.len(), 1, "nothing written: {users:?}");
    assert!(links.is_empty());

    let empty = TempSqlite::new();
    drop(Db::connect(&empty.url).await.unwrap()); // a database without Django's tables
    for bad in ["/no/such/django.sqlite3", &empty.url] {
        let fresh = TempSqlite::new();
        let (code, out, err) = import(&fresh.url, &[bad]);
        assert_eq!(code, 2, "{bad}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{bad}: one clear line: {err}");
        assert!(err.contains("the Django database"), "{bad}: {err}");
    }
    let (code, _, err) = import(&target.url, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("usage"), "{err}");
}

#[actix_web::test]
async fn an_imported_user_logs_in_with_kakao_as_themselves_and_new_users_come_after() {
    let source = django_sqlite(false, false);
    let target = TempSqlite::new();
    let (code, out, _) = import(&target.url, &[&source.url]);
    assert_eq!(code, 0, "{out}");
    let mut config =
        DemoConfig::on_free_port(&std::env::temp_dir().join("unused.sqlite3")).unwrap();
    config.database_url = target.url.clone();
    config.session_secret = Some(SECRET.into());
    config.kakao_app_id = Some(100_001);
    let mut app = demo_app::app::start(config).await.unwrap();
    app.spawn();
    let kakao = app.emulator.as_ref().unwrap();
    let ryan = Browser::new(&app.url);
    ryan.login(kakao, UserChoice::Fixture(1001), None).await;
    let page = ryan.get("/download-list/").await;
    assert_eq!(page.status, 200);
    let (users, _) = target_rows(&target.url).await;
    assert_eq!(
        users.len(),
        2,
        "the Kakao login found the imported user: {users:?}"
    );

    let newcomer = Browser::new(&app.url);
    newcomer.login(kakao, UserChoice::Fixture(1002), None).await;
    let (users, _) = target_rows(&target.url).await;
    let newest = users.iter().map(|u| u.0).max().unwrap();
    assert!(
        newest > 45,
        "a new user's id is above the imported ones: {users:?}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn a_postgres_django_database_imports_into_postgres_and_sqlite() {
    let Some(base) =
        common::postgres_url("a_postgres_django_database_imports_into_postgres_and_sqlite")
    else {
        return;
    };
    let source = PgSchema::create(&base).await;
    let mut conn = AsyncPgConnection::establish(&source.url).await.unwrap();
    conn.batch_execute(&django_schema(true, true, true))
        .await
        .unwrap();
    conn.batch_execute(&django_rows(true)).await.unwrap();

    let sqlite_target = TempSqlite::new();
    let (code, out, err) = import(&sqlite_target.url, &[&source.url]);
    assert_eq!(code, 0, "{out}{err}");
    assert_imported(&sqlite_target.url).await;

    let pg_target = PgSchema::create(&base).await;
    let (code, out, err) = import(&pg_target.url, &[&source.url]);
    assert_eq!(code, 0, "{out}{err}");
    assert_imported(&pg_target.url).await;
    // The identity moved past the imported ids.
    let db = pg_target.connect().await;
    common::exec(
        &db,
        "INSERT INTO users (username, nickname) VALUES ('after-import', 'n')",
    )
    .await;
    let (users, _) = target_rows(&pg_target.url).await;
    assert!(
        users.iter().any(|u| u.1 == "after-import" && u.0 > 45),
        "{users:?}"
    );
}

#[actix_web::test]
async fn a_user_with_a_kakao_and_a_naver_link_across_pages_is_imported_once() {
    let source = TempSqlite::new();
    let path = source.url.strip_prefix("sqlite://").unwrap().to_owned();
    let mut conn = <diesel::SqliteConnection as diesel::Connection>::establish(&path).unwrap();
    use diesel::connection::SimpleConnection;
    conn.batch_execute(&django_schema(false, false, false))
        .unwrap();
    conn.batch_execute(&format!(
        "INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES
         (42, '!', NULL, 0, 'both', 'b', 'b', '', 0, 1, '2024-06-01 10:00:00');
         INSERT INTO social_auth_usersocialauth (id, provider, uid, extra_data, user_id, created, modified) VALUES
         (1, 'kakao', '1001', '{{}}', 42, '2024-06-01 10:00:00', '2024-06-01 10:00:00'),
         (2, 'naver', '{NAVER_ID}', '{{}}', 42, '2024-06-02 10:00:00', '2024-06-02 10:00:00');"
    ))
    .unwrap();
    for page in ["1", "1000"] {
        let target = TempSqlite::new();
        let (code, out, err) = import_paged(&target.url, &[&source.url], page);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            out.contains("imported: 1 users, 2 links"),
            "page {page}: {out}"
        );
        let (users, links) = target_rows(&target.url).await;
        assert_eq!(users.len(), 1, "page {page}");
        assert_eq!(links.len(), 2, "page {page}");
        assert!(links.iter().all(|l| l.0 == 42), "page {page}: {links:?}");
    }
}
