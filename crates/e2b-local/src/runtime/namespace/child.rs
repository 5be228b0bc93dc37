//! The sandbox's first process between clone(2) and execve(envd).
//!
//! The runtime is multi-threaded, so the cloned child may only make async-signal-safe calls:
//! everything it needs (paths, mount options, argv, the seccomp program, the capability set)
//! is prepared by [`ChildPlan::new`] in the parent, and the child runs straight-line raw
//! syscalls with no allocation. A failing step sends `(step, errno)` over the socket and
//! exits; a successful execve closes the socket (it is close-on-exec), which the parent
//! reads as success.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use super::sys::cstring;

/// Most layers (lower layers plus the disk) a sandbox root can have.
pub(crate) const MAX_LAYERS: usize = 64;

/// Capabilities envd keeps: enough to switch to the sandbox's users and manage their files
/// and processes; everything else (SYS_ADMIN, NET_ADMIN, SYS_MODULE, SYS_PTRACE, MKNOD,
/// NET_RAW, ...) is dropped from all sets including the bounding set.
/// (Numbers from linux/capability.h: CHOWN 0, DAC_OVERRIDE 1, DAC_READ_SEARCH 2,
/// FOWNER 3, FSETID 4, KILL 5, SETGID 6, SETUID 7.)
pub(crate) const KEPT_CAPS: &[u32] = &[0, 1, 2, 3, 4, 5, 6, 7];

/// Human-readable names of the child's steps, indexed by the step number it reports.
pub(crate) const STEPS: &[&str] = &[
    "making its mounts private",             // 0
    "receiving its root filesystem layers",  // 1
    "becoming root of its user namespace",   // 2
    "entering a new cgroup namespace",       // 3
    "attaching a root filesystem layer",     // 4
    "mounting the overlay root",             // 5
    "mounting /proc",                        // 6
    "making /proc/sys read-only",            // 7
    "masking sensitive /proc files",         // 8
    "mounting /dev",                         // 9
    "binding a device node",                 // 10
    "creating /dev links",                   // 11
    "mounting /dev/pts",                     // 12
    "mounting /dev/shm",                     // 13
    "binding envd into the root filesystem", // 14
    "setting the hostname",                  // 15
    "pivoting into the new root",            // 16
    "detaching the old root",                // 17
    "setting up stdio",                      // 18
    "starting a new session",                // 19
    "setting no_new_privs",                  // 20
    "dropping bounding capabilities",        // 21
    "installing the seccomp filter",         // 22
    "dropping capabilities",                 // 23
    "executing envd",                        // 24
];

/// Everything the child needs, prepared by the parent before clone(2).
pub(crate) struct ChildPlan {
    pub(crate) sock: RawFd,
    pub(crate) log_fd: RawFd,
    layer_points: Vec<CString>,
    root: CString,
    overlay_data: CString,
    proc_dir: CString,
    proc_sys: CString,
    masks: Vec<CString>,
    dev_dir: CString,
    dev_nodes: Vec<(CString, CString)>,
    dev_links: Vec<(CString, CString)>,
    pts_dir: CString,
    shm_dir: CString,
    envd_src: CString,
    envd_dst: CString,
    envd_ro_flags: libc::c_ulong,
    hostname: CString,
    _argv_storage: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    _envp_storage: Vec<CString>,
    envp: Vec<*const libc::c_char>,
    seccomp: Vec<Vec<libc::sock_filter>>,
    drop_caps: Vec<u32>,
    keep_mask: u64,
    no_new_privs: bool,
}

/// Inputs of [`ChildPlan::new`].
pub(crate) struct PlanInput<'a> {
    pub(crate) sock: RawFd,
    pub(crate) log_fd: RawFd,
    /// Where each received layer is attached (lowers first, the disk last).
    pub(crate) layer_points: &'a [std::path::PathBuf],
    /// Lower layer attach points, top first, for the overlay's `lowerdir`.
    pub(crate) lowers: &'a [std::path::PathBuf],
    /// Attach point of the disk (holds `upper/` and `work/`).
    pub(crate) disk: &'a Path,
    pub(crate) root: &'a Path,
    pub(crate) envd_src: &'a Path,
    pub(crate) hostname: &'a str,
    pub(crate) argv: &'a [String],
    pub(crate) env: &'a [(String, String)],
    pub(crate) seccomp: Vec<Vec<libc::sock_filter>>,
    pub(crate) no_new_privs: bool,
}

