//! The server's durable state in SQLite: API keys, sandboxes (live and ended, with why they
//! ended) and snapshots (with their names, and whether they still wait to be deleted).
//!
//! Writes go straight through (a few per lifecycle change), so after a crash the database
//! says exactly which sandboxes were alive; the next start reconciles it with the runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::error::ServerError;

/// What the server remembers about one sandbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct SandboxRecord {
    pub(crate) id: String,
    /// `templateID` as reported (the template name, or the snapshot ID it came from).
    pub(crate) template_id: String,
    pub(crate) alias: Option<String>,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) access_token: Option<String>,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) end_at: DateTime<Utc>,
    pub(crate) auto_pause: bool,
    pub(crate) auto_resume: bool,
    pub(crate) paused: bool,
    pub(crate) cpu_count: u32,
    pub(crate) memory_mb: u64,
    pub(crate) disk_mb: u64,
    pub(crate) allow_internet_access: Option<bool>,
    /// The `network` object of the create request (or the last update), echoed by get-info.
    pub(crate) network: Option<serde_json::Value>,
    /// The snapshot its filesystem is built on, if any (kept until no sandbox uses it).
    pub(crate) base_snapshot: Option<String>,
    /// Default environment of its processes (kept for forks).
    #[serde(default)]
    pub(crate) env_vars: BTreeMap<String, String>,
}

/// What the server remembers about one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapshotRow {
    pub(crate) id: String,
    pub(crate) sandbox_id: String,
    pub(crate) names: Vec<String>,
    pub(crate) created_at: DateTime<Utc>,
    /// Deleted by the user (or never visible, for fork snapshots): removed from disk once
    /// no sandbox is built on it.
    pub(crate) deleted: bool,
}

pub(crate) struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    key TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sandboxes (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    live INTEGER NOT NULL,
    ended_at TEXT,
    end_reason TEXT
);
CREATE TABLE IF NOT EXISTS snapshots (
    id TEXT PRIMARY KEY,
    sandbox_id TEXT NOT NULL,
    names TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted INTEGER NOT NULL
);
";

impl Store {
    pub(crate) fn open(path: &Path) -> Result<Self, ServerError> {
        let db_err = |source| ServerError::Database { path: path.display().to_string(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                ServerError::Config(format!("cannot create the state directory {}: {e}", dir.display()))
            })?;
        }
        let conn = Connection::open(path).map_err(db_err)?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;")
            .map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        Ok(Self { path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, ServerError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn).map_err(|source| ServerError::Database { path: self.path.display().to_string(), source })
    }

