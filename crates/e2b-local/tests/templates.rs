//! Templates: `base` (built once with mmdebstrap, cached), registration from a local rootfs
//! directory and from a tarball, and recipe-change detection.
//!
//! Proves: `base` has the promised packages and the `user` account with passwordless sudo
//! configured and envd installed at /usr/local/bin/envd; a second use reports `Cached`;
//! a template imported from a directory or a tarball boots sandboxes that see its content;
//! a changed recipe is detected and triggers a rebuild (shown with a recipe whose mirror does
//! not exist, so the rebuild fails fast, is reported as a typed error, leaves no partial
//! build behind, and the previous `base` stays usable).

mod support;

use std::sync::{Arc, Mutex};

use e2b_local::runtime::{BaseRecipe, Runtime, RuntimeError, SandboxSpec, TemplateProgress};
use support::{TestRuntime, exec, host_ready};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_template_contents_and_cache() {
    let Some(t) = TestRuntime::for_test("base_template_contents_and_cache", 8).await else {
        return;
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let rt: Runtime = t.runtime.clone().with_progress(move |p| log.lock().unwrap().push(p));
    let info = rt.ensure_base_template().await.unwrap();
    assert!(info.recipe_hash.is_some());
    assert!(
        matches!(
            seen.lock().unwrap().last(),
            Some(TemplateProgress::Cached { .. } | TemplateProgress::Finished { .. })
        ),
        "{:?}",
        seen.lock().unwrap()
    );
    rt.ensure_base_template().await.unwrap();
    assert!(matches!(seen.lock().unwrap().last(), Some(TemplateProgress::Cached { .. })));

    let sb = rt.create(SandboxSpec::template("base")).await.unwrap();
    let out = exec(
        &sb,
        "user",
        "python3 --version && pip3 --version >/dev/null && git --version >/dev/null && curl --version >/dev/null \
         && node --version >/dev/null && npm --version >/dev/null && ps --version >/dev/null \
         && test -d /etc/ssl/certs && echo HOME=$HOME && id -nG \
         && test -x /usr/local/bin/envd && echo ok",
    )
    .await;
    assert_eq!(out.exit_code, 0, "{out:?}");
    assert!(out.stdout.contains("HOME=/home/user"), "{out:?}");
    assert!(out.stdout.contains("user sudo"), "{out:?}");
    assert!(out.stdout.trim_end().ends_with("ok"), "{out:?}");
    let out = exec(&sb, "root", "cat /etc/sudoers.d/user").await;
    assert_eq!(out.stdout, "user ALL=(ALL:ALL) NOPASSWD: ALL\n", "{out:?}");
    // With no_new_privs (the default) setuid programs cannot raise privileges...
    let out = exec(&sb, "user", "sudo -n whoami").await;
    assert_ne!(out.exit_code, 0, "{out:?}");
    rt.kill(&sb.id).await.unwrap();
    t.finish().await;

    // ...and without it, passwordless sudo works as in E2B's templates.
    let t = TestRuntime::start_with(TestRuntime::config(11).no_new_privs(false)).await;
    let sb = t.runtime.create(SandboxSpec::template("base")).await.unwrap();
    let out = exec(&sb, "user", "sudo -n whoami").await;
    assert_eq!(out.stdout.trim(), "root", "{out:?}");
    t.runtime.kill(&sb.id).await.unwrap();
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_from_directory_and_tarball() {
    let Some(shared) = TestRuntime::for_test("import_from_directory_and_tarball", 9).await else {
        return;
    };
    let base = shared.runtime.ensure_base_template().await.unwrap();
    shared.finish().await;
    // Imports go to a templates directory of this test's own (removed with its root), so
    // repeated runs do not pile up copies in the shared cache.
    let own = std::path::Path::new(support::TEST_ROOT).join("runs/t9/templates");
    let t = TestRuntime::start_with(TestRuntime::config(9).templates_dir(own)).await;
    let rt = &t.runtime;
    // A "custom" rootfs: base plus a marker file, as a directory and as a tarball.
    let work = tempfile::tempdir_in(support::TEST_ROOT).unwrap();
    let dir = work.path().join("rootfs");
    let ok =
        std::process::Command::new("cp").arg("-a").arg(&base.rootfs).arg(&dir).status().unwrap().success();
    assert!(ok);
    std::fs::write(dir.join("etc/custom-marker"), "from-dir\n").unwrap();
    let imported = rt.import_template_dir("custom-dir", &dir).await.unwrap();
    assert_eq!(imported.name, "custom-dir");
    std::fs::write(dir.join("etc/custom-marker"), "from-tar\n").unwrap();
    let tarball = work.path().join("rootfs.tar.gz");
    let ok = std::process::Command::new("tar")
        .args(["--numeric-owner", "-czf"])
        .arg(&tarball)
        .arg("-C")
        .arg(&dir)
        .arg(".")
        .status()
        .unwrap()
        .success();
    assert!(ok);
    rt.import_template_tarball("custom-tar", &tarball).await.unwrap();
    let names: Vec<String> = rt.templates().unwrap().into_iter().map(|t| t.name).collect();
    assert!(names.contains(&"custom-dir".to_string()) && names.contains(&"custom-tar".to_string()));

    for (name, expected) in [("custom-dir", "from-dir"), ("custom-tar", "from-tar")] {
        let sb = rt.create(SandboxSpec::template(name)).await.unwrap();
        assert_eq!(sb.template, name);
        let out = exec(&sb, "user", "cat /etc/custom-marker; whoami").await;
        assert_eq!(out.stdout, format!("{expected}\nuser\n"), "{out:?}");
        rt.kill(&sb.id).await.unwrap();
    }
    // Bad input: typed errors, nothing registered.
    assert!(matches!(
        rt.import_template_dir("bad", work.path().join("missing")).await,
        Err(RuntimeError::Template { .. })
    ));
    std::fs::write(work.path().join("junk.tar"), b"not a tarball").unwrap();
    assert!(matches!(
        rt.import_template_tarball("bad", work.path().join("junk.tar")).await,
        Err(RuntimeError::Template { .. })
    ));
    assert!(!rt.templates().unwrap().iter().any(|t| t.name == "bad"));
    rt.remove_template("custom-dir").unwrap();
    rt.remove_template("custom-tar").unwrap();
    assert!(matches!(
        rt.create(SandboxSpec::template("custom-dir")).await,
        Err(RuntimeError::TemplateNotFound(_))
    ));
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_recipe_triggers_a_rebuild() {
    if !host_ready("changed_recipe_triggers_a_rebuild") {
        return;
    }
    // The shared template directory must already hold a current base.
    TestRuntime::start(10).await.runtime.ensure_base_template().await.unwrap();
    let recipe = BaseRecipe {
        // A mirror that does not exist, on purpose: the rebuild fails at once.
        mirror: "file:///nonexistent-e2b-mirror".into(),
        ..BaseRecipe::default()
    };
    let t = TestRuntime::start_with(TestRuntime::config(10).base_recipe(recipe)).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let rt = t.runtime.clone().with_progress(move |p| log.lock().unwrap().push(p));
    let err = rt.ensure_base_template().await.unwrap_err();
    assert!(matches!(err, RuntimeError::Template { .. }), "{err}");
    let started = seen
        .lock()
        .unwrap()
        .iter()
        .any(|p| matches!(p, TemplateProgress::Started { reason, .. } if reason == "its recipe changed"));
    assert!(started, "{:?}", seen.lock().unwrap());
    let partial = std::fs::read_dir(support::templates_dir().join("base"))
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".partial"));
    assert!(!partial, "a partial build was left behind");
    t.finish().await;
    // The stored base is untouched and still current for the default recipe.
    let t = TestRuntime::start(10).await;
    let sb = t.runtime.create(SandboxSpec::template("base")).await.unwrap();
    t.runtime.kill(&sb.id).await.unwrap();
    t.finish().await;
}
