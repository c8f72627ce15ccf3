//! `demo-app import-django <DJANGO_DATABASE_URL> [--dry-run]`: brings the users of a
//! Django site running social-auth-app-django (4.0 and later) into the demo's database,
//! so every existing Kakao and Naver user lands on their own account, with the same id.
//!
//! * The source (a SQLite path or `sqlite://` URL, or a `postgres://` URL) is only read,
//!   page by page in `(user, link)` order: memory does not grow with the table.
//! * The target (`DATABASE_URL`) gets the demo's pending migrations first; the import then
//!   runs in **one transaction**: every conflict (an id, username or `(provider, uid)`
//!   that already belongs to something else) is printed and nothing is written (exit 1).
//!   Rows already there as imported are counted as present, so a second run writes
//!   nothing. `--dry-run` does everything and rolls back.
//! * Users keep their Django id and username; `email` stays NULL (Django's is not
//!   verified); the nickname comes from the link's `extra_data` (`properties.nickname`
//!   for Kakao, `nickname` for Naver) or `last_name` + `first_name`. Links keep provider,
//!   uid and timestamps; tokens found in `extra_data` are sealed with the demo's token key,
//!   never copied in plain text.
//! * Inactive users, links of other providers, and users without a Kakao or Naver link
//!   are skipped and counted. Users created afterwards get ids above every imported one.

use std::time::Instant;

use actix_kakao_auth::kakao::secret::{AccessToken, RefreshToken};
use actix_kakao_auth::store::{TokenCipher, Tokens};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::db::SqliteConn;
use crate::link_data::LinkData;
use crate::models::NewSocialAuth;
use crate::schema::{social_auth_usersocialauth as links, users};

/// Rows read from the source at a time (`DEMO_IMPORT_PAGE_SIZE` overrides it, for tests
/// that cross page boundaries with a few rows).
const PAGE: i64 = 1_000;

fn page_size() -> i64 {
    std::env::var("DEMO_IMPORT_PAGE_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n: &i64| *n > 0)
        .unwrap_or(PAGE)
}
/// A progress line every this many link rows.
const PROGRESS_EVERY: u64 = 10_000;

/// Why the import could not run (exit 2): one line, naming the cause.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The source could not be opened or read (a bad URL, a missing table).
    #[error("the Django database: {0}")]
    Source(String),
    /// The target could not be opened, migrated or written.
    #[error("DATABASE_URL: {0}")]
    Target(String),
}

/// What the import did (or, with `--dry-run`, would do).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Users written.
    pub users_imported: u64,
    /// Links written.
    pub links_imported: u64,
    /// Users found already imported.
    pub users_present: u64,
    /// Links found already imported.
    pub links_present: u64,
    /// Links of inactive users, skipped.
    pub skipped_inactive: u64,
    /// Links of other providers, skipped.
    pub skipped_other_providers: u64,
    /// Active users without a Kakao or Naver link, skipped.
    pub skipped_without_link: u64,
    /// Conflicts found (nothing is written when there is one).
    pub conflicts: Vec<String>,
}

impl Report {
    /// The summary, one line each.
    pub fn lines(&self) -> Vec<String> {
        vec![
            format!(
                "imported: {} users, {} links",
                self.users_imported, self.links_imported
            ),
            format!(
                "already present: {} users, {} links",
                self.users_present, self.links_present
            ),
            format!(
                "skipped: {} links of inactive users, {} links of other providers, {} users without a Kakao or Naver link",
                self.skipped_inactive, self.skipped_other_providers, self.skipped_without_link
            ),
        ]
    }
}

/// A connection of either backend, opened without the demo's migrations.
enum Conn {
    Sqlite(SqliteConn),
    Pg(Box<AsyncPgConnection>),
}

/// Runs `$body` on the connection, typed for its backend.
macro_rules! each {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            Conn::Sqlite($c) => $body,
            Conn::Pg($c) => $body,
        }
    };
}

async fn open(url: &str) -> Result<Conn, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        AsyncPgConnection::establish(url)
            .await
            .map(|conn| Conn::Pg(Box::new(conn)))
            .map_err(|e| e.to_string())
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if !std::path::Path::new(path).exists() {
            return Err(format!("no SQLite file at {path:?}"));
        }
        let mut conn = SqliteConn::establish(path)
            .await
            .map_err(|e| e.to_string())?;
        // The demo's own pool may still be closing its connections to the target.
        diesel::sql_query("PRAGMA busy_timeout = 10000")
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Conn::Sqlite(conn))
    }
}

