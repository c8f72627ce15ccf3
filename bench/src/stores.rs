//! Per-run database and Redis namespaces, created before and removed after a run.

/// Runs `sql` (several statements allowed) on a connection of its own.
async fn pg_execute(url: &str, sql: &str) -> Result<(), String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("PostgreSQL at --database-url: {e}"))?;
    let driver = tokio::spawn(connection);
    let result = client
        .batch_execute(sql)
        .await
        .map_err(|e| format!("{sql}: {e}"));
    drop(client);
    let _ = driver.await;
    result
}

/// A PostgreSQL schema of the bench's own (as demo-app's tests make one): the app's
/// connections use only it, through `options=-csearch_path=<schema>` in the URL.
#[derive(Debug)]
pub struct PgSchema {
    base_url: String,
    schema: String,
    /// The URL to give the app.
    pub url: String,
}

impl PgSchema {
    pub async fn create(base_url: &str, tag: &str) -> Result<Self, String> {
        let schema = format!("kakao_bench_{tag}");
        pg_execute(base_url, &format!("CREATE SCHEMA {schema}")).await?;
        let separator = if base_url.contains('?') { '&' } else { '?' };
        Ok(Self {
            url: format!("{base_url}{separator}options=-csearch_path%3D{schema}"),
            base_url: base_url.to_owned(),
            schema,
        })
    }

    pub async fn drop_schema(self) -> Result<(), String> {
        pg_execute(
            &self.base_url,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema),
        )
        .await
    }
}

/// Checks that Redis answers.
pub async fn redis_ping(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| format!("REDIS_URL {url}: {e}"))?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| format!("Redis at {url}: {e}"))?;
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map(drop)
        .map_err(|e| format!("Redis at {url}: {e}"))
}

/// Deletes every key under `prefix`; returns how many.
pub async fn redis_delete_prefix(url: &str, prefix: &str) -> Result<u64, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let pattern = format!("{prefix}*");
    let mut cursor: u64 = 0;
    let mut deleted = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        if !keys.is_empty() {
            deleted += redis::cmd("DEL")
                .arg(&keys)
                .query_async::<u64>(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}
