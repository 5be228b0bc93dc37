//! The runtime's nftables table (`inet e2b_<instance>`), driven through the `nft` tool.
//!
//! Fixed rules keep every sandbox away from the host, from other sandboxes, from link-local
//! addresses and from IPv6; traffic from outside never enters a sandbox unless it answers a
//! connection made from the host (envd). Per sandbox there is one element in the `egress`
//! verdict map keyed by its address (so spoofed sources match nothing and are dropped), and
//! for policies with lists one chain `sb_<id>`.

use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use super::interface_prefix;
use super::policy::{Ipv4Cidr, NetworkPolicy};

/// The nftables table of one runtime instance.
#[derive(Debug, Clone)]
pub(crate) struct Firewall {
    table: String,
    iface: String,
    pool: Ipv4Cidr,
}

impl Firewall {
    pub(crate) fn new(instance: &str, pool: Ipv4Cidr) -> Self {
        Self { table: format!("e2b_{instance}"), iface: format!("{}*", interface_prefix(instance)), pool }
    }

    /// The table's name (family `inet`).
    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// Runs an nft script atomically.
    fn apply(script: &str) -> io::Result<()> {
        let mut child = Command::new("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("running nft: {e}")))?;
        child.stdin.take().expect("piped stdin").write_all(script.as_bytes())?;
        let out = child.wait_with_output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "nft failed: {} (script: {script})",
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// (Re)creates the table with its fixed rules; any previous content (leftovers of a
    /// crashed runtime) is discarded.
    pub(crate) fn install(&self) -> io::Result<()> {
        let Self { table, iface, pool } = self;
        let script = format!(
            r#"table inet {table} {{}}
delete table inet {table}
table inet {table} {{
  map egress {{ type ipv4_addr : verdict ; }}
  chain reject_egress {{
    meta l4proto tcp reject with tcp reset
    reject with icmpx type admin-prohibited
  }}
  chain input {{
    type filter hook input priority filter - 10; policy accept;
    iifname "{iface}" ct state established,related accept
    iifname "{iface}" drop
  }}
  chain forward {{
    type filter hook forward priority filter - 10; policy accept;
    oifname "{iface}" ct state established,related accept
    oifname "{iface}" drop
    iifname "{iface}" meta nfproto ipv6 drop
    iifname "{iface}" oifname "e2b*" drop
    iifname "{iface}" ip daddr {{ 127.0.0.0/8, 169.254.0.0/16, {pool} }} drop
    iifname "{iface}" ip saddr vmap @egress
    iifname "{iface}" drop
  }}
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr {pool} oifname != "{iface}" masquerade
  }}
}}
"#
        );
        Self::apply(&script)
    }

    fn chain_name(id: &str) -> String {
        format!("sb_{id}")
    }

    /// Installs a sandbox's egress policy.
    pub(crate) fn add_sandbox(&self, id: &str, address: Ipv4Addr, policy: &NetworkPolicy) -> io::Result<()> {
        Self::apply(&self.add_sandbox_script(id, address, policy))
    }

    /// The nft script that installs a sandbox's egress policy.
    fn add_sandbox_script(&self, id: &str, address: Ipv4Addr, policy: &NetworkPolicy) -> String {
        let table = &self.table;
        if policy.is_default() {
            format!("add element inet {table} egress {{ {address} : accept }}\n")
        } else if policy.allow_out.is_empty() && policy.deny_out.is_empty() {
            format!("add element inet {table} egress {{ {address} : jump reject_egress }}\n")
        } else {
            let chain = Self::chain_name(id);
            let mut s = format!("add chain inet {table} {chain}\n");
            for net in &policy.allow_out {
                s += &format!("add rule inet {table} {chain} ip daddr {net} accept\n");
            }
            for net in &policy.deny_out {
                s += &format!("add rule inet {table} {chain} ip daddr {net} jump reject_egress\n");
            }
            let fallback = if policy.allow_internet { "accept" } else { "jump reject_egress" };
            s += &format!("add rule inet {table} {chain} {fallback}\n");
            s += &format!("add element inet {table} egress {{ {address} : jump {chain} }}\n");
            s
        }
    }

    /// Whether a policy needs a chain of its own (it has allow or deny lists).
    pub(crate) fn needs_chain(policy: &NetworkPolicy) -> bool {
        !policy.allow_out.is_empty() || !policy.deny_out.is_empty()
    }

    /// Removes a sandbox's element (and its chain when `has_chain`) in one nft call; if that
    /// fails (e.g. they were never fully added), removes whatever exists of them.
    pub(crate) fn remove_sandbox(&self, id: &str, address: Ipv4Addr, has_chain: bool) -> io::Result<()> {
        let table = &self.table;
        let mut script = format!("delete element inet {table} egress {{ {address} }}\n");
        if has_chain {
            script += &format!("delete chain inet {table} {}\n", Self::chain_name(id));
        }
        Self::apply(&script).or_else(|_| self.remove_existing(id, address))
    }

    fn remove_existing(&self, id: &str, address: Ipv4Addr) -> io::Result<()> {
        let table = &self.table;
        let chain = Self::chain_name(id);
        let listing = self.list()?;
        let mut script = String::new();
        if listing.contains(&format!("{address} : ")) {
            script += &format!("delete element inet {table} egress {{ {address} }}\n");
        }
        if listing.contains(&format!("chain {chain} ")) {
            script += &format!("delete chain inet {table} {chain}\n");
        }
        if script.is_empty() {
            return Ok(());
        }
        Self::apply(&script)
    }

    /// The table as `nft list table` prints it (empty if it does not exist).
    pub(crate) fn list(&self) -> io::Result<String> {
        let out = Command::new("nft")
            .args(["list", "table", "inet", &self.table])
            .stderr(Stdio::null())
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Deletes the whole table.
    pub(crate) fn uninstall(&self) -> io::Result<()> {
        let table = &self.table;
        Self::apply(&format!("table inet {table} {{}}\ndelete table inet {table}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fw() -> Firewall {
        Firewall::new("x1", "10.1.0.0/16".parse().unwrap())
    }

    #[test]
    fn default_policy_is_one_accept_element() {
        let s = fw().add_sandbox_script("abc", Ipv4Addr::new(10, 1, 0, 2), &NetworkPolicy::default());
        assert_eq!(s, "add element inet e2b_x1 egress { 10.1.0.2 : accept }\n");
    }

    #[test]
    fn no_internet_without_lists_rejects_everything() {
        let p = NetworkPolicy::default().allow_internet(false);
        let s = fw().add_sandbox_script("abc", Ipv4Addr::new(10, 1, 0, 2), &p);
        assert_eq!(s, "add element inet e2b_x1 egress { 10.1.0.2 : jump reject_egress }\n");
    }

    #[test]
    fn allow_list_comes_before_deny_list_and_fallback() {
        let p = NetworkPolicy::default()
            .allow_internet(false)
            .allow_out("203.0.113.11".parse().unwrap())
            .deny_out("198.51.100.0/24".parse().unwrap());
        let s = fw().add_sandbox_script("abc", Ipv4Addr::new(10, 1, 0, 6), &p);
        let allow = s.find("203.0.113.11/32 accept").unwrap();
        let deny = s.find("198.51.100.0/24 jump reject_egress").unwrap();
        let fallback = s.find("sb_abc jump reject_egress").unwrap();
        assert!(allow < deny && deny < fallback, "{s}");
        assert!(s.ends_with("add element inet e2b_x1 egress { 10.1.0.6 : jump sb_abc }\n"));
    }
}
