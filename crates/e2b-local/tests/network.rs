//! Egress policy against a fake upstream: a network namespace this test creates, holding
//! two addresses of the TEST-NET-3 documentation range (203.0.113.10 and .11) with an HTTP
//! server, routed from the host. No real address is ever contacted.
//!
//! Proves: by default a sandbox reaches the upstream (forwarding + masquerade);
//! `allow_internet = false` blocks it; `deny_out` blocks just the listed network;
//! `allow_out` wins over the blanket deny; policies can be replaced on running sandboxes
//! (`update_network`), in both directions; each sandbox has exactly one element in the
//! runtime's nftables map while it lives, and none after kill.

mod support;

use std::process::{Child, Command, Stdio};

use e2b_local::runtime::{NetworkPolicy, SandboxInfo, SandboxSpec};
use support::{TestRuntime, exec, host_ready};

const NS: &str = "e2btest-up5";
const HOST_IF: &str = "up5h";

/// The fake upstream; removed on drop.
struct Upstream {
    server: Child,
}

impl Upstream {
    fn start() -> Self {
        let sh = |cmd: &str| {
            let ok = Command::new("sh").arg("-c").arg(cmd).status().unwrap().success();
            assert!(ok, "failed: {cmd}");
        };
        let _ = Command::new("ip").args(["netns", "del", NS]).status();
        let _ = Command::new("ip").args(["link", "del", HOST_IF]).status();
        sh(&format!("ip netns add {NS}"));
        sh(&format!("ip link add {HOST_IF} type veth peer name eth0 netns {NS}"));
        sh(&format!("ip addr add 203.0.113.1/24 dev {HOST_IF} && ip link set {HOST_IF} up"));
        sh(&format!(
            "ip -n {NS} addr add 203.0.113.10/24 dev eth0 && ip -n {NS} addr add 203.0.113.11/24 dev eth0 \
             && ip -n {NS} link set eth0 up && ip -n {NS} link set lo up && ip -n {NS} route add default via 203.0.113.1"
        ));
        let server = Command::new("ip")
            .args(["netns", "exec", NS, "python3", "-m", "http.server", "8080", "--bind", "0.0.0.0"])
            .current_dir("/tmp")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until it listens.
        for _ in 0..100 {
            let up = Command::new("ip")
                .args(["netns", "exec", NS, "sh", "-c", "ss -ltn | grep -q :8080"])
                .status()
                .unwrap()
                .success();
            if up {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { server }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = Command::new("ip").args(["link", "del", HOST_IF]).status();
        let _ = Command::new("ip").args(["netns", "del", NS]).status();
    }
}

async fn reach(sb: &SandboxInfo, ip: &str) -> bool {
    let out =
        exec(sb, "user", &format!("curl -s -m 3 -o /dev/null -w '%{{http_code}}' http://{ip}:8080/ || true"))
            .await;
    out.stdout.trim() == "200"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_policy_is_enforced_against_a_fake_upstream() {
    if !host_ready("egress_policy_is_enforced_against_a_fake_upstream") {
        return;
    }
    let upstream = Upstream::start();
    let t = TestRuntime::start(5).await;
    let rt = &t.runtime;
    let ip = |s: &str| s.parse().unwrap();

    let open = rt.create(SandboxSpec::template("base")).await.unwrap();
    let closed = rt
        .create(SandboxSpec::template("base").network(NetworkPolicy::default().allow_internet(false)))
        .await
        .unwrap();
    let deny_one = rt
        .create(
            SandboxSpec::template("base").network(NetworkPolicy::default().deny_out(ip("203.0.113.10/32"))),
        )
        .await
        .unwrap();
    let allow_one = rt
        .create(
            SandboxSpec::template("base")
                .network(NetworkPolicy::default().allow_internet(false).allow_out(ip("203.0.113.11"))),
        )
        .await
        .unwrap();

    assert!(reach(&open, "203.0.113.10").await, "default policy must reach the upstream");
    assert!(reach(&open, "203.0.113.11").await);
    assert!(!reach(&closed, "203.0.113.10").await, "allow_internet=false leaked");
    assert!(!reach(&closed, "203.0.113.11").await, "allow_internet=false leaked");
    assert!(!reach(&deny_one, "203.0.113.10").await, "deny_out leaked");
    assert!(reach(&deny_one, "203.0.113.11").await, "deny_out blocked too much");
    assert!(reach(&allow_one, "203.0.113.11").await, "allow_out must win over the deny");
    assert!(!reach(&allow_one, "203.0.113.10").await, "allow_out let other traffic out");

    // Policies can be changed on running sandboxes, both ways.
    rt.update_network(&open.id, NetworkPolicy::default().allow_internet(false)).await.unwrap();
    assert!(!reach(&open, "203.0.113.10").await, "updated policy not enforced");
    assert_eq!(rt.info(&open.id).await.unwrap().network, NetworkPolicy::default().allow_internet(false));
    rt.update_network(&closed.id, NetworkPolicy::default()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(reach(&closed, "203.0.113.10").await, "re-opened sandbox still blocked");
    rt.update_network(&open.id, NetworkPolicy::default().deny_out(ip("203.0.113.11/32"))).await.unwrap();
    assert!(reach(&open, "203.0.113.10").await && !reach(&open, "203.0.113.11").await);

    // One map element per sandbox while it lives; none afterwards.
    let listing = rt.host_resources().nft_listing;
    for sb in [&open, &closed, &deny_one, &allow_one] {
        assert!(listing.contains(&format!("{} : ", sb.address)), "{listing}");
    }
    for sb in [&open, &closed, &deny_one, &allow_one] {
        rt.kill(&sb.id).await.unwrap();
    }
    let listing = rt.host_resources().nft_listing;
    assert!(!listing.contains("elements ="), "elements left: {listing}");
    assert!(!listing.contains("chain sb_"), "chains left: {listing}");
    t.finish().await;
    drop(upstream);
}