fn c(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte"))
}

impl ChildPlan {
    pub(crate) fn new(input: PlanInput<'_>) -> io::Result<Self> {
        let root = input.root;
        let under = |rel: &str| cstring(&root.join(rel));
        let join_paths = |paths: &[std::path::PathBuf]| {
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":")
        };
        let overlay_data = format!(
            "lowerdir={},upperdir={}/upper,workdir={}/work,userxattr",
            join_paths(input.lowers),
            input.disk.display(),
            input.disk.display()
        );
        let mut dev_nodes = Vec::new();
        for node in ["null", "zero", "full", "random", "urandom", "tty"] {
            dev_nodes.push((c(&format!("/dev/{node}"))?, under(&format!("dev/{node}"))?));
        }
        let mut dev_links = Vec::new();
        for (target, link) in [
            ("/proc/self/fd", "dev/fd"),
            ("/proc/self/fd/0", "dev/stdin"),
            ("/proc/self/fd/1", "dev/stdout"),
            ("/proc/self/fd/2", "dev/stderr"),
            ("pts/ptmx", "dev/ptmx"),
        ] {
            dev_links.push((c(target)?, under(link)?));
        }
        let masks = [
            "proc/kcore",
            "proc/keys",
            "proc/timer_list",
            "proc/sched_debug",
            "proc/sysrq-trigger",
            "proc/latency_stats",
        ]
        .iter()
        .map(|m| under(m))
        .collect::<io::Result<Vec<_>>>()?;

        // A read-only bind remount inside a user namespace must keep the source mount's
        // locked flags, so carry over whatever the host mount of envd has.
        let envd_ro_flags = {
            let path = cstring(input.envd_src)?;
            // SAFETY: statvfs into a zeroed struct with a valid path.
            let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
            if unsafe { libc::statvfs(path.as_ptr(), &mut st) } < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
            for (st_flag, ms_flag) in [
                (libc::ST_NOSUID, libc::MS_NOSUID),
                (libc::ST_NODEV, libc::MS_NODEV),
                (libc::ST_NOEXEC, libc::MS_NOEXEC),
                (libc::ST_NOATIME, libc::MS_NOATIME),
                (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
                (libc::ST_RELATIME, libc::MS_RELATIME),
            ] {
                if st.f_flag & st_flag != 0 {
                    flags |= ms_flag;
                }
            }
            flags
        };

        let argv_storage: Vec<CString> = input.argv.iter().map(|a| c(a)).collect::<io::Result<_>>()?;
        let mut argv: Vec<*const libc::c_char> = argv_storage.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let envp_storage: Vec<CString> =
            input.env.iter().map(|(k, v)| c(&format!("{k}={v}"))).collect::<io::Result<_>>()?;
        let mut envp: Vec<*const libc::c_char> = envp_storage.iter().map(|a| a.as_ptr()).collect();
        envp.push(std::ptr::null());

        let last_cap: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40);
        let drop_caps = (0..=last_cap).filter(|c| !KEPT_CAPS.contains(c)).collect();
        let keep_mask = KEPT_CAPS.iter().fold(0u64, |m, c| m | (1u64 << c));

        Ok(Self {
            sock: input.sock,
            log_fd: input.log_fd,
            layer_points: input.layer_points.iter().map(|p| cstring(p)).collect::<io::Result<_>>()?,
            root: cstring(root)?,
            overlay_data: c(&overlay_data)?,
            proc_dir: under("proc")?,
            proc_sys: under("proc/sys")?,
            masks,
            dev_dir: under("dev")?,
            dev_nodes,
            dev_links,
            pts_dir: under("dev/pts")?,
            shm_dir: under("dev/shm")?,
            envd_src: cstring(input.envd_src)?,
            envd_dst: under("usr/local/bin/envd")?,
            envd_ro_flags,
            hostname: c(input.hostname)?,
            _argv_storage: argv_storage,
            argv,
            _envp_storage: envp_storage,
            envp,
            seccomp: input.seccomp,
            drop_caps,
            keep_mask,
            no_new_privs: input.no_new_privs,
        })
    }
}

