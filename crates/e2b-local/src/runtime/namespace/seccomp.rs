//! The seccomp filter of sandbox processes: allow by default, refuse what container runtimes
//! refuse (new user namespaces, mounts, kernel modules, keyrings, kexec, BPF, perf, clock and
//! swap changes, ...). Capabilities already stop most of these; the filter is the second wall
//! and also covers calls that need no capability (keyrings, userfaultfd, user namespaces).

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};

/// Syscalls refused outright with `EPERM`.
const DENIED: &[libc::c_long] = &[
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_setns,
    libc::SYS_open_tree,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_reboot,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_keyctl,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_syslog,
    libc::SYS_quotactl,
    libc::SYS_lookup_dcookie,
    libc::SYS_iopl,
    libc::SYS_ioperm,
    libc::SYS_vhangup,
    libc::SYS_nfsservctl,
    libc::SYS_uselib,
    libc::SYS_process_vm_writev,
];

/// Builds the filters (two programs: seccompiler supports one match action per filter).
pub(crate) fn filters() -> Result<Vec<Vec<libc::sock_filter>>, seccompiler::Error> {
    let arch = TargetArch::try_from(std::env::consts::ARCH)?;

    let mut eperm: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for &nr in DENIED {
        eperm.insert(nr, Vec::new());
    }
    // personality(2) is refused except for the harmless queries/values programs use.
    eperm.insert(
        libc::SYS_personality,
        vec![SeccompRule::new(vec![
            SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, 0)?,
            SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, 8)?,
            SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, 0x0002_0000)?,
            SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, 0xffff_ffff)?,
        ])?],
    );
    // New namespaces of any kind, via unshare(2) or clone(2) flags.
    let ns_flags = (libc::CLONE_NEWUSER
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWCGROUP) as u64;
    let any_ns = || -> Result<Vec<SeccompRule>, seccompiler::Error> {
        // One rule per flag: the rule matches when that bit is set.
        let mut rules = Vec::new();
        for bit in 0..64 {
            let flag = 1u64 << bit;
            if ns_flags & flag != 0 {
                rules.push(SeccompRule::new(vec![SeccompCondition::new(
                    0,
                    SeccompCmpArgLen::Qword,
                    SeccompCmpOp::MaskedEq(flag),
                    flag,
                )?])?);
            }
        }
        Ok(rules)
    };
    eperm.insert(libc::SYS_unshare, any_ns()?);
    eperm.insert(libc::SYS_clone, any_ns()?);
    // ptrace is allowed inside the sandbox (debuggers), but PTRACE_ATTACH-like requests on
    // other pid namespaces are impossible anyway: outside pids are not visible.

    let eperm =
        SeccompFilter::new(eperm, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch)?;

    // clone3 passes its flags in memory the filter cannot read: answer ENOSYS so that libc
    // falls back to clone(2), whose flags the first filter checks.
    let mut enosys: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    enosys.insert(libc::SYS_clone3, Vec::new());
    let enosys =
        SeccompFilter::new(enosys, SeccompAction::Allow, SeccompAction::Errno(libc::ENOSYS as u32), arch)?;

    [eperm, enosys]
        .into_iter()
        .map(|f| {
            let prog: BpfProgram = f.try_into()?;
            Ok(prog
                .into_iter()
                .map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k })
                .collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_compile_for_this_architecture() {
        let programs = super::filters().unwrap();
        assert_eq!(programs.len(), 2);
        assert!(programs.iter().all(|p| !p.is_empty() && p.len() < 4096));
    }
}
