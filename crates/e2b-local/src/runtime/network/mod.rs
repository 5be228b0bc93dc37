//! Sandbox networking: one network namespace per sandbox, owned by the host's user namespace
//! (so sandbox root cannot change its addresses or routes), a veth pair created straight into
//! it, a /30 from a private pool, and the runtime's nftables table.

mod firewall;
mod policy;

pub use policy::{Ipv4Cidr, NetworkPolicy};

pub(crate) use firewall::Firewall;

use std::fs::File;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::sync::Mutex;

use futures::TryStreamExt;
use rtnetlink::packet_route::link::{InfoData, InfoVeth};
use rtnetlink::{LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};

/// The addresses of one sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lease {
    pub(crate) slot: u32,
    pub(crate) host: Ipv4Addr,
    pub(crate) sandbox: Ipv4Addr,
}

/// Hands out /30 slots of the pool.
#[derive(Debug)]
pub(crate) struct AddressPool {
    pool: Ipv4Cidr,
    used: Mutex<Vec<bool>>,
}

impl AddressPool {
    pub(crate) fn new(pool: Ipv4Cidr) -> Self {
        let slots = (pool.size() / 4) as usize;
        Self { pool, used: Mutex::new(vec![false; slots]) }
    }

    pub(crate) fn lease_of(&self, slot: u32) -> Lease {
        Lease { slot, host: self.pool.nth(slot * 4 + 1), sandbox: self.pool.nth(slot * 4 + 2) }
    }

    /// Takes the lowest free slot.
    pub(crate) fn take(&self) -> Option<Lease> {
        let mut used = self.used.lock().expect("pool lock");
        let slot = used.iter().position(|u| !u)?;
        used[slot] = true;
        Some(self.lease_of(slot as u32))
    }

    pub(crate) fn release(&self, slot: u32) {
        if let Some(u) = self.used.lock().expect("pool lock").get_mut(slot as usize) {
            *u = false;
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.used.lock().expect("pool lock").len()
    }
}

fn netlink_err(e: rtnetlink::Error) -> io::Error {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.to_io(),
        other => io::Error::other(other.to_string()),
    }
}

/// Host-side networking state of the runtime.
pub(crate) struct HostNetwork {
    host_netns: File,
    handle: rtnetlink::Handle,
    prefix: String,
}

impl HostNetwork {
    /// Opens a netlink connection in the host's network namespace.
    pub(crate) fn new(instance: &str) -> io::Result<Self> {
        let host_netns = File::open("/proc/thread-self/ns/net")?;
        let (conn, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(conn);
        Ok(Self { host_netns, handle, prefix: interface_prefix(instance) })
    }

    /// Host-side veth name of a slot.
    pub(crate) fn veth_name(&self, slot: u32) -> String {
        format!("{}{slot:x}", self.prefix)
    }

    /// Moves the calling thread into a new network namespace set up for the sandbox with
    /// `lease`: loopback up, `eth0` (the peer of a new host-side veth) with the sandbox
    /// address and a default route via the host end. The returned guard moves the thread
    /// back; processes cloned from the thread meanwhile live in the new namespace.
    ///
    /// Runs on a dedicated (non-async) thread; `rt` drives the netlink connections.
    pub(crate) fn enter_sandbox_netns(
        &self,
        rt: &tokio::runtime::Handle,
        lease: Lease,
    ) -> io::Result<NetnsGuard<'_>> {
        // SAFETY: unshare(2) of the network namespace affects only this thread.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let guard = NetnsGuard { host: &self.host_netns };
        let netns = File::open("/proc/thread-self/ns/net")?;
        for (path, value) in [
            ("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1"),
            ("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1"),
            ("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0"),
            ("/proc/sys/net/ipv4/ping_group_range", "0 2147483647"),
        ] {
            // Best effort: missing IPv6 support is fine.
            let _ = std::fs::write(path, value);
        }
        let veth = self.veth_name(lease.slot);
        // A netlink socket opened now belongs to the new namespace for its whole life.
        let inner = {
            let _enter = rt.enter();
            let (conn, handle, _) = rtnetlink::new_connection()?;
            rt.spawn(conn);
            handle
        };
        let host = self.handle.clone();
        rt.block_on(async move {
            let peer = LinkMessageBuilder::<LinkUnspec>::new()
                .name("eth0".to_string())
                .setns_by_fd(netns.as_raw_fd())
                .build();
            let msg =
                LinkVeth::new(&veth, "eth0").set_info_data(InfoData::Veth(InfoVeth::Peer(peer))).up().build();
            host.link().add(msg).execute().await.map_err(netlink_err)?;
            let host_index = link_index(&host, &veth).await?;
            host.address()
                .add(host_index, IpAddr::V4(lease.host), 30)
                .execute()
                .await
                .map_err(netlink_err)?;
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{veth}/disable_ipv6"), "1");

            let lo = link_index(&inner, "lo").await?;
            inner
                .link()
                .set(LinkUnspec::new_with_index(lo).up().build())
                .execute()
                .await
                .map_err(netlink_err)?;
            let eth0 = link_index(&inner, "eth0").await?;
            inner.address().add(eth0, IpAddr::V4(lease.sandbox), 30).execute().await.map_err(netlink_err)?;
            inner
                .link()
                .set(LinkUnspec::new_with_index(eth0).up().build())
                .execute()
                .await
                .map_err(netlink_err)?;
            inner
                .route()
                .add(RouteMessageBuilder::<Ipv4Addr>::new().gateway(lease.host).build())
                .execute()
                .await
                .map_err(netlink_err)?;
            Ok::<_, io::Error>(())
        })?;
        Ok(guard)
    }

