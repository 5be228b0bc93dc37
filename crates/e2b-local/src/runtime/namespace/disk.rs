//! The writable, size-limited disk of a sandbox: an ext4 image (a sparse copy of a cached,
//! pre-formatted blank image) on an autoclear loop device, mounted on the host at
//! `<sandbox dir>/disk` with `upper/` and `work/` for the overlay.

use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use super::sys;

/// Creates the disk and mounts it at `mount_point`.
pub(crate) fn prepare(cache: &Path, image: &Path, mount_point: &Path, size_mib: u64) -> io::Result<()> {
    let blank = blank_image(cache, size_mib)?;
    sys::copy_sparse(&blank, image)?;
    let (device, handle) = sys::attach_loop(image)?;
    fs::create_dir_all(mount_point)?;
    sys::mount(&device, mount_point, "ext4", libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOATIME, None)?;
    drop(handle);
    for dir in ["upper", "work"] {
        let p = mount_point.join(dir);
        fs::create_dir(&p)?;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// A formatted, empty ext4 image of `size_mib`, made once per size.
fn blank_image(cache: &Path, size_mib: u64) -> io::Result<std::path::PathBuf> {
    let path = cache.join(format!("blank-ext4-{size_mib}m.img"));
    if path.exists() {
        return Ok(path);
    }
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = cache.join(format!(".blank-{size_mib}-{}-{n}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let f = fs::File::create(&tmp)?;
    f.set_len(size_mib * 1024 * 1024)?;
    drop(f);
    let out = Command::new("mkfs.ext4")
        .args([
            "-q",
            "-F",
            "-O",
            "^has_journal",
            "-m",
            "0",
            "-E",
            "lazy_itable_init=1,nodiscard,root_owner=0:0",
        ])
        .arg(&tmp)
        .output()?;
    if !out.status.success() {
        let _ = fs::remove_file(&tmp);
        return Err(io::Error::other(format!(
            "mkfs.ext4 failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    // Concurrent creators race harmlessly: rename is atomic and the images are identical.
    fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Writes the sandbox's hostname, hosts and resolv.conf into the upper layer.
pub(crate) fn write_identity(upper: &Path, id: &str, nameservers: &[Ipv4Addr]) -> io::Result<()> {
    let etc = upper.join("etc");
    fs::create_dir_all(&etc)?;
    fs::set_permissions(&etc, fs::Permissions::from_mode(0o755))?;
    fs::write(etc.join("hostname"), format!("{id}\n"))?;
    fs::write(
        etc.join("hosts"),
        format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{id}\n"),
    )?;
    let resolv: String = nameservers.iter().map(|n| format!("nameserver {n}\n")).collect();
    fs::write(etc.join("resolv.conf"), resolv)?;
    Ok(())
}

/// `(used, total)` bytes of a mounted disk.
pub(crate) fn usage(mount_point: &Path) -> io::Result<(u64, u64)> {
    let c = sys::cstring(mount_point)?;
    // SAFETY: statvfs into a zeroed struct with a valid path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let total = st.f_blocks * st.f_frsize;
    let free = st.f_bfree * st.f_frsize;
    Ok((total.saturating_sub(free), total))
}
