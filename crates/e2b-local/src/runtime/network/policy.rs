//! Egress policy of one sandbox: E2B's `allow_internet_access`, `allowOut` and `denyOut`.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::runtime::error::{Result, RuntimeError};

/// An IPv4 network in CIDR notation; a bare address means `/32`.
///
/// ```
/// use e2b_local::runtime::Ipv4Cidr;
/// let net: Ipv4Cidr = "10.0.0.7/8".parse().unwrap();
/// assert_eq!(net.to_string(), "10.0.0.0/8");
/// assert!(net.contains("10.200.1.1".parse().unwrap()));
/// assert!("example.com".parse::<Ipv4Cidr>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv4Cidr {
    network: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Cidr {
    /// A network from an address (host bits are cleared) and a prefix length (0..=32).
    pub fn new(address: Ipv4Addr, prefix: u8) -> Result<Self> {
        if prefix > 32 {
            return Err(RuntimeError::InvalidSpec(format!("prefix /{prefix} is longer than 32")));
        }
        let mask = Self::mask_of(prefix);
        Ok(Self { network: Ipv4Addr::from(u32::from(address) & mask), prefix })
    }

    fn mask_of(prefix: u8) -> u32 {
        if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) }
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Number of addresses in the network.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// Whether `address` lies in the network.
    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & Self::mask_of(self.prefix) == u32::from(self.network)
    }

    /// The address at `offset` from the network address.
    pub(crate) fn nth(&self, offset: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network).wrapping_add(offset))
    }
}

impl FromStr for Ipv4Cidr {
    type Err = RuntimeError;
    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            RuntimeError::InvalidSpec(format!(
                "{text:?} is not an IPv4 address or CIDR (domain names and IPv6 are not enforced by the local runtime)"
            ))
        };
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, p.parse::<u8>().map_err(|_| bad())?),
            None => (text.trim(), 32),
        };
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        Self::new(addr, prefix)
    }
}

impl TryFrom<String> for Ipv4Cidr {
    type Error = RuntimeError;
    fn try_from(value: String) -> Result<Self> {
        value.parse()
    }
}

impl From<Ipv4Cidr> for String {
    fn from(value: Ipv4Cidr) -> Self {
        value.to_string()
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Where a sandbox may send traffic. Semantics follow E2B: `allow_out` wins over `deny_out`;
/// `allow_internet = false` is the same as denying `0.0.0.0/0`. Independently of the policy a
/// sandbox never reaches the host, other sandboxes or link-local addresses.
///
/// ```
/// use e2b_local::runtime::NetworkPolicy;
/// let policy = NetworkPolicy::default()
///     .allow_internet(false)
///     .allow_out("203.0.113.10".parse().unwrap());
/// assert!(!policy.is_default());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPolicy {
    /// Whether traffic not matched by the lists goes out.
    pub allow_internet: bool,
    /// Always allowed destinations.
    pub allow_out: Vec<Ipv4Cidr>,
    /// Blocked destinations (unless also in `allow_out`).
    pub deny_out: Vec<Ipv4Cidr>,
}

impl Default for NetworkPolicy {
    fn default() -> Self {
        Self { allow_internet: true, allow_out: Vec::new(), deny_out: Vec::new() }
    }
}

impl NetworkPolicy {
    /// Sets whether unmatched egress is allowed.
    pub fn allow_internet(mut self, allow: bool) -> Self {
        self.allow_internet = allow;
        self
    }

    /// Adds an always-allowed destination.
    pub fn allow_out(mut self, net: Ipv4Cidr) -> Self {
        self.allow_out.push(net);
        self
    }

    /// Adds a blocked destination.
    pub fn deny_out(mut self, net: Ipv4Cidr) -> Self {
        self.deny_out.push(net);
        self
    }

    /// True when no rule beyond "everything out" applies.
    pub fn is_default(&self) -> bool {
        self.allow_internet && self.allow_out.is_empty() && self.deny_out.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_and_networks() {
        assert_eq!("10.0.0.1".parse::<Ipv4Cidr>().unwrap().to_string(), "10.0.0.1/32");
        assert_eq!("0.0.0.0/0".parse::<Ipv4Cidr>().unwrap().size(), 1 << 32);
        assert!("10.0.0.0/33".parse::<Ipv4Cidr>().is_err());
        assert!("*.example.com".parse::<Ipv4Cidr>().is_err());
        assert!("::1".parse::<Ipv4Cidr>().is_err());
        let net: Ipv4Cidr = "192.168.7.9/16".parse().unwrap();
        assert!(net.contains(Ipv4Addr::new(192, 168, 200, 1)));
        assert!(!net.contains(Ipv4Addr::new(192, 169, 0, 1)));
    }

    #[test]
    fn serde_round_trip_uses_cidr_text() {
        let p = NetworkPolicy::default().deny_out("10.0.0.0/8".parse().unwrap());
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"10.0.0.0/8\""), "{json}");
        assert_eq!(serde_json::from_str::<NetworkPolicy>(&json).unwrap(), p);
    }
}