    pub(crate) fn api_keys(&self) -> Result<Vec<String>, ServerError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT key FROM api_keys ORDER BY created_at")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect()
        })
    }

    pub(crate) fn add_api_key(&self, key: &str) -> Result<(), ServerError> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO api_keys (key, created_at) VALUES (?1, ?2)",
                params![key, Utc::now().to_rfc3339()],
            )
            .map(drop)
        })
    }

    pub(crate) fn put_sandbox(&self, record: &SandboxRecord) -> Result<(), ServerError> {
        let json = serde_json::to_string(record).expect("a record serialises");
        self.with(|c| {
            c.execute(
                "INSERT INTO sandboxes (id, record, live) VALUES (?1, ?2, 1)
                 ON CONFLICT(id) DO UPDATE SET record = excluded.record, live = 1,
                 ended_at = NULL, end_reason = NULL",
                params![record.id, json],
            )
            .map(drop)
        })
    }

    pub(crate) fn end_sandbox(&self, id: &str, reason: &str) -> Result<(), ServerError> {
        self.with(|c| {
            c.execute(
                "UPDATE sandboxes SET live = 0, ended_at = ?2, end_reason = ?3 WHERE id = ?1",
                params![id, Utc::now().to_rfc3339(), reason],
            )
            .map(drop)
        })
    }

    /// Sandboxes the database believes alive.
    pub(crate) fn live_sandboxes(&self) -> Result<Vec<SandboxRecord>, ServerError> {
        let rows: Vec<String> = self.with(|c| {
            let mut stmt = c.prepare("SELECT record FROM sandboxes WHERE live = 1")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect()
        })?;
        Ok(rows.iter().filter_map(|r| serde_json::from_str(r).ok()).collect())
    }

    /// Why a sandbox that is no longer alive ended, if the database knows it.
    pub(crate) fn end_reason(&self, id: &str) -> Result<Option<String>, ServerError> {
        self.with(|c| {
            c.query_row("SELECT end_reason FROM sandboxes WHERE id = ?1 AND live = 0", params![id], |r| {
                r.get::<_, Option<String>>(0)
            })
            .optional()
            .map(Option::flatten)
        })
    }

    pub(crate) fn put_snapshot(&self, row: &SnapshotRow) -> Result<(), ServerError> {
        let names = serde_json::to_string(&row.names).expect("names serialise");
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO snapshots (id, sandbox_id, names, created_at, deleted)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![row.id, row.sandbox_id, names, row.created_at.to_rfc3339(), row.deleted],
            )
            .map(drop)
        })
    }

    pub(crate) fn snapshots(&self) -> Result<Vec<SnapshotRow>, ServerError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT id, sandbox_id, names, created_at, deleted FROM snapshots")?;
            let rows = stmt.query_map([], |r| {
                let names: String = r.get(2)?;
                let created: String = r.get(3)?;
                Ok(SnapshotRow {
                    id: r.get(0)?,
                    sandbox_id: r.get(1)?,
                    names: serde_json::from_str(&names).unwrap_or_default(),
                    created_at: DateTime::parse_from_rfc3339(&created)
                        .map(|t| t.with_timezone(&Utc))
                        .unwrap_or_else(|_| Utc::now()),
                    deleted: r.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    pub(crate) fn remove_snapshot(&self, id: &str) -> Result<(), ServerError> {
        self.with(|c| c.execute("DELETE FROM snapshots WHERE id = ?1", params![id]).map(drop))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> SandboxRecord {
        SandboxRecord {
            id: id.into(),
            template_id: "base".into(),
            alias: Some("base".into()),
            metadata: BTreeMap::from([("k".to_string(), "v".to_string())]),
            access_token: None,
            started_at: Utc::now(),
            end_at: Utc::now(),
            auto_pause: false,
            auto_resume: false,
            paused: false,
            cpu_count: 2,
            memory_mb: 512,
            disk_mb: 1024,
            allow_internet_access: Some(true),
            network: None,
            base_snapshot: None,
            env_vars: BTreeMap::new(),
        }
    }

    #[test]
    fn sandboxes_keys_and_snapshots_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        {
            let store = Store::open(&path).unwrap();
            store.add_api_key("e2b_00").unwrap();
            store.add_api_key("e2b_00").unwrap();
            store.put_sandbox(&record("a")).unwrap();
            store.put_sandbox(&record("b")).unwrap();
            store.end_sandbox("b", "killed").unwrap();
            store
                .put_snapshot(&SnapshotRow {
                    id: "s:default".into(),
                    sandbox_id: "a".into(),
                    names: vec!["s:default".into()],
                    created_at: Utc::now(),
                    deleted: false,
                })
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.api_keys().unwrap(), vec!["e2b_00".to_string()]);
        let live = store.live_sandboxes().unwrap();
        assert_eq!(live, vec![record_with_times(&live[0], "a")]);
        assert_eq!(store.end_reason("b").unwrap().as_deref(), Some("killed"));
        assert_eq!(store.end_reason("a").unwrap(), None);
        let snaps = store.snapshots().unwrap();
        assert_eq!(snaps.len(), 1);
        assert_eq!(snaps[0].names, vec!["s:default".to_string()]);
        store.remove_snapshot("s:default").unwrap();
        assert!(store.snapshots().unwrap().is_empty());
    }

    fn record_with_times(like: &SandboxRecord, id: &str) -> SandboxRecord {
        SandboxRecord { started_at: like.started_at, end_at: like.end_at, ..record(id) }
    }
}
