//! Network settings of a sandbox: egress allow/deny lists, per-host header
//! transforms, an egress proxy, and public access to the sandbox's ports.

use std::collections::BTreeMap;

use e2b_api::control::types;
use serde_json::{Map, Value, json};

/// The egress setters [`NetworkConfig`] and [`NetworkUpdate`] share (same fields, same
/// meaning), each documented with an example for its type.
macro_rules! egress_setters {
    ($ty:ident) => {
        /// Sets the allowed destinations: CIDRs, IPs or domain names (also `*.example.com`).
        ///
        /// # Example
        ///
        /// ```
        #[doc = concat!("let n = e2b::", stringify!($ty), "::new().allow_out([\"1.1.1.1\"]);")]
        /// assert_eq!(n.allow_out, Some(vec!["1.1.1.1".to_string()]));
        /// ```
        pub fn allow_out<I: IntoIterator<Item = S>, S: Into<String>>(mut self, destinations: I) -> Self {
            self.allow_out = Some(destinations.into_iter().map(Into::into).collect());
            self
        }

        /// Sets the denied destinations: CIDRs or IPs.
        ///
        /// # Example
        ///
        /// ```
        #[doc = concat!("let n = e2b::", stringify!($ty), "::new().deny_out([\"0.0.0.0/0\"]);")]
        /// assert_eq!(n.deny_out.unwrap()[0], "0.0.0.0/0");
        /// ```
        pub fn deny_out<I: IntoIterator<Item = S>, S: Into<String>>(mut self, destinations: I) -> Self {
            self.deny_out = Some(destinations.into_iter().map(Into::into).collect());
            self
        }

        /// Adds a transform rule for requests to `host`.
        ///
        /// # Example
        ///
        /// ```
        #[doc = concat!("let n = e2b::", stringify!($ty), "::new().rule(\"a.io\", e2b::NetworkRule::headers([(\"X-Team\", \"1\")]));")]
        /// assert_eq!(n.rules.unwrap()["a.io"].len(), 1);
        /// ```
        pub fn rule(mut self, host: impl Into<String>, rule: NetworkRule) -> Self {
            self.rules.get_or_insert_with(BTreeMap::new).entry(host.into()).or_default().push(rule);
            self
        }

        /// Sends the sandbox's egress through a SOCKS5 proxy.
        ///
        /// # Example
        ///
        /// ```
        #[doc = concat!("let n = e2b::", stringify!($ty), "::new().egress_proxy(e2b::EgressProxy::new(\"proxy:1080\").credentials(\"u\", \"p\"));")]
        /// assert_eq!(n.egress_proxy.unwrap().address, "proxy:1080");
        /// ```
        pub fn egress_proxy(mut self, proxy: EgressProxy) -> Self {
            self.egress_proxy = Some(proxy);
            self
        }
    };
}

/// A sandbox's network configuration, as given to
/// [`SandboxBuilder::network`](crate::SandboxBuilder::network) and reported
/// by [`Client::get_info`](crate::Client::get_info). Unset fields leave the
/// server's defaults in place.
///
/// # Example
///
/// ```
/// use e2b::{NetworkConfig, NetworkRule};
///
/// let network = NetworkConfig::new()
///     .allow_out(["api.example.com", "10.0.0.0/8"])
///     .deny_out(["0.0.0.0/0"])
///     .rule("api.example.com", NetworkRule::headers([("Authorization", "Bearer t0k")]))
///     .allow_public_traffic(false);
/// assert_eq!(network.allow_out.as_deref().unwrap().len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct NetworkConfig {
    /// Destinations the sandbox may reach: CIDRs, IPs or domain names (also
    /// `*.example.com`). Wins over `deny_out`.
    pub allow_out: Option<Vec<String>>,
    /// Destinations the sandbox may not reach: CIDRs or IPs.
    pub deny_out: Option<Vec<String>>,
    /// Whether the sandbox's ports are reachable without the traffic access
    /// token (server default: yes). Turning it off needs a secure sandbox.
    pub allow_public_traffic: Option<bool>,
    /// Host header mask for requests into the sandbox; may contain `${PORT}`.
    pub mask_request_host: Option<String>,
    /// Transforms applied to outgoing HTTP(S) requests, by destination host.
    pub rules: Option<BTreeMap<String, Vec<NetworkRule>>>,
    /// A SOCKS5 proxy for the sandbox's egress.
    pub egress_proxy: Option<EgressProxy>,
}

impl NetworkConfig {
    egress_setters!(NetworkConfig);