/// One link row of the source with its user, timestamps as UTC text.
#[derive(Debug, QueryableByName)]
struct SourceRow {
    #[diesel(sql_type = BigInt)]
    link_id: i64,
    #[diesel(sql_type = Text)]
    provider: String,
    #[diesel(sql_type = Text)]
    uid: String,
    #[diesel(sql_type = Nullable<Text>)]
    extra_data: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    created: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    modified: Option<String>,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Nullable<Text>)]
    first_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    last_name: Option<String>,
    #[diesel(sql_type = BigInt)]
    is_active: i64,
    #[diesel(sql_type = Nullable<Text>)]
    date_joined: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    last_login: Option<String>,
}

#[derive(Debug, QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The page of link rows after `(user, link)`, in that order.
async fn page(source: &mut Conn, after: (i64, i64), size: i64) -> Result<Vec<SourceRow>, String> {
    const SELECT: &str = "SELECT CAST(l.id AS BIGINT) AS link_id, l.provider AS provider, \
        l.uid AS uid, {extra} AS extra_data, {created} AS created, {modified} AS modified, \
        CAST(u.id AS BIGINT) AS user_id, u.username AS username, u.first_name AS first_name, \
        u.last_name AS last_name, CAST(CASE WHEN u.is_active THEN 1 ELSE 0 END AS BIGINT) AS is_active, \
        {joined} AS date_joined, {last_login} AS last_login \
        FROM social_auth_usersocialauth l JOIN auth_user u ON u.id = l.user_id \
        WHERE (l.user_id, l.id) > ({p1}, {p3}) \
        ORDER BY l.user_id, l.id LIMIT {p4}";
    let sql = |text: fn(&str) -> String, params: [&str; 3]| {
        SELECT
            .replace("{extra}", &text("l.extra_data"))
            .replace("{created}", &text("l.created"))
            .replace("{modified}", &text("l.modified"))
            .replace("{joined}", &text("u.date_joined"))
            .replace("{last_login}", &text("u.last_login"))
            .replace("{p1}", params[0])
            .replace("{p3}", params[1])
            .replace("{p4}", params[2])
    };
    let result = match source {
        Conn::Sqlite(c) => {
            let sql = sql(|col| format!("CAST({col} AS TEXT)"), ["?", "?", "?"]);
            diesel::sql_query(sql)
                .bind::<BigInt, _>(after.0)
                .bind::<BigInt, _>(after.1)
                .bind::<BigInt, _>(size)
                .load::<SourceRow>(c)
                .await
        }
        Conn::Pg(c) => {
            let text = |col: &str| {
                if col.ends_with("extra_data") {
                    format!("{col}::text")
                } else {
                    format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
                }
            };
            let sql = sql(text, ["$1", "$2", "$3"]);
            diesel::sql_query(sql)
                .bind::<BigInt, _>(after.0)
                .bind::<BigInt, _>(after.1)
                .bind::<BigInt, _>(size)
                .load::<SourceRow>(c)
                .await
        }
    };
    result.map_err(|e| e.to_string())
}

/// Active users without a Kakao or Naver link.
async fn users_without_link(source: &mut Conn) -> Result<u64, String> {
    let sql =
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM auth_user u WHERE u.is_active AND NOT EXISTS \
        (SELECT 1 FROM social_auth_usersocialauth l WHERE l.user_id = u.id \
        AND l.provider IN ('kakao', 'naver'))";
    let count = each!(source, |c| diesel::sql_query(sql)
        .get_result::<Count>(c)
        .await)
    .map_err(|e| e.to_string())?;
    Ok(u64::try_from(count.n).unwrap_or(0))
}

/// A Django timestamp as UTC (`YYYY-MM-DD HH:MM:SS[.ffffff][+00:00]`).
fn parse_time(text: Option<&str>) -> Option<NaiveDateTime> {
    let text = text?.trim().replace('T', " ");
    let text = text
        .strip_suffix("+00:00")
        .or_else(|| text.strip_suffix("+00"))
        .or_else(|| text.strip_suffix('Z'))
        .unwrap_or(&text);
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .ok()
}