/// Reports a failed step to the parent and exits. Async-signal-safe.
fn fail(sock: RawFd, step: u32) -> ! {
    // SAFETY: errno location, write and _exit are async-signal-safe.
    unsafe {
        let errno = *libc::__errno_location();
        let mut msg = [0u8; 8];
        msg[..4].copy_from_slice(&step.to_ne_bytes());
        msg[4..].copy_from_slice(&errno.to_ne_bytes());
        libc::write(sock, msg.as_ptr().cast(), msg.len());
        libc::_exit(127)
    }
}

/// Receives the layer mount fds sent by the parent (one message).
///
/// # Safety
/// Only async-signal-safe calls; `fds` must have room for `MAX_LAYERS`.
unsafe fn recv_fds(sock: RawFd, fds: &mut [RawFd; MAX_LAYERS]) -> isize {
    // 8-byte aligned control buffer big enough for MAX_LAYERS fds.
    let mut control = [0u64; (MAX_LAYERS * 4 + 64) / 8];
    let mut byte = 0u8;
    let mut iov = libc::iovec { iov_base: (&mut byte as *mut u8).cast(), iov_len: 1 };
    // SAFETY: zeroed msghdr is valid; fields set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: recvmsg into our stack buffers.
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n <= 0 {
        return -1;
    }
    // SAFETY: walking the control messages the kernel filled in.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            return -1;
        }
        let data_len = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
        let count = data_len / std::mem::size_of::<RawFd>();
        let data = libc::CMSG_DATA(cmsg) as *const RawFd;
        for (i, slot) in fds.iter_mut().enumerate().take(count.min(MAX_LAYERS)) {
            *slot = std::ptr::read_unaligned(data.add(i));
        }
        count as isize
    }
}

