//! The run-time defaults that `/init` changes: environment, default user and
//! workdir, and the access token.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::RwLock;

use chrono::{DateTime, Utc};

use crate::auth::AccessToken;
use crate::config::Config;

/// What one `/init` asks for; see [`Envd::apply_init`](crate::Envd::apply_init).
///
/// Every field is optional and leaves the current value alone when unset,
/// except the access token: an init without one clears the token, as the
/// E2B control plane expects when a sandbox is resumed without `secure`.
///
/// ```
/// let init = envd::Init::new()
///     .env_var("FOO", "1")
///     .default_user("user")
///     .access_token("secret");
/// # let _ = init;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Init {
    pub(crate) env_vars: Option<BTreeMap<String, String>>,
    pub(crate) access_token: Option<String>,
    pub(crate) default_user: Option<String>,
    pub(crate) default_workdir: Option<PathBuf>,
    pub(crate) timestamp: Option<DateTime<Utc>>,
}

impl Init {
    /// An init that changes nothing but clears the access token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one variable to the set that replaces the previous `/init`
    /// variables (variables from [`Config::env`] always stay).
    #[must_use]
    pub fn env_var(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env_vars.get_or_insert_with(BTreeMap::new).insert(key.into(), value.into());
        self
    }

    /// Replaces the previous `/init` variables with `vars`.
    #[must_use]
    pub fn env_vars(mut self, vars: BTreeMap<String, String>) -> Self {
        self.env_vars = Some(vars);
        self
    }

    /// Sets the access token.
    #[must_use]
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into());
        self
    }

    /// Sets the default user (ignored when empty).
    #[must_use]
    pub fn default_user(mut self, user: impl Into<String>) -> Self {
        self.default_user = Some(user.into());
        self
    }

    /// Sets the default working directory (ignored when empty).
    #[must_use]
    pub fn default_workdir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.default_workdir = Some(dir.into());
        self
    }

    /// The orchestrator's clock at sending time: an init older than the last
    /// applied one is a replay and changes nothing.
    #[must_use]
    pub fn timestamp(mut self, at: DateTime<Utc>) -> Self {
        self.timestamp = Some(at);
        self
    }
}

/// Whether an init was applied or skipped as a replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InitOutcome {
    Applied,
    Replay,
}

#[derive(Debug)]
struct State {
    default_user: Option<String>,
    default_workdir: Option<PathBuf>,
    internal_env: BTreeMap<String, String>,
    init_env: BTreeMap<String, String>,
    access_token: Option<AccessToken>,
    last_init: Option<DateTime<Utc>>,
}

/// Shared, mutable defaults. Reads are frequent (every request) and writes
/// rare (`/init`), hence a read-write lock held only for copies.
#[derive(Debug)]
pub(crate) struct Settings {
    state: RwLock<State>,
}

impl Settings {
    pub(crate) fn new(config: &Config) -> Self {
        Settings {
            state: RwLock::new(State {
                default_user: config.default_user.clone(),
                default_workdir: config.default_workdir.clone(),
                internal_env: config.env.clone(),
                init_env: BTreeMap::new(),
                access_token: config.access_token.clone().map(AccessToken::new),
                last_init: None,
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave State inconsistent
        // (every write is a plain field assignment), so poisoning is ignored.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn default_user(&self) -> Option<String> {
        self.read().default_user.clone()
    }

    pub(crate) fn default_workdir(&self) -> Option<PathBuf> {
        self.read().default_workdir.clone()
    }

    pub(crate) fn access_token(&self) -> Option<AccessToken> {
        self.read().access_token.clone()
    }

    /// The default environment: internal variables, then `/init`'s (which
    /// win on conflicts).
    pub(crate) fn env(&self) -> BTreeMap<String, String> {
        let state = self.read();
        let mut env = state.internal_env.clone();
        env.extend(state.init_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        env
    }

    pub(crate) fn apply(&self, init: Init) -> InitOutcome {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if let (Some(at), Some(last)) = (init.timestamp, state.last_init)
            && at < last
        {
            return InitOutcome::Replay;
        }
        if let Some(at) = init.timestamp {
            state.last_init = Some(at);
        }
        if let Some(vars) = init.env_vars {
            state.init_env = vars;
        }
        state.access_token = init.access_token.map(AccessToken::new);
        if let Some(user) = init.default_user.filter(|u| !u.is_empty()) {
            state.default_user = Some(user);
        }
        if let Some(dir) = init.default_workdir.filter(|d| !d.as_os_str().is_empty()) {
            state.default_workdir = Some(dir);
        }
        InitOutcome::Applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn init_replaces_its_own_env_and_keeps_internal_vars() {
        let settings = Settings::new(&Config::new().env("E2B_SANDBOX_ID", "sbx"));
        settings.apply(Init::new().env_var("A", "1").env_var("E2B_SANDBOX", "override"));
        let env = settings.env();
        assert_eq!(env["A"], "1");
        assert_eq!(env["E2B_SANDBOX"], "override");
        assert_eq!(env["E2B_SANDBOX_ID"], "sbx");
        settings.apply(Init::new().env_var("B", "2"));
        let env = settings.env();
        assert!(!env.contains_key("A"));
        assert_eq!(env["E2B_SANDBOX"], "true");
    }

    #[test]
    fn replays_change_nothing_and_empty_values_are_ignored() {
        let settings = Settings::new(&Config::new());
        let t1 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            settings.apply(Init::new().timestamp(t1).access_token("t").default_user("user")),
            InitOutcome::Applied
        );
        assert_eq!(settings.apply(Init::new().timestamp(t0)), InitOutcome::Replay);
        assert!(settings.access_token().is_some());
        settings.apply(Init::new().timestamp(t1).default_user("").default_workdir(""));
        assert_eq!(settings.default_user().as_deref(), Some("user"));
        assert_eq!(settings.default_workdir(), None);
        assert!(settings.access_token().is_none(), "an init without a token clears it");
    }
}