    /// Nothing set.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::NetworkConfig::new(), e2b::NetworkConfig::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the sandbox's ports are public.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::NetworkConfig::new().allow_public_traffic(false).allow_public_traffic, Some(false));
    /// ```
    pub fn allow_public_traffic(mut self, allow: bool) -> Self {
        self.allow_public_traffic = Some(allow);
        self
    }

    /// Sets the host mask for requests into the sandbox.
    ///
    /// # Example
    ///
    /// ```
    /// let n = e2b::NetworkConfig::new().mask_request_host("localhost:${PORT}");
    /// assert_eq!(n.mask_request_host.as_deref(), Some("localhost:${PORT}"));
    /// ```
    pub fn mask_request_host(mut self, mask: impl Into<String>) -> Self {
        self.mask_request_host = Some(mask.into());
        self
    }

    /// The request JSON: only what was set.
    pub(crate) fn to_json(&self) -> Value {
        let mut body = egress_json(&self.allow_out, &self.deny_out, &self.egress_proxy, &self.rules);
        if let Some(allow) = self.allow_public_traffic {
            body.insert("allowPublicTraffic".into(), json!(allow));
        }
        if let Some(mask) = &self.mask_request_host {
            body.insert("maskRequestHost".into(), json!(mask));
        }
        Value::Object(body)
    }

    /// The configuration a sandbox reports.
    pub(crate) fn from_api(network: types::SandboxNetworkConfig) -> Self {
        let rules = network.rules.map(|rules| {
            rules
                .0
                .into_iter()
                .map(|(host, rules)| {
                    let rules = rules
                        .into_iter()
                        .map(|rule| NetworkRule {
                            headers: rule
                                .transform
                                .map(|t| t.headers.into_iter().collect())
                                .unwrap_or_default(),
                        })
                        .collect();
                    (host, rules)
                })
                .collect()
        });
        NetworkConfig {
            allow_out: Some(network.allow_out),
            deny_out: Some(network.deny_out),
            allow_public_traffic: Some(network.allow_public_traffic),
            mask_request_host: network.mask_request_host,
            rules,
            egress_proxy: network.egress_proxy.and_then(|p| p.0).map(|p| EgressProxy {
                address: p.address,
                username: p.username.map(String::from),
                password: None,
            }),
        }
    }
}

/// A transform applied to outgoing requests to one host: headers to set.
///
/// # Example
///
/// ```
/// let rule = e2b::NetworkRule::headers([("Authorization", "Bearer abc")]);
/// assert_eq!(rule.headers["Authorization"], "Bearer abc");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetworkRule {
    /// Headers to set on matching requests.
    pub headers: BTreeMap<String, String>,
}

impl NetworkRule {
    /// A rule that sets these headers.
    ///
    /// # Example
    ///
    /// ```
    /// let rule = e2b::NetworkRule::headers([("X-A", "1"), ("X-B", "2")]);
    /// assert_eq!(rule.headers.len(), 2);
    /// ```
    pub fn headers<I, K, V>(headers: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self { headers: headers.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }
}

/// A SOCKS5 proxy for a sandbox's egress. The password is never reported
/// back by the API.
///
/// # Example
///
/// ```
/// let proxy = e2b::EgressProxy::new("10.0.0.2:1080");
/// assert!(proxy.username.is_none());
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EgressProxy {
    /// `host:port`.
    pub address: String,
    /// Username, if the proxy needs one.
    pub username: Option<String>,
    /// Password, if the proxy needs one.
    pub password: Option<String>,
}

impl std::fmt::Debug for EgressProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressProxy")
            .field("address", &self.address)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl EgressProxy {
    /// A proxy at `address` (`host:port`) without credentials.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::EgressProxy::new("p:1080").address, "p:1080");
    /// ```
    pub fn new(address: impl Into<String>) -> Self {
        Self { address: address.into(), username: None, password: None }
    }

    /// Adds credentials.
    ///
    /// # Example
    ///
    /// ```
    /// let proxy = e2b::EgressProxy::new("p:1080").credentials("me", "secret");
    /// assert_eq!(proxy.username.as_deref(), Some("me"));
    /// assert!(!format!("{proxy:?}").contains("secret"));
    /// ```
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }
}

