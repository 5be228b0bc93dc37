//! Per-sandbox cgroups: limits, freezer, counters. Works on pure cgroup v2 and on v1 hosts
//! (including hybrid ones whose v2 mount at `/sys/fs/cgroup/unified` has no controllers).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::types::Resources;

/// CFS period used for CPU quotas.
const CPU_PERIOD_US: u64 = 100_000;

/// Which cgroup layout the host has.
#[derive(Debug, Clone)]
pub(crate) enum Hierarchy {
    /// One unified v2 hierarchy at this mount point.
    V2(PathBuf),
    /// v1 controllers, each at its own mount point.
    V1 { cpu: PathBuf, cpuacct: PathBuf, memory: PathBuf, pids: PathBuf, freezer: PathBuf },
}

impl Hierarchy {
    /// Detects the layout from `/proc/self/mountinfo`.
    pub(crate) fn detect() -> io::Result<Self> {
        Self::from_mountinfo(&fs::read_to_string("/proc/self/mountinfo")?)
    }

    /// The layout described by a mountinfo text: v2 when a cgroup2 filesystem is mounted
    /// at `/sys/fs/cgroup`, else the v1 controllers wherever they are mounted.
    fn from_mountinfo(info: &str) -> io::Result<Self> {
        let mut v2_root = None;
        let mut v1 = std::collections::HashMap::new();
        for line in info.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let mount_point = left.split(' ').nth(4).unwrap_or_default();
            let mut r = right.split(' ');
            let fstype = r.next().unwrap_or_default();
            let _source = r.next();
            let options = r.next().unwrap_or_default();
            match fstype {
                "cgroup2" if mount_point == "/sys/fs/cgroup" => {
                    v2_root = Some(PathBuf::from(mount_point));
                }
                "cgroup" => {
                    for opt in options.split(',') {
                        if ["cpu", "cpuacct", "memory", "pids", "freezer"].contains(&opt) {
                            v1.insert(opt.to_string(), PathBuf::from(mount_point));
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(root) = v2_root {
            return Ok(Self::V2(root));
        }
        let mut take = |name: &str| {
            v1.remove(name).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("cgroup v1 controller {name} is not mounted and no cgroup v2 at /sys/fs/cgroup"),
                )
            })
        };
        Ok(Self::V1 {
            cpu: take("cpu")?,
            cpuacct: take("cpuacct")?,
            memory: take("memory")?,
            pids: take("pids")?,
            freezer: take("freezer")?,
        })
    }

    /// The directories (one per hierarchy) of the cgroup at `relative`.
    fn dirs(&self, relative: &Path) -> Vec<PathBuf> {
        match self {
            Self::V2(root) => vec![root.join(relative)],
            Self::V1 { cpu, cpuacct, memory, pids, freezer } => {
                let mut dirs: Vec<PathBuf> =
                    [cpu, cpuacct, memory, pids, freezer].iter().map(|m| m.join(relative)).collect();
                // cpu and cpuacct are often co-mounted.
                dirs.dedup();
                dirs
            }
        }
    }

    /// Makes sure the runtime's parent cgroup exists (and, on v2, delegates controllers).
    pub(crate) fn prepare_parent(&self, parent: &Path) -> io::Result<()> {
        match self {
            Self::V2(root) => {
                let mut dir = root.clone();
                for part in parent.components() {
                    enable_v2_controllers(&dir)?;
                    dir.push(part);
                    ensure_dir(&dir)?;
                }
                enable_v2_controllers(&dir)
            }
            Self::V1 { .. } => {
                for dir in self.dirs(parent) {
                    fs::create_dir_all(&dir)?;
                }
                Ok(())
            }
        }
    }

    /// Removes the runtime's (empty) parent cgroup. Best effort: a busy cgroup stays. The
    /// shared `e2b-local` level above it is left alone (another instance may be creating
    /// its own parent right now).
    pub(crate) fn remove_parent(&self, parent: &Path) {
        for dir in self.dirs(parent) {
            let _ = fs::remove_dir(&dir);
        }
    }

    /// All sandbox cgroup names directly below `parent`.
    pub(crate) fn children(&self, parent: &Path) -> Vec<String> {
        let mut names = std::collections::BTreeSet::new();
        for dir in self.dirs(parent) {
            if let Ok(rd) = fs::read_dir(&dir) {
                for e in rd.flatten() {
                    if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        names.insert(e.file_name().to_string_lossy().into_owned());
                    }
                }
            }
        }
        names.into_iter().collect()
    }
}