/// `extra_data` as a JSON object: text or JSON columns, and the old values that are a
/// JSON *string* holding the object.
fn extra_object(text: Option<&str>) -> serde_json::Map<String, serde_json::Value> {
    let value: serde_json::Value = text
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let value = match value {
        serde_json::Value::String(inner) => serde_json::from_str(&inner).unwrap_or_default(),
        other => other,
    };
    match value {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

fn text_at<'a>(
    map: &'a serde_json::Map<String, serde_json::Value>,
    path: &[&str],
) -> Option<&'a str> {
    let (last, parents) = path.split_last()?;
    let mut current = map;
    for key in parents {
        current = current.get(*key)?.as_object()?;
    }
    current.get(*last)?.as_str().filter(|s| !s.is_empty())
}

/// What one link row becomes in the target.
struct Prepared {
    nickname: String,
    created: NaiveDateTime,
    last_login: NaiveDateTime,
    link_created: NaiveDateTime,
    link_modified: NaiveDateTime,
    extra_data: String,
}

fn prepare(row: &SourceRow, cipher: &TokenCipher) -> Result<Prepared, String> {
    let extra = extra_object(row.extra_data.as_deref());
    let nickname = match row.provider.as_str() {
        "kakao" => text_at(&extra, &["properties", "nickname"]),
        _ => text_at(&extra, &["nickname"]),
    }
    .map(str::to_owned)
    .unwrap_or_else(|| {
        let name = format!(
            "{}{}",
            row.last_name.as_deref().unwrap_or(""),
            row.first_name.as_deref().unwrap_or("")
        );
        if name.trim().is_empty() {
            row.username.clone()
        } else {
            name
        }
    });
    let now = Utc::now().naive_utc();
    let created = parse_time(row.date_joined.as_deref()).unwrap_or(now);
    let last_login = parse_time(row.last_login.as_deref()).unwrap_or(created);
    let link_created = parse_time(row.created.as_deref()).unwrap_or(created);
    let link_modified = parse_time(row.modified.as_deref()).unwrap_or(link_created);
    let mut data = LinkData {
        id: row.uid.clone(),
        nickname: Some(nickname.clone()),
        token_type: "bearer".to_owned(),
        ..LinkData::default()
    };
    if let Some(access) = text_at(&extra, &["access_token"]) {
        // social-core keeps `auth_time` (Unix seconds) and, for some backends, `expires`
        // (seconds); without them the token counts as expired and is only revoked
        // or refreshed, never used as valid.
        let auth_time = extra.get("auth_time").and_then(serde_json::Value::as_i64);
        let expires = extra.get("expires").and_then(serde_json::Value::as_i64);
        let expires_at = match (auth_time, expires) {
            (Some(at), Some(lifetime)) => DateTime::from_timestamp(at.saturating_add(lifetime), 0),
            _ => None,
        }
        .unwrap_or_else(|| link_modified.and_utc());
        let tokens = Tokens {
            access_token: AccessToken::new(access.to_owned()),
            expires_at,
            refresh_token: text_at(&extra, &["refresh_token"])
                .map(|t| RefreshToken::new(t.to_owned())),
            refresh_token_expires_at: None,
            scopes: Vec::new(),
            id_token: None,
        };
        data.set_tokens_for(&row.provider, &row.uid, &tokens, cipher)
            .map_err(|e| e.to_string())?;
    }
    Ok(Prepared {
        nickname,
        created,
        last_login,
        link_created,
        link_modified,
        extra_data: data.to_text(),
    })
}

/// The target's view of one id or username: `(id, username)` rows matching either.
async fn users_matching(
    target: &mut Conn,
    id: i64,
    username: &str,
) -> QueryResult<Vec<(i64, String)>> {
    each!(target, |c| users::table
        .filter(users::id.eq(id).or(users::username.eq(username)))
        .select((users::id, users::username))
        .load::<(i64, String)>(c)
        .await)
}

async fn link_owner(target: &mut Conn, provider: &str, uid: &str) -> QueryResult<Option<i64>> {
    each!(target, |c| links::table
        .filter(links::provider.eq(provider))
        .filter(links::uid.eq(uid))
        .select(links::user_id)
        .get_result::<i64>(c)
        .await
        .optional())
}

