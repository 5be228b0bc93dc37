//! What happens when a sandbox's timeout expires: it is killed, or paused
//! (optionally keeping only its filesystem) and possibly resumed by traffic.

use crate::error::{Error, Phase, Result, Stage};

/// The action taken when a sandbox times out.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::OnTimeout::Pause.as_str(), "pause");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnTimeout {
    /// Kill the sandbox (the server's default).
    Kill,
    /// Pause the sandbox so that it can be resumed later.
    Pause,
}

impl OnTimeout {
    /// The wire name.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::OnTimeout::Kill.as_str(), "kill");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            OnTimeout::Kill => "kill",
            OnTimeout::Pause => "pause",
        }
    }
}

/// Lifecycle options for a new sandbox. Anything left unset is left to the
/// server's defaults (currently: kill on timeout, no auto-resume).
///
/// Checked before anything is sent: `auto_resume(true)` needs
/// [`OnTimeout::Pause`], `keep_memory` is only meaningful with a pause, and a
/// filesystem-only pause (`keep_memory(false)`) cannot be auto-resumed.
///
/// # Example
///
/// ```
/// use e2b::{Lifecycle, OnTimeout};
///
/// let lifecycle = Lifecycle::new().on_timeout(OnTimeout::Pause).auto_resume(true);
/// assert_eq!(lifecycle.on_timeout, Some(OnTimeout::Pause));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lifecycle {
    /// What to do on timeout.
    pub on_timeout: Option<OnTimeout>,
    /// With a pause: whether memory is kept (default) or only the filesystem.
    pub keep_memory: Option<bool>,
    /// Whether incoming traffic resumes a paused sandbox.
    pub auto_resume: Option<bool>,
}

impl Lifecycle {
    /// Nothing set.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::Lifecycle::new(), e2b::Lifecycle::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the timeout action.
    ///
    /// # Example
    ///
    /// ```
    /// let l = e2b::Lifecycle::new().on_timeout(e2b::OnTimeout::Kill);
    /// assert_eq!(l.on_timeout, Some(e2b::OnTimeout::Kill));
    /// ```
    pub fn on_timeout(mut self, action: OnTimeout) -> Self {
        self.on_timeout = Some(action);
        self
    }

    /// With [`OnTimeout::Pause`]: `false` keeps only the filesystem, so a
    /// resume cold-boots the sandbox.
    ///
    /// # Example
    ///
    /// ```
    /// let l = e2b::Lifecycle::new().on_timeout(e2b::OnTimeout::Pause).keep_memory(false);
    /// assert_eq!(l.keep_memory, Some(false));
    /// ```
    pub fn keep_memory(mut self, keep: bool) -> Self {
        self.keep_memory = Some(keep);
        self
    }

    /// Whether incoming traffic resumes the paused sandbox.
    ///
    /// # Example
    ///
    /// ```
    /// let l = e2b::Lifecycle::new().on_timeout(e2b::OnTimeout::Pause).auto_resume(true);
    /// assert_eq!(l.auto_resume, Some(true));
    /// ```
    pub fn auto_resume(mut self, auto_resume: bool) -> Self {
        self.auto_resume = Some(auto_resume);
        self
    }

    /// Validates and turns the options into the create-request fields.
    pub(crate) fn to_fields(self, operation: &'static str) -> Result<LifecycleFields> {
        let invalid =
            |message: &str| Error::invalid_argument(Stage::new(operation, Phase::Validate), message);
        let pause = self.on_timeout == Some(OnTimeout::Pause);
        if self.keep_memory.is_some() && !pause {
            return Err(invalid("keep_memory is only allowed when on_timeout is Pause"));
        }
        if self.auto_resume == Some(true) && !pause {
            return Err(invalid("auto_resume can only be true when on_timeout is Pause"));
        }
        if self.keep_memory == Some(false) && self.auto_resume == Some(true) {
            return Err(invalid(
                "auto_resume cannot be true with keep_memory false: a filesystem-only snapshot cannot be \
                 resumed by traffic and must be resumed explicitly with connect",
            ));
        }
        Ok(LifecycleFields {
            auto_pause: self.on_timeout.map(|action| action == OnTimeout::Pause),
            auto_pause_memory: if pause { self.keep_memory } else { None },
            auto_resume: self.auto_resume,
        })
    }
}

/// The lifecycle fields of a create request; `None` is omitted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LifecycleFields {
    pub(crate) auto_pause: Option<bool>,
    pub(crate) auto_pause_memory: Option<bool>,
    pub(crate) auto_resume: Option<bool>,
}

/// The lifecycle a sandbox reports.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// if let Some(lifecycle) = sandbox.get_info().await?.lifecycle {
///     println!("on timeout: {:?}, auto-resume: {}", lifecycle.on_timeout, lifecycle.auto_resume);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LifecycleInfo {
    /// What happens on timeout.
    pub on_timeout: OnTimeout,
    /// Whether traffic resumes the paused sandbox.
    pub auto_resume: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(l: Lifecycle) -> Result<LifecycleFields> {
        l.to_fields("create sandbox")
    }

    #[test]
    fn unset_options_send_nothing() {
        assert_eq!(fields(Lifecycle::new()).unwrap(), LifecycleFields::default());
    }

    #[test]
    fn valid_combinations() {
        let f = fields(Lifecycle::new().on_timeout(OnTimeout::Kill)).unwrap();
        assert_eq!(f, LifecycleFields { auto_pause: Some(false), ..Default::default() });
        let f = fields(Lifecycle::new().on_timeout(OnTimeout::Pause).auto_resume(true)).unwrap();
        assert_eq!(
            f,
            LifecycleFields { auto_pause: Some(true), auto_pause_memory: None, auto_resume: Some(true) }
        );
        let f = fields(Lifecycle::new().on_timeout(OnTimeout::Pause).keep_memory(false).auto_resume(false))
            .unwrap();
        assert_eq!(
            f,
            LifecycleFields {
                auto_pause: Some(true),
                auto_pause_memory: Some(false),
                auto_resume: Some(false)
            }
        );
        let f = fields(Lifecycle::new().auto_resume(false)).unwrap();
        assert_eq!(f, LifecycleFields { auto_resume: Some(false), ..Default::default() });
    }

    #[test]
    fn invalid_combinations_fail_before_sending() {
        for bad in [
            Lifecycle::new().auto_resume(true),
            Lifecycle::new().on_timeout(OnTimeout::Kill).auto_resume(true),
            Lifecycle::new().keep_memory(true),
            Lifecycle::new().on_timeout(OnTimeout::Kill).keep_memory(false),
            Lifecycle::new().on_timeout(OnTimeout::Pause).keep_memory(false).auto_resume(true),
        ] {
            let err = fields(bad).unwrap_err();
            assert!(
                matches!(err, Error::InvalidArgument { stage, .. } if stage.phase == Phase::Validate),
                "{bad:?}"
            );
        }
    }
}