/// The child's whole life until execve. Never returns.
///
/// # Safety
/// Must only run in the freshly cloned child; it only makes raw syscalls.
pub(crate) unsafe fn run(plan: &ChildPlan) -> ! {
    let sock = plan.sock;
    let null = std::ptr::null::<libc::c_char>();
    let none = std::ptr::null::<libc::c_void>();
    macro_rules! step {
        ($n:expr, $call:expr) => {
            if $call < 0 {
                fail(sock, $n);
            }
        };
    }
    // SAFETY (whole block): raw syscalls with pointers into `plan`, which the parent built
    // before clone and which stays valid in this copy of its address space.
    unsafe {
        step!(0, libc::mount(null, c"/".as_ptr(), null, libc::MS_REC | libc::MS_PRIVATE, none));

        let mut fds = [-1; MAX_LAYERS];
        let got = recv_fds(sock, &mut fds);
        if got != plan.layer_points.len() as isize {
            fail(sock, 1);
        }

        // Raw syscalls, not the libc wrappers: glibc's set*id broadcast the change to all
        // threads it believes exist, and this forked copy of a multi-threaded process has
        // only one (the others' bookkeeping is stale and would deadlock it).
        step!(2, libc::syscall(libc::SYS_setresgid, 0, 0, 0));
        step!(2, libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()));
        step!(2, libc::syscall(libc::SYS_setresuid, 0, 0, 0));
        // The parent moved us into the sandbox's cgroups before sending the layers, so the
        // new cgroup namespace is rooted at them.
        step!(3, libc::unshare(libc::CLONE_NEWCGROUP));

        for (i, point) in plan.layer_points.iter().enumerate() {
            step!(
                4,
                libc::syscall(
                    libc::SYS_move_mount,
                    fds[i],
                    c"".as_ptr(),
                    libc::AT_FDCWD,
                    point.as_ptr(),
                    4 as libc::c_uint // MOVE_MOUNT_F_EMPTY_PATH
                )
            );
            libc::close(fds[i]);
        }

        step!(
            5,
            libc::mount(
                c"overlay".as_ptr(),
                plan.root.as_ptr(),
                c"overlay".as_ptr(),
                libc::MS_NODEV,
                plan.overlay_data.as_ptr().cast()
            )
        );

        let pflags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        libc::mkdir(plan.proc_dir.as_ptr(), 0o555);
        step!(6, libc::mount(c"proc".as_ptr(), plan.proc_dir.as_ptr(), c"proc".as_ptr(), pflags, none));
        step!(
            7,
            libc::mount(
                plan.proc_sys.as_ptr(),
                plan.proc_sys.as_ptr(),
                null,
                libc::MS_BIND | libc::MS_REC,
                none
            )
        );
        step!(
            7,
            libc::mount(
                null,
                plan.proc_sys.as_ptr(),
                null,
                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | pflags,
                none
            )
        );
        for mask in &plan.masks {
            if libc::mount(c"/dev/null".as_ptr(), mask.as_ptr(), null, libc::MS_BIND, none) < 0
                && *libc::__errno_location() != libc::ENOENT
            {
                fail(sock, 8);
            }
        }

        libc::mkdir(plan.dev_dir.as_ptr(), 0o755);
        step!(
            9,
            libc::mount(
                c"tmpfs".as_ptr(),
                plan.dev_dir.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NOEXEC,
                c"mode=755,size=65536k".as_ptr().cast()
            )
        );
        for (host, target) in &plan.dev_nodes {
            let fd = libc::open(target.as_ptr(), libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC, 0o666);
            step!(10, fd);
            libc::close(fd);
            step!(10, libc::mount(host.as_ptr(), target.as_ptr(), null, libc::MS_BIND, none));
        }
        for (target, link) in &plan.dev_links {
            step!(11, libc::symlink(target.as_ptr(), link.as_ptr()));
        }
        step!(12, libc::mkdir(plan.pts_dir.as_ptr(), 0o755));
        step!(
            12,
            libc::mount(
                c"devpts".as_ptr(),
                plan.pts_dir.as_ptr(),
                c"devpts".as_ptr(),
                libc::MS_NOSUID | libc::MS_NOEXEC,
                c"newinstance,ptmxmode=0666,mode=0620,gid=5".as_ptr().cast()
            )
        );
        step!(13, libc::mkdir(plan.shm_dir.as_ptr(), 0o1777));
        step!(
            13,
            libc::mount(
                c"shm".as_ptr(),
                plan.shm_dir.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                c"mode=1777,size=65536k".as_ptr().cast()
            )
        );

        step!(14, libc::mount(plan.envd_src.as_ptr(), plan.envd_dst.as_ptr(), null, libc::MS_BIND, none));
        step!(14, libc::mount(null, plan.envd_dst.as_ptr(), null, plan.envd_ro_flags, none));

        step!(15, libc::sethostname(plan.hostname.as_ptr(), plan.hostname.as_bytes().len()));

        step!(16, libc::chdir(plan.root.as_ptr()));
        step!(16, libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()));
        step!(17, libc::umount2(c".".as_ptr(), libc::MNT_DETACH));
        step!(17, libc::chdir(c"/".as_ptr()));

        let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        step!(18, devnull);
        step!(18, libc::dup2(devnull, 0));
        step!(18, libc::dup2(plan.log_fd, 1));
        step!(18, libc::dup2(plan.log_fd, 2));
        if devnull > 2 {
            libc::close(devnull);
        }
        // Nothing of the runtime may leak into the sandbox: mark every other fd
        // close-on-exec (the socket already is, so failures can still be reported).
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
        step!(19, libc::setsid());

        // Signal dispositions set to "ignore" survive execve (Rust ignores SIGPIPE); envd
        // and its children must start with defaults and an empty mask.
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());

        if plan.no_new_privs {
            step!(20, libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
        }
        for cap in &plan.drop_caps {
            if libc::prctl(libc::PR_CAPBSET_DROP, *cap as libc::c_ulong, 0, 0, 0) < 0
                && *libc::__errno_location() != libc::EINVAL
            {
                fail(sock, 21);
            }
        }
        for prog in &plan.seccomp {
            let fprog = libc::sock_fprog {
                len: prog.len() as libc::c_ushort,
                filter: prog.as_ptr() as *mut libc::sock_filter,
            };
            step!(
                22,
                libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER as libc::c_ulong,
                    &fprog as *const libc::sock_fprog as libc::c_ulong,
                    0,
                    0
                )
            );
        }
        let header = CapHeader {
            version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
            pid: 0,
        };
        let lo = plan.keep_mask as u32;
        let hi = (plan.keep_mask >> 32) as u32;
        let data = [
            CapData { effective: lo, permitted: lo, inheritable: lo },
            CapData { effective: hi, permitted: hi, inheritable: hi },
        ];
        step!(23, libc::syscall(libc::SYS_capset, &header, data.as_ptr()));
        step!(23, libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));

        libc::execve(plan.argv[0], plan.argv.as_ptr(), plan.envp.as_ptr());
        fail(sock, 24)
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}