async fn insert_user(
    target: &mut Conn,
    row: &SourceRow,
    prepared: &Prepared,
) -> QueryResult<usize> {
    let columns = "(id, username, email, nickname, profile_image_url, created_at, last_login_at)";
    match target {
        Conn::Sqlite(c) => {
            diesel::sql_query(format!(
                "INSERT INTO users {columns} VALUES (?, ?, NULL, ?, NULL, ?, ?)"
            ))
            .bind::<BigInt, _>(row.user_id)
            .bind::<Text, _>(&row.username)
            .bind::<Text, _>(&prepared.nickname)
            .bind::<diesel::sql_types::Timestamp, _>(prepared.created)
            .bind::<diesel::sql_types::Timestamp, _>(prepared.last_login)
            .execute(c)
            .await
        }
        Conn::Pg(c) => {
            diesel::sql_query(format!(
                "INSERT INTO users {columns} OVERRIDING SYSTEM VALUE VALUES ($1, $2, NULL, $3, NULL, $4, $5)"
            ))
            .bind::<BigInt, _>(row.user_id)
            .bind::<Text, _>(&row.username)
            .bind::<Text, _>(&prepared.nickname)
            .bind::<diesel::sql_types::Timestamp, _>(prepared.created)
            .bind::<diesel::sql_types::Timestamp, _>(prepared.last_login)
            .execute(c)
            .await
        }
    }
}

async fn insert_link(
    target: &mut Conn,
    row: &SourceRow,
    prepared: &Prepared,
) -> QueryResult<usize> {
    let new = NewSocialAuth {
        user_id: row.user_id,
        provider: &row.provider,
        uid: &row.uid,
        extra_data: &prepared.extra_data,
        created: prepared.link_created,
        modified: prepared.link_modified,
    };
    each!(target, |c| diesel::insert_into(links::table)
        .values(&new)
        .execute(c)
        .await)
}

/// New users get ids above every imported one (PostgreSQL's identity; SQLite's
/// `AUTOINCREMENT` follows the largest id by itself).
async fn move_id_sequence(target: &mut Conn) -> QueryResult<()> {
    if let Conn::Pg(c) = target {
        diesel::sql_query(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), \
             GREATEST((SELECT COALESCE(MAX(id), 0) FROM users), 1))",
        )
        .execute(c)
        .await?;
    }
    Ok(())
}

/// Why the import stopped before its end (the transaction is rolled back).
#[derive(Debug)]
enum Abort {
    Query(diesel::result::Error),
    Source(String),
    Crypto(String),
}

impl From<diesel::result::Error> for Abort {
    fn from(error: diesel::result::Error) -> Self {
        Self::Query(error)
    }
}