    /// Deletes the host end of a slot's veth pair (which deletes the pair). A missing one is
    /// fine: it vanishes with its namespace.
    pub(crate) async fn delete_veth(&self, slot: u32) -> io::Result<()> {
        delete_link(&self.handle, &self.veth_name(slot)).await
    }

    /// Names of host interfaces that carry this runtime's prefix.
    pub(crate) async fn own_links(&self) -> io::Result<Vec<String>> {
        let mut links = self.handle.link().get().execute();
        let mut names = Vec::new();
        while let Some(msg) = links.try_next().await.map_err(netlink_err)? {
            for attr in msg.attributes {
                if let rtnetlink::packet_route::link::LinkAttribute::IfName(name) = attr
                    && name.starts_with(&self.prefix)
                {
                    names.push(name);
                }
            }
        }
        Ok(names)
    }

    /// Deletes a host interface by name; missing is fine.
    pub(crate) async fn delete_link_named(&self, name: &str) -> io::Result<()> {
        delete_link(&self.handle, name).await
    }
}

async fn delete_link(handle: &rtnetlink::Handle, name: &str) -> io::Result<()> {
    match link_index(handle, name).await {
        Ok(index) => match handle.link().del(index).execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(m)) if m.raw_code() == -libc::ENODEV => Ok(()),
            Err(e) => Err(netlink_err(e)),
        },
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn link_index(handle: &rtnetlink::Handle, name: &str) -> io::Result<u32> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(msg)) => Ok(msg.header.index),
        Ok(None) => Err(io::Error::from_raw_os_error(libc::ENODEV)),
        Err(rtnetlink::Error::NetlinkError(m)) if m.raw_code() == -libc::ENODEV => {
            Err(io::Error::from_raw_os_error(libc::ENODEV))
        }
        Err(e) => Err(netlink_err(e)),
    }
}

/// Moves the thread back to the host's network namespace when dropped.
pub(crate) struct NetnsGuard<'a> {
    host: &'a File,
}

impl Drop for NetnsGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: setns(2) on the host namespace fd we hold.
        if unsafe { libc::setns(self.host.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
            // The thread is dedicated to this create call and ends right after, so a failure
            // here cannot leak the namespace into other work.
            tracing::error!(error = %io::Error::last_os_error(), "could not return to the host network namespace");
        }
    }
}

/// Interface name prefix of an instance: `e2b<instance>-` (at most 10 characters).
pub(crate) fn interface_prefix(instance: &str) -> String {
    format!("e2b{instance}-")
}

/// Turns on IPv4 forwarding (needed for sandbox egress).
pub(crate) fn enable_forwarding() -> io::Result<()> {
    let path = "/proc/sys/net/ipv4/ip_forward";
    if std::fs::read_to_string(path)?.trim() != "1" {
        std::fs::write(path, "1")?;
    }
    Ok(())
}

/// The host's DNS servers that a sandbox can use (loopback ones cannot be reached from it).
pub(crate) fn host_nameservers() -> Vec<Ipv4Addr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<Ipv4Addr>().ok())
        .filter(|a| !a.is_loopback())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_hands_out_distinct_slash30s_and_reuses_released_ones() {
        let pool = AddressPool::new("10.9.0.0/28".parse().unwrap());
        assert_eq!(pool.capacity(), 4);
        let a = pool.take().unwrap();
        let b = pool.take().unwrap();
        assert_eq!((a.host, a.sandbox), (Ipv4Addr::new(10, 9, 0, 1), Ipv4Addr::new(10, 9, 0, 2)));
        assert_eq!((b.host, b.sandbox), (Ipv4Addr::new(10, 9, 0, 5), Ipv4Addr::new(10, 9, 0, 6)));
        pool.take().unwrap();
        pool.take().unwrap();
        assert!(pool.take().is_none());
        pool.release(a.slot);
        assert_eq!(pool.take().unwrap(), a);
    }

    #[test]
    fn interface_names_fit_the_kernel_limit() {
        let prefix = interface_prefix("abcdef");
        let name = format!("{prefix}{:x}", 16383u32);
        assert!(name.len() <= 15, "{name}");
    }
}
