//! Isolation, tested as an attacker would: the attack code runs inside real sandboxes
//! (through envd's process API, as `user` and as `root`), and the test checks from the host
//! that nothing got through.
//!
//! Proves: no view of host processes, host files (the work tree, /root, a fresh host marker),
//! the host network or other sandboxes; no writes to /proc/sys, no module loading, no mounts,
//! no new user namespaces, no keyrings, no escape through /proc/1/root; capabilities are
//! reduced to the user-switching set with no_new_privs and seccomp on; a fork bomb hits the
//! pids limit; a memory hog is OOM-killed and reported; filling the disk gives ENOSPC inside
//! and leaves the host's disk alone.

mod support;

use std::io::Write;
use std::time::Duration;

use e2b_local::runtime::{Resources, RuntimeEvent, SandboxSpec};
use support::{TestRuntime, envd_answers, exec};

/// Raw syscalls from Python, printing the errno (0 = the call succeeded).
fn syscall_probe(nr: i64, args: &str) -> String {
    format!(
        "python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall({nr}{args}); print(ctypes.get_errno() if r<0 else 0)'"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attacker_inside_sees_and_reaches_nothing_outside() {
    let Some(t) = TestRuntime::for_test("attacker_inside_sees_and_reaches_nothing_outside", 3).await else {
        return;
    };
    let rt = &t.runtime;
    let a = rt.create(SandboxSpec::template("base")).await.expect("create a");
    let b = rt.create(SandboxSpec::template("base")).await.expect("create b");

    // A host service on all interfaces, and a marker file in the host's /root and /tmp.
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let marker = format!("e2b-marker-{}", std::process::id());
    for dir in ["/root", "/tmp"] {
        std::fs::File::create(format!("{dir}/{marker}")).unwrap().write_all(b"secret").unwrap();
    }
    let host_ip = std::process::Command::new("ip")
        .args(["-4", "-o", "route", "get", "1.1.1.1"])
        .output()
        .ok()
        .and_then(|o| {
            let s = String::from_utf8_lossy(&o.stdout).to_string();
            s.split_whitespace().skip_while(|w| *w != "src").nth(1).map(str::to_string)
        })
        .unwrap_or_else(|| "127.0.0.1".into());
    let host_end = {
        let o = a.address.octets();
        format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3] - 1)
    };

    for user in ["user", "root"] {
        let probe = |script: String| {
            let sb = a.clone();
            async move {
                let out = exec(&sb, user, &script).await;
                eprintln!("[{user}] {script}\n  -> {out:?}");
                out
            }
        };
        // Processes: only the sandbox's own; pid 1 is envd.
        let out = probe("ls /proc | grep -c '^[0-9]'; cat /proc/1/comm".into()).await;
        let mut lines = out.stdout.lines();
        let count: usize = lines.next().unwrap().parse().unwrap();
        assert!(count < 10, "sees {count} processes");
        assert_eq!(lines.next(), Some("envd"));
        // Files: no work tree, no host /root or /tmp content, /proc/1/root is the sandbox.
        let out = probe(format!(
            "for p in /work /work/wt-runtime /root/{marker} /tmp/{marker} /proc/1/root/work /proc/1/root/root/{marker} /sys/class /dev/vda /dev/loop0 /dev/kmsg; do test -e $p && echo VISIBLE $p; done; \
             test \"$(head -c 16 /proc/kcore 2>/dev/null | wc -c)\" = 0 || echo VISIBLE kcore; \
             cat /proc/1/root/etc/hostname 2>/dev/null || echo denied"
        ))
        .await;
        // root may look through /proc/1/root (it is the sandbox's own root); user may not.
        let expected = if user == "root" { a.id.as_str() } else { "denied" };
        assert_eq!(out.stdout.trim(), expected, "{out:?}");
        // Host network: only lo and eth0; no route to host services, the host end of the
        // veth or the other sandbox.
        let out =
            probe("awk -F: 'NR>2 {print $1}' /proc/net/dev | tr -d ' ' | sort | tr '\\n' ,".into()).await;
        assert_eq!(out.stdout, "eth0,lo,", "{out:?}");
        // Positive control: the probe does connect where it may (envd on its own loopback).
        let out = probe("timeout 3 bash -c 'echo > /dev/tcp/127.0.0.1/49983' && echo CONNECTED".into()).await;
        assert_eq!(out.stdout.trim(), "CONNECTED", "{out:?}");
        for target in
            [format!("{host_ip}/{port}"), format!("{host_end}/{port}"), format!("{}/49983", b.address)]
        {
            let out = probe(format!(
                "timeout 3 bash -c 'echo > /dev/tcp/{target}' 2>/dev/null && echo CONNECTED || echo blocked"
            ))
            .await;
            assert_eq!(out.stdout.trim(), "blocked", "reached {target}");
        }
        // Kernel interfaces.
        let out = probe("echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && echo WROTE; echo 0 > /proc/sys/net/ipv4/ip_forward 2>/dev/null && echo WROTE; echo done".into()).await;
        assert_eq!(out.stdout.trim(), "done", "{out:?}");
        let out = probe("mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED; unshare -U true 2>/dev/null && echo USERNS; unshare -Ur true 2>/dev/null && echo USERNS; echo done".into()).await;
        assert_eq!(out.stdout.trim(), "done", "{out:?}");
        for (name, nr, args) in [
            ("init_module", 175, ", None, 0, b\"\""),
            ("finit_module", 313, ", 0, b\"\", 0"),
            ("unshare(CLONE_NEWUSER)", 272, ", 0x10000000"),
            ("add_key", 248, ", b\"user\", b\"k\", b\"v\", 1, -2"),
            ("keyctl", 250, ", 0, -2, 0, 0, 0"),
            ("mount", 165, ", b\"none\", b\"/mnt\", b\"tmpfs\", 0, None"),
        ] {
            let out = probe(syscall_probe(nr, args)).await;
            let errno: i32 = out.stdout.trim().parse().unwrap_or(-1);
            assert!(errno == libc::EPERM || errno == libc::ENOSYS, "{name} as {user}: {out:?}");
        }
        // Capabilities: only the user-switching set for root, nothing for user; no_new_privs
        // and seccomp on.
        let out = probe(
            "grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\\t' ' '".into(),
        )
        .await;
        let expected_eff = if user == "root" { "00000000000000ff" } else { "0000000000000000" };
        assert!(out.stdout.contains("CapBnd: 00000000000000ff"), "{out:?}");
        assert!(out.stdout.contains(&format!("CapEff: {expected_eff}")), "{out:?}");
        assert!(out.stdout.contains("NoNewPrivs: 1"), "{out:?}");
        assert!(out.stdout.contains("Seccomp: 2"), "{out:?}");
    }
    // The other sandbox is untouched and its processes were never visible.
    let out = exec(&b, "user", "hostname").await;
    assert_eq!(out.stdout.trim(), b.id.as_str());
    drop(listener);
    for dir in ["/root", "/tmp"] {
        let _ = std::fs::remove_file(format!("{dir}/{marker}"));
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_bomb_memory_hog_and_disk_fill_stay_inside() {
    let Some(t) = TestRuntime::for_test("fork_bomb_memory_hog_and_disk_fill_stay_inside", 4).await else {
        return;
    };
    let rt = &t.runtime;
    let limits = Resources { cpu_count: 1, memory_mib: 128, disk_mib: 64, pids_max: 128 };
    let sb = rt.create(SandboxSpec::template("base").resources(limits)).await.expect("create");
    let mut events = rt.events();

    // Fork bomb: forking stops at the pids limit with EAGAIN; envd keeps answering.
    let out = exec(
        &sb,
        "user",
        "python3 -c '
import os, time
n = 0
while True:
    try:
        pid = os.fork()
    except OSError as e:
        print(n, e.errno)
        break
    if pid == 0:
        os.closerange(0, 3)
        time.sleep(60)
        os._exit(0)
    n += 1
'",
    )
    .await;
    let mut parts = out.stdout.split_whitespace();
    let forked: u32 = parts.next().unwrap().parse().unwrap();
    let errno: i32 = parts.next().unwrap().parse().unwrap();
    assert_eq!(errno, libc::EAGAIN, "{out:?}");
    assert!(forked < limits.pids_max, "{out:?}");
    assert!(envd_answers(sb.envd, Duration::from_secs(5)).await);
    exec(&sb, "root", "pkill -9 -f 'import os, time' || true").await;
    // A classic shell bomb as well; then the host still works and kill cleans it all up.
    exec(&sb, "user", "(:(){ :|:& };:) </dev/null >/dev/null 2>&1 & sleep 3").await;
    let m = rt.metrics(&sb.id).await.unwrap();
    assert!(m.pids <= u64::from(limits.pids_max), "{m:?}");
    assert!(envd_answers(sb.envd, Duration::from_secs(5)).await);
    rt.kill(&sb.id).await.expect("kill after fork bomb");

    // Memory hog: OOM-killed inside, reported by metrics and as an event; envd survives.
    let sb = rt.create(SandboxSpec::template("base").resources(limits)).await.expect("create");
    let out = exec(&sb, "user", "python3 -c 'x = bytearray(1024 * 1024 * 1024); print(len(x))'").await;
    assert_ne!(out.exit_code, 0, "{out:?}");
    assert!(out.status.contains("kill"), "{out:?}");
    let m = rt.metrics(&sb.id).await.unwrap();
    assert!(m.oom_kills >= 1, "{m:?}");
    let event = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(RuntimeEvent::OomKilled { id, total }) = events.recv().await
                && id == sb.id
            {
                return total;
            }
        }
    })
    .await
    .expect("an OomKilled event");
    assert!(event >= 1);
    assert!(envd_answers(sb.envd, Duration::from_secs(5)).await);

    // Disk fill: ENOSPC inside; on the host only the sandbox's 64 MiB image grows.
    let host_free_before = free_bytes(&t.root);
    let out = exec(&sb, "user", "dd if=/dev/urandom of=/home/user/fill bs=1M count=200 2>&1").await;
    assert!(out.stdout.contains("No space left on device"), "{out:?}");
    let image = t.root.join("sandboxes").join(sb.id.as_str()).join("disk.img");
    let used = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&image).unwrap().blocks() * 512
    };
    assert!(used <= 65 * 1024 * 1024, "image uses {used} bytes");
    let host_free_after = free_bytes(&t.root);
    assert!(
        host_free_before.saturating_sub(host_free_after) < 100 * 1024 * 1024,
        "host lost {} bytes",
        host_free_before - host_free_after
    );
    let m = rt.metrics(&sb.id).await.unwrap();
    assert!(m.disk_used * 10 >= m.disk_total * 9, "{m:?}");
    // The sandbox still works after the disk filled up.
    assert_eq!(exec(&sb, "user", "rm /home/user/fill && echo ok").await.stdout.trim(), "ok");
    t.finish().await;
}

fn free_bytes(path: &std::path::Path) -> u64 {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: statvfs into a zeroed struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
    st.f_bavail * st.f_frsize
}