/// Imports every row; `progress` gets a line every [`PROGRESS_EVERY`] link rows.
async fn import_all(
    source: &mut Conn,
    target: &mut Conn,
    cipher: &TokenCipher,
    report: Report,
    progress: &mut impl FnMut(String),
) -> Result<Report, Abort> {
    let started = Instant::now();
    let mut after = (i64::MIN, i64::MIN);
    let mut report = report;
    let size = page_size();
    let mut seen: u64 = 0;
    // The user of the previous row, and whether it could be imported: rows come ordered
    // by user, so one id is all the memory the users take.
    let mut last_user: Option<(i64, bool)> = None;
    loop {
        let rows = page(source, after, size).await.map_err(Abort::Source)?;
        let Some(last) = rows.last() else { break };
        after = (last.user_id, last.link_id);
        for row in &rows {
            seen += 1;
            if seen.is_multiple_of(PROGRESS_EVERY) {
                progress(format!(
                    "… {seen} links read in {:.1} s",
                    started.elapsed().as_secs_f64()
                ));
            }
            if !matches!(row.provider.as_str(), "kakao" | "naver") {
                report.skipped_other_providers += 1;
                continue;
            }
            if row.is_active == 0 {
                report.skipped_inactive += 1;
                continue;
            }
            let prepared = prepare(row, cipher).map_err(Abort::Crypto)?;
            let user_ok = match last_user {
                Some((id, ok)) if id == row.user_id => ok,
                _ => {
                    let found = users_matching(target, row.user_id, &row.username).await?;
                    let ok = match found.as_slice() {
                        [] => {
                            insert_user(target, row, &prepared).await?;
                            report.users_imported += 1;
                            true
                        }
                        [(id, name)] if *id == row.user_id && *name == row.username => {
                            report.users_present += 1;
                            true
                        }
                        others => {
                            for (id, name) in others {
                                report.conflicts.push(format!(
                                    "user {} ({:?}): the target has user {id} ({name:?})",
                                    row.user_id, row.username
                                ));
                            }
                            false
                        }
                    };
                    last_user = Some((row.user_id, ok));
                    ok
                }
            };
            if !user_ok {
                continue;
            }
            match link_owner(target, &row.provider, &row.uid).await? {
                None => {
                    insert_link(target, row, &prepared).await?;
                    report.links_imported += 1;
                }
                Some(owner) if owner == row.user_id => report.links_present += 1,
                Some(owner) => report.conflicts.push(format!(
                    "link {} {:?} of user {}: the target links it to user {owner}",
                    row.provider, row.uid, row.user_id
                )),
            }
        }
    }
    move_id_sequence(target).await?;
    progress(format!(
        "{seen} links read in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(report)
}

/// Runs the import from `source_url` into `target_url` (migrated first), in one
/// transaction; with `dry_run`, or when a conflict was found, it is rolled back.
pub async fn run(
    source_url: &str,
    target_url: &str,
    cipher: &TokenCipher,
    dry_run: bool,
    mut progress: impl FnMut(String),
) -> Result<Report, ImportError> {
    let mut source = open(source_url).await.map_err(ImportError::Source)?;
    if let Conn::Sqlite(c) = &mut source {
        diesel::sql_query("PRAGMA query_only = 1")
            .execute(c)
            .await
            .map_err(|e| ImportError::Source(e.to_string()))?;
    }
    let report = Report {
        skipped_without_link: users_without_link(&mut source)
            .await
            .map_err(ImportError::Source)?,
        ..Report::default()
    };
    // The demo's migrations, then a plain connection for one long transaction.
    drop(
        crate::db::Db::connect(target_url)
            .await
            .map_err(|e| ImportError::Target(e.to_string()))?,
    );
    let mut target = open(target_url).await.map_err(ImportError::Target)?;
    let begin = match &target {
        Conn::Sqlite(_) => "BEGIN IMMEDIATE",
        Conn::Pg(_) => "BEGIN",
    };
    each!(&mut target, |c| diesel::sql_query(begin).execute(c).await)
        .map_err(|e| ImportError::Target(e.to_string()))?;
    let result = import_all(&mut source, &mut target, cipher, report, &mut progress).await;
    let commit = matches!(&result, Ok(report) if !dry_run && report.conflicts.is_empty());
    let end = if commit { "COMMIT" } else { "ROLLBACK" };
    each!(&mut target, |c| diesel::sql_query(end).execute(c).await)
        .map_err(|e| ImportError::Target(e.to_string()))?;
    match result {
        Ok(report) => Ok(report),
        Err(Abort::Query(e)) => Err(ImportError::Target(e.to_string())),
        Err(Abort::Source(e)) => Err(ImportError::Source(e)),
        Err(Abort::Crypto(e)) => Err(ImportError::Target(e)),
    }
}

/// `demo-app import-django <DJANGO_DATABASE_URL> [--dry-run]`: prints progress, each
/// conflict and the summary; returns the exit status: 0 done (or nothing to do), 1
/// conflicts (nothing written), 2 the import could not run (one line on stderr).
pub async fn command(config: &crate::config::DemoConfig, args: &[String]) -> u8 {
    const USAGE: &str = "usage: demo-app import-django <DJANGO_DATABASE_URL> [--dry-run]";
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let sources: Vec<&String> = args.iter().filter(|a| *a != "--dry-run").collect();
    let [source] = sources.as_slice() else {
        eprintln!("{USAGE}");
        return 2;
    };
    let cipher = match crate::app::token_cipher(config) {
        Ok(cipher) => cipher,
        Err(error) => {
            eprintln!("demo-app import-django: {error}");
            return 2;
        }
    };
    if config.token_key.is_none() && config.session_secret.is_none() {
        println!(
            "note: neither TOKEN_KEY nor SESSION_SECRET is set: imported tokens are sealed with a throwaway key"
        );
    }
    match run(source, &config.database_url, &cipher, dry_run, |line| {
        println!("{line}")
    })
    .await
    {
        Ok(report) => {
            for conflict in &report.conflicts {
                println!("conflict: {conflict}");
            }
            for line in report.lines() {
                println!("{line}");
            }
            if let Some(peak) = peak_rss_kib() {
                println!("peak memory (RSS): {} MiB", peak / 1024);
            }
            if !report.conflicts.is_empty() {
                println!("nothing written: {} conflict(s)", report.conflicts.len());
                1
            } else {
                if dry_run {
                    println!("dry run: nothing written");
                }
                0
            }
        }
        Err(error) => {
            eprintln!("demo-app import-django: {error}");
            2
        }
    }
}

/// The process's peak resident set (`VmHWM`), in KiB, where the system reports it.
fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