fn ensure_dir(dir: &Path) -> io::Result<()> {
    match fs::create_dir(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

fn enable_v2_controllers(dir: &Path) -> io::Result<()> {
    let available = fs::read_to_string(dir.join("cgroup.controllers"))?;
    let enabled = fs::read_to_string(dir.join("cgroup.subtree_control"))?;
    for c in ["cpu", "memory", "pids"] {
        if available.split_whitespace().any(|a| a == c) && !enabled.split_whitespace().any(|a| a == c) {
            fs::write(dir.join("cgroup.subtree_control"), format!("+{c}"))?;
        }
    }
    Ok(())
}

/// The cgroup(s) of one sandbox.
#[derive(Debug, Clone)]
pub(crate) struct SandboxCgroup {
    hierarchy: Hierarchy,
    relative: PathBuf,
}

/// Raw counters read at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CgroupCounters {
    pub(crate) cpu_usage_ns: u64,
    pub(crate) mem_usage: u64,
    pub(crate) mem_cache: u64,
    pub(crate) oom_kills: u64,
    pub(crate) pids: u64,
}

impl SandboxCgroup {
    /// The cgroup `relative` (e.g. `e2b-local/0/<id>`), not yet created.
    pub(crate) fn new(hierarchy: Hierarchy, relative: PathBuf) -> Self {
        Self { hierarchy, relative }
    }

    /// Creates the cgroup with the limits.
    pub(crate) fn create(&self, resources: &Resources) -> io::Result<()> {
        for dir in self.hierarchy.dirs(&self.relative) {
            ensure_dir(&dir)?;
        }
        let quota = u64::from(resources.cpu_count) * CPU_PERIOD_US;
        let memory = resources.memory_mib * 1024 * 1024;
        match &self.hierarchy {
            Hierarchy::V2(root) => {
                let dir = root.join(&self.relative);
                fs::write(dir.join("cpu.max"), format!("{quota} {CPU_PERIOD_US}"))?;
                fs::write(dir.join("memory.max"), memory.to_string())?;
                // No swap: a memory hog must meet the limit, not the disk.
                let _ = fs::write(dir.join("memory.swap.max"), "0");
                fs::write(dir.join("pids.max"), resources.pids_max.to_string())?;
            }
            Hierarchy::V1 { cpu, memory: mem, pids, .. } => {
                let c = cpu.join(&self.relative);
                fs::write(c.join("cpu.cfs_period_us"), CPU_PERIOD_US.to_string())?;
                fs::write(c.join("cpu.cfs_quota_us"), quota.to_string())?;
                let m = mem.join(&self.relative);
                fs::write(m.join("memory.limit_in_bytes"), memory.to_string())?;
                // Where swap accounting exists, memory+swap gets the same limit (no swap).
                let _ = fs::write(m.join("memory.memsw.limit_in_bytes"), memory.to_string());
                fs::write(pids.join(&self.relative).join("pids.max"), resources.pids_max.to_string())?;
            }
        }
        Ok(())
    }

    /// Moves a process (and so all its future children) into the cgroup.
    pub(crate) fn add_process(&self, pid: u32) -> io::Result<()> {
        for dir in self.hierarchy.dirs(&self.relative) {
            fs::write(dir.join("cgroup.procs"), pid.to_string())?;
        }
        Ok(())
    }

    /// Freezes every process; returns once the kernel reports the cgroup frozen.
    pub(crate) fn freeze(&self) -> io::Result<()> {
        self.set_frozen(true)
    }

    /// Thaws the processes.
    pub(crate) fn thaw(&self) -> io::Result<()> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> io::Result<()> {
        match &self.hierarchy {
            Hierarchy::V2(root) => {
                let dir = root.join(&self.relative);
                let (value, settled) = if frozen { ("1", "frozen 1") } else { ("0", "frozen 0") };
                fs::write(dir.join("cgroup.freeze"), value)?;
                wait_for(|| Ok(fs::read_to_string(dir.join("cgroup.events"))?.lines().any(|l| l == settled)))
            }
            Hierarchy::V1 { freezer, .. } => {
                let state = freezer.join(&self.relative).join("freezer.state");
                let value = if frozen { "FROZEN" } else { "THAWED" };
                fs::write(&state, value)?;
                wait_for(|| Ok(fs::read_to_string(&state)?.trim() == value))
            }
        }
    }

    /// Current counters.
    pub(crate) fn counters(&self) -> io::Result<CgroupCounters> {
        let read = |p: PathBuf| fs::read_to_string(p);
        let field = |text: &str, key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
                .unwrap_or(0u64)
        };
        match &self.hierarchy {
            Hierarchy::V2(root) => {
                let dir = root.join(&self.relative);
                let cpu = read(dir.join("cpu.stat"))?;
                let stat = read(dir.join("memory.stat"))?;
                let events = read(dir.join("memory.events"))?;
                Ok(CgroupCounters {
                    cpu_usage_ns: field(&cpu, "usage_usec") * 1000,
                    mem_usage: read(dir.join("memory.current"))?.trim().parse().unwrap_or(0),
                    mem_cache: field(&stat, "file"),
                    oom_kills: field(&events, "oom_kill"),
                    pids: read(dir.join("pids.current"))?.trim().parse().unwrap_or(0),
                })
            }
            Hierarchy::V1 { cpuacct, memory, pids, .. } => {
                let m = memory.join(&self.relative);
                let stat = read(m.join("memory.stat"))?;
                let oom = read(m.join("memory.oom_control"))?;
                Ok(CgroupCounters {
                    cpu_usage_ns: read(cpuacct.join(&self.relative).join("cpuacct.usage"))?
                        .trim()
                        .parse()
                        .unwrap_or(0),
                    mem_usage: read(m.join("memory.usage_in_bytes"))?.trim().parse().unwrap_or(0),
                    mem_cache: field(&stat, "total_cache"),
                    oom_kills: field(&oom, "oom_kill"),
                    pids: read(pids.join(&self.relative).join("pids.current"))?.trim().parse().unwrap_or(0),
                })
            }
        }
    }

    /// Pids still in the cgroup.
    pub(crate) fn pids(&self) -> Vec<u32> {
        let mut all = Vec::new();
        for dir in self.hierarchy.dirs(&self.relative) {
            if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
                all.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
            }
        }
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Kills whatever is left (thawing first: frozen tasks cannot die on v1) and removes the
    /// cgroup directories. Missing directories are fine.
    pub(crate) fn destroy(&self) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pids = self.pids();
            if pids.is_empty() {
                break;
            }
            for pid in &pids {
                // SAFETY: plain kill(2) on pids that are in our sandbox's cgroup.
                unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
            }
            let _ = self.thaw();
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("processes {pids:?} survive in cgroup {}", self.relative.display()),
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for dir in self.hierarchy.dirs(&self.relative) {
            remove_cgroup_dir(&dir)?;
        }
        Ok(())
    }
}