/// The egress fields shared by create and update requests: only what was set.
fn egress_json(
    allow_out: &Option<Vec<String>>,
    deny_out: &Option<Vec<String>>,
    egress_proxy: &Option<EgressProxy>,
    rules: &Option<BTreeMap<String, Vec<NetworkRule>>>,
) -> Map<String, Value> {
    let mut body = Map::new();
    if let Some(allow_out) = allow_out {
        body.insert("allowOut".into(), json!(allow_out));
    }
    if let Some(deny_out) = deny_out {
        body.insert("denyOut".into(), json!(deny_out));
    }
    if let Some(proxy) = egress_proxy {
        let mut object = Map::new();
        object.insert("address".into(), json!(proxy.address));
        if let Some(username) = &proxy.username {
            object.insert("username".into(), json!(username));
        }
        if let Some(password) = &proxy.password {
            object.insert("password".into(), json!(password));
        }
        body.insert("egressProxy".into(), Value::Object(object));
    }
    if let Some(rules) = rules {
        let rules: Map<String, Value> = rules
            .iter()
            .map(|(host, rules)| {
                let list = rules.iter().map(|r| json!({"transform": {"headers": r.headers}})).collect();
                (host.clone(), Value::Array(list))
            })
            .collect();
        body.insert("rules".into(), Value::Object(rules));
    }
    body
}

/// New egress settings for a running sandbox, for
/// [`Client::update_network`](crate::Client::update_network). The update replaces the
/// whole egress configuration: what is not set here is cleared on the server (an egress
/// proxy included, so repeat it in every update that should keep it).
///
/// # Example
///
/// ```
/// use e2b::NetworkUpdate;
///
/// let update = NetworkUpdate::new().deny_out(["0.0.0.0/0"]).allow_out(["10.0.0.0/8"]);
/// assert_eq!(update.deny_out.as_deref(), Some(&["0.0.0.0/0".to_string()][..]));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct NetworkUpdate {
    /// Destinations the sandbox may reach (wins over `deny_out`).
    pub allow_out: Option<Vec<String>>,
    /// Destinations the sandbox may not reach: CIDRs or IPs.
    pub deny_out: Option<Vec<String>>,
    /// Transforms applied to outgoing HTTP(S) requests, by destination host.
    pub rules: Option<BTreeMap<String, Vec<NetworkRule>>>,
    /// A SOCKS5 proxy for the sandbox's egress.
    pub egress_proxy: Option<EgressProxy>,
    /// `false` blocks all egress (like `deny_out(["0.0.0.0/0"])`).
    pub allow_internet_access: Option<bool>,
}

impl NetworkUpdate {
    egress_setters!(NetworkUpdate);

    /// Nothing set: an update that clears every egress rule.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::NetworkUpdate::new(), e2b::NetworkUpdate::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the sandbox may reach the internet at all.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::NetworkUpdate::new().allow_internet_access(false).allow_internet_access, Some(false));
    /// ```
    pub fn allow_internet_access(mut self, allow: bool) -> Self {
        self.allow_internet_access = Some(allow);
        self
    }

    /// The request JSON: only what was set (`allow_internet_access` is snake case on the
    /// wire, as in create requests).
    pub(crate) fn to_json(&self) -> Value {
        let mut body = egress_json(&self.allow_out, &self.deny_out, &self.egress_proxy, &self.rules);
        if let Some(allow) = self.allow_internet_access {
            body.insert("allow_internet_access".into(), json!(allow));
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_only_what_was_set() {
        assert_eq!(NetworkConfig::new().to_json(), json!({}));
        let full = NetworkConfig::new()
            .allow_out(Vec::<String>::new())
            .deny_out(["0.0.0.0/0"])
            .allow_public_traffic(false)
            .mask_request_host("h:${PORT}")
            .rule("a.io", NetworkRule::headers([("X", "1")]))
            .egress_proxy(EgressProxy::new("p:1").credentials("u", "pw"));
        assert_eq!(
            full.to_json(),
            json!({
                "allowOut": [],
                "denyOut": ["0.0.0.0/0"],
                "allowPublicTraffic": false,
                "maskRequestHost": "h:${PORT}",
                "rules": {"a.io": [{"transform": {"headers": {"X": "1"}}}]},
                "egressProxy": {"address": "p:1", "username": "u", "password": "pw"},
            })
        );
    }

    #[test]
    fn reads_what_the_api_reports() {
        let api: types::SandboxNetworkConfig = serde_json::from_value(json!({
            "allowOut": ["a.io"],
            "rules": {"a.io": [{"transform": {"headers": {"K": "V"}}}, {}]},
            "egressProxy": {"address": "p:1", "username": "u"},
        }))
        .unwrap();
        let network = NetworkConfig::from_api(api);
        assert_eq!(network.allow_out, Some(vec!["a.io".to_string()]));
        assert_eq!(network.deny_out, Some(vec![]));
        assert_eq!(network.allow_public_traffic, Some(true));
        let rules = &network.rules.as_ref().unwrap()["a.io"];
        assert_eq!(rules[0].headers["K"], "V");
        assert!(rules[1].headers.is_empty());
        assert_eq!(network.egress_proxy.unwrap().username.as_deref(), Some("u"));
    }
}