/// rmdir of a cgroup; the kernel may report EBUSY briefly after the last task exited.
pub(crate) fn remove_cgroup_dir(dir: &Path) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Polls `done` (freezer transitions are asynchronous) for up to five seconds.
fn wait_for(mut done: impl FnMut() -> io::Result<bool>) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut spin = 0u32;
    loop {
        if done()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "cgroup freezer did not settle"));
        }
        spin += 1;
        if spin > 50 {
            std::thread::sleep(Duration::from_micros(200));
        } else {
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_HYBRID: &str = "\
30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
35 30 0:31 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer
";

    #[test]
    fn hybrid_hosts_use_the_v1_controllers() {
        let h = Hierarchy::from_mountinfo(V1_HYBRID).unwrap();
        let Hierarchy::V1 { cpu, cpuacct, memory, .. } = &h else { panic!("{h:?}") };
        assert_eq!(cpu, cpuacct);
        assert_eq!(memory, Path::new("/sys/fs/cgroup/memory"));
        // Co-mounted controllers yield one directory, not two.
        assert_eq!(h.dirs(Path::new("x")).len(), 4);
    }

    #[test]
    fn pure_v2_is_detected_and_missing_controllers_are_an_error() {
        let v2 = "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert!(matches!(Hierarchy::from_mountinfo(v2).unwrap(), Hierarchy::V2(_)));
        let err = Hierarchy::from_mountinfo("1 0 0:1 / / rw - ext4 /dev/vda rw\n").unwrap_err();
        assert!(err.to_string().contains("not mounted"), "{err}");
    }

    /// The v2 writes, against a directory laid out like a cgroup2 mount.
    #[test]
    fn v2_limits_and_delegation_are_written() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::write(r.join("cgroup.controllers"), "cpuset cpu io memory pids").unwrap();
        fs::write(r.join("cgroup.subtree_control"), "").unwrap();
        // A real cgroupfs creates these files itself; mimic it for the parent levels.
        for dir in ["e2b-local", "e2b-local/i"] {
            fs::create_dir(r.join(dir)).unwrap();
            fs::write(r.join(dir).join("cgroup.controllers"), "cpu memory pids").unwrap();
            fs::write(r.join(dir).join("cgroup.subtree_control"), "").unwrap();
        }
        let h = Hierarchy::V2(r.to_path_buf());
        h.prepare_parent(Path::new("e2b-local/i")).unwrap();
        // The fake file keeps only the last write; the kernel would accumulate them.
        assert_eq!(fs::read_to_string(r.join("e2b-local/i/cgroup.subtree_control")).unwrap(), "+pids");
        let cg = SandboxCgroup::new(h, PathBuf::from("e2b-local/i/sb"));
        cg.create(&Resources { cpu_count: 2, memory_mib: 512, disk_mib: 64, pids_max: 100 }).unwrap();
        let dir = r.join("e2b-local/i/sb");
        assert_eq!(fs::read_to_string(dir.join("cpu.max")).unwrap(), "200000 100000");
        assert_eq!(fs::read_to_string(dir.join("memory.max")).unwrap(), (512u64 << 20).to_string());
        assert_eq!(fs::read_to_string(dir.join("memory.swap.max")).unwrap(), "0");
        assert_eq!(fs::read_to_string(dir.join("pids.max")).unwrap(), "100");

        // Counters as the v2 files report them.
        fs::write(dir.join("cpu.stat"), "usage_usec 1500\nuser_usec 1000\n").unwrap();
        fs::write(dir.join("memory.current"), "4096\n").unwrap();
        fs::write(dir.join("memory.stat"), "anon 1024\nfile 2048\nfile_mapped 0\n").unwrap();
        fs::write(dir.join("memory.events"), "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n").unwrap();
        fs::write(dir.join("pids.current"), "7\n").unwrap();
        let c = cg.counters().unwrap();
        assert_eq!(
            (c.cpu_usage_ns, c.mem_usage, c.mem_cache, c.oom_kills, c.pids),
            (1_500_000, 4096, 2048, 2, 7)
        );
        // The freezer: "frozen 1" settles a freeze.
        fs::write(dir.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        cg.freeze().unwrap();
        assert_eq!(fs::read_to_string(dir.join("cgroup.freeze")).unwrap(), "1");
    }
}
