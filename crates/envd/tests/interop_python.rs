//! Interop with the official E2B Python SDK (`e2b==2.45.1` from PyPI,
//! installed into `.interop/` by `e2b_tests::interop::python_e2b()`).
//!
//! Each test starts envd on a free loopback port, configures it with
//! `POST /init` the way the control plane would (debug-mode SDKs send no
//! /init), and runs a Python script that drives it through the SDK's public
//! API with `E2B_DEBUG=true` and `E2B_SANDBOX_URL` pointing at envd. The
//! script asserts on what the SDK returns; any exception fails the test.
//! This proves the SDK's Connect JSON over HTTP/1.1, its `/files` use, its
//! version gates (debug mode assumes 99.99.99; the secure test uses our
//! reported 0.6.13) and its error mapping all work against this envd.
//!
//! Run with `cargo test -p envd --test interop_python` (as root; needs
//! python3 with venv and access to PyPI on first run).

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;

/// A test user, envd configured for it through /init, and a work dir.
struct Setup {
    envd: TestEnvd,
    user: TestUser,
    dir: PathBuf,
}

async fn setup(token: Option<&str>) -> Setup {
    let user = TestUser::create();
    let envd = TestEnvd::default().await;
    let mut body = serde_json::json!({
        "defaultUser": user.name,
        "defaultWorkdir": user.home,
        "envVars": {"FROM_INIT": "init-value"},
        "timestamp": chrono::Utc::now().to_rfc3339(),
    });
    if let Some(token) = token {
        body["accessToken"] = token.into();
    }
    let reply = post(&envd.url("/init"), &[("content-type", "application/json")], body.to_string()).await;
    assert_eq!(reply.status, 204, "{}", reply.text());
    let dir = user.home.join("work");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid)).unwrap();
    Setup { envd, user, dir }
}

/// Runs `script` with the SDK's interpreter, bounded in time; panics with
/// its output when it fails.
/// Appended to every script: once it succeeded, exit without interpreter finalization,
/// where the SDK's native HTTP client (pyqwest) can crash (SIGSEGV/SIGABRT).
const EPILOGUE: &str = "\nimport os, sys\nsys.stdout.flush()\nos._exit(0)\n";

async fn python(setup: &Setup, script: &str, extra: &[(&str, &str)]) -> String {
    let script = format!("{script}{EPILOGUE}");
    let interpreter = tokio::task::spawn_blocking(e2b_tests::interop::python_e2b)
        .await
        .unwrap()
        .expect("installing e2b==2.45.1");
    let mut command = tokio::process::Command::new(interpreter);
    command
        .args(["-c", &script])
        .env("E2B_DEBUG", "true")
        .env("E2B_SANDBOX_URL", setup.envd.url(""))
        .env("TEST_USER", &setup.user.name)
        .env("TEST_HOME", &setup.user.home)
        .env("TEST_DIR", &setup.dir)
        .env("PYTHONUNBUFFERED", "1")
        .envs(extra.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("python starts");
    let output = tokio::time::timeout(Duration::from_secs(240), child.wait_with_output())
        .await
        .expect("the script finished in time")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "python failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

const SYNC: &str = r#"
import os, time
from e2b import (Sandbox, CommandExitException, NotFoundException, FileType,
                 FilesystemEventType, PtySize, InvalidArgumentException)

d, user, home = os.environ["TEST_DIR"], os.environ["TEST_USER"], os.environ["TEST_HOME"]
sbx = Sandbox.create()

# commands.run: output, default user and workdir from /init, env from /init
r = sbx.commands.run("echo hello; echo err >&2; echo $FROM_INIT")
assert (r.stdout, r.stderr, r.exit_code) == ("hello\ninit-value\n", "err\n", 0), r
assert sbx.commands.run("whoami").stdout == user + "\n"
assert sbx.commands.run("whoami", user="root").stdout == "root\n"
assert sbx.commands.run("pwd").stdout == home + "\n"
assert sbx.commands.run("pwd", cwd="/tmp").stdout == "/tmp\n"
assert sbx.commands.run("echo $A", envs={"A": "b"}).stdout == "b\n"
try:
    sbx.commands.run("echo out; exit 3")
    raise AssertionError("expected CommandExitException")
except CommandExitException as e:
    assert (e.exit_code, e.stdout) == (3, "out\n"), e
try:
    sbx.commands.run("true", cwd="/no/such/dir")
    raise AssertionError("expected InvalidArgumentException")
except InvalidArgumentException as e:
    assert "does not exist" in str(e), e
seen = []
sbx.commands.run("echo a; echo b", on_stdout=seen.append)
assert "".join(seen) == "a\nb\n", seen

# background, list, connect, send_stdin, kill
h = sbx.commands.run("read a; echo got $a; sleep 30", background=True, stdin=True)
procs = sbx.commands.list()
mine = [p for p in procs if p.pid == h.pid]
assert mine and mine[0].cmd == "/bin/bash" and mine[0].args[-1].startswith("read a"), procs
again = sbx.commands.connect(h.pid)
sbx.commands.send_stdin(h.pid, "x\n")
out = ""
for stdout, _, _ in again:
    out += stdout or ""
    if "got x" in out:
        break
assert sbx.commands.kill(h.pid) is True
try:
    h.wait()
    raise AssertionError("a killed command raises")
except CommandExitException as e:
    assert e.exit_code == -1, e
assert sbx.commands.kill(h.pid) is False

# close_stdin
h = sbx.commands.run("cat", background=True, stdin=True)
sbx.commands.send_stdin(h.pid, "piped")
sbx.commands.close_stdin(h.pid)
assert h.wait().stdout == "piped"

# files
p = f"{d}/sync/a.txt"
info = sbx.files.write(p, "hello")
assert (info.path, info.name) == (p, "a.txt"), info
assert sbx.files.read(p) == "hello"
assert sbx.files.read(p, format="bytes") == b"hello"
assert b"".join(sbx.files.read(p, format="stream")) == b"hello"
assert sbx.files.read(p, gzip=True) == "hello"
infos = sbx.files.write_files([{"path": f"{d}/sync/b.txt", "data": b"B"}, {"path": f"{d}/sync/c/d.txt", "data": "D"}])
assert sorted(i.name for i in infos) == ["b.txt", "d.txt"], infos
assert sorted(e.name for e in sbx.files.list(f"{d}/sync")) == ["a.txt", "b.txt", "c"]
assert "d.txt" in [e.name for e in sbx.files.list(f"{d}/sync", depth=2)]
assert sbx.files.exists(p) and not sbx.files.exists(f"{d}/nope")
i = sbx.files.get_info(p)
assert (i.type, i.size, i.permissions, i.owner, i.mode) == (FileType.FILE, 5, "-rw-r--r--", user, 0o644), i
moved = sbx.files.rename(p, f"{d}/sync/renamed.txt")
assert moved.path == f"{d}/sync/renamed.txt", moved
assert sbx.files.make_dir(f"{d}/sync/newdir") is True
assert sbx.files.make_dir(f"{d}/sync/newdir") is False
sbx.files.remove(f"{d}/sync/newdir")
assert not sbx.files.exists(f"{d}/sync/newdir")
try:
    sbx.files.read(f"{d}/missing")
    raise AssertionError("expected NotFoundException")
except NotFoundException:
    pass
sbx.files.write("rel.txt", "relative")
assert open(os.path.join(home, "rel.txt")).read() == "relative"
assert os.stat(os.path.join(home, "rel.txt")).st_uid == os.stat(home).st_uid

# watch_dir (the sync SDK polls CreateWatcher / GetWatcherEvents)
wh = sbx.files.watch_dir(f"{d}/sync", recursive=True)
sbx.files.write(f"{d}/sync/c/watched.txt", "w")
events = []
for _ in range(50):
    events += wh.get_new_events()
    if any(e.name == "c/watched.txt" and e.type == FilesystemEventType.WRITE for e in events):
        break
    time.sleep(0.1)
else:
    raise AssertionError(f"no write event: {events}")
wh.stop()

# pty: create, resize, send input, read output, exit code; kill
ph = sbx.pty.create(PtySize(rows=24, cols=80))
sbx.pty.resize(ph.pid, PtySize(rows=30, cols=100))
sbx.pty.send_stdin(ph.pid, b"stty size; exit 7\n")
output = bytearray()
try:
    ph.wait(on_pty=output.extend)
    raise AssertionError("exit 7 raises")
except CommandExitException as e:
    assert e.exit_code == 7, e
assert b"30 100" in output, bytes(output)
ph = sbx.pty.create(PtySize(rows=24, cols=80))
assert sbx.pty.kill(ph.pid) is True
print("sync ok", flush=True)
"#;

/// The synchronous SDK: commands (run, background, list, connect,
/// send_stdin, close_stdin, kill), files (read in all formats, write,
/// write_files, list, exists, get_info, rename, make_dir, remove), the
/// polled watch_dir, and PTYs (create, resize, send_stdin, kill).
#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_sync_api() {
    let setup = setup(None).await;
    let out = python(&setup, SYNC, &[]).await;
    assert!(out.contains("sync ok"), "{out}");
}

const ASYNC: &str = r#"
import asyncio, os
from e2b import (AsyncSandbox, CommandExitException, FileType, FilesystemEventType, PtySize,
                 NotFoundException)

d, user, home = os.environ["TEST_DIR"], os.environ["TEST_USER"], os.environ["TEST_HOME"]

async def main():
    sbx = await AsyncSandbox.create()
    r = await sbx.commands.run("echo hi; whoami")
    assert r.stdout == f"hi\n{user}\n", r
    chunks = []
    r = await sbx.commands.run("for i in 1 2 3; do echo $i; sleep 0.05; done", on_stdout=chunks.append)
    assert "".join(chunks) == "1\n2\n3\n", chunks

    h = await sbx.commands.run("read a; echo got $a", background=True, stdin=True)
    assert any(p.pid == h.pid for p in await sbx.commands.list())
    await sbx.commands.send_stdin(h.pid, "y\n")
    assert (await h.wait()).stdout == "got y\n"

    h = await sbx.commands.run("sleep 30", background=True)
    await h.disconnect()
    again = await sbx.commands.connect(h.pid)
    assert await sbx.commands.kill(h.pid) is True
    try:
        await again.wait()
        raise AssertionError("killed")
    except CommandExitException as e:
        assert e.exit_code == -1

    # files
    p = f"{d}/async/x.bin"
    await sbx.files.write(p, b"\x00\x01binary")
    assert await sbx.files.read(p, format="bytes") == b"\x00\x01binary"
    await sbx.files.write_files([{"path": f"{d}/async/y.txt", "data": "Y"}])
    names = sorted(e.name for e in await sbx.files.list(f"{d}/async"))
    assert names == ["x.bin", "y.txt"], names
    assert await sbx.files.exists(p)
    info = await sbx.files.get_info(f"{d}/async")
    assert info.type == FileType.DIR, info
    await sbx.files.rename(p, f"{d}/async/z.bin")
    assert await sbx.files.make_dir(f"{d}/async/sub") is True
    await sbx.files.remove(f"{d}/async/sub")
    try:
        await sbx.files.get_info(f"{d}/async/sub")
        raise AssertionError("removed")
    except NotFoundException:
        pass

    # watch_dir streams WatchDir
    events = []
    got = asyncio.Event()
    def on_event(e):
        events.append(e)
        if e.name == "w.txt" and e.type == FilesystemEventType.WRITE:
            got.set()
    wh = await sbx.files.watch_dir(f"{d}/async", on_event, include_entry=True)
    await sbx.files.write(f"{d}/async/w.txt", "watched")
    await asyncio.wait_for(got.wait(), 10)
    await wh.stop()
    creates = [e for e in events if e.name == "w.txt" and e.type == FilesystemEventType.CREATE]
    assert creates and creates[0].entry is not None and creates[0].entry.name == "w.txt", events

    # pty
    data = bytearray()
    ph = await sbx.pty.create(PtySize(rows=20, cols=70), on_data=data.extend)
    await sbx.pty.send_stdin(ph.pid, b"stty size; echo $TERM\n")
    for _ in range(100):
        if b"xterm-256color" in data:
            break
        await asyncio.sleep(0.05)
    await sbx.pty.resize(ph.pid, PtySize(rows=33, cols=111))
    await sbx.pty.send_stdin(ph.pid, b"stty size; exit 3\n")
    try:
        await ph.wait()
        raise AssertionError("exit 3 raises")
    except CommandExitException as e:
        assert e.exit_code == 3, e
    assert b"20 70" in data and b"xterm-256color" in data and b"33 111" in data, bytes(data)
    ph = await sbx.pty.create(PtySize(rows=20, cols=70), on_data=lambda _: None)
    assert await sbx.pty.kill(ph.pid) is True
    print("async ok")

asyncio.run(main())
"#;

/// The asynchronous SDK: commands with callbacks, background/connect/
/// disconnect/kill, files, the streaming watch_dir with entries, PTYs
/// (create, send_stdin, resize, exit code, kill).
#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_async_api() {
    let setup = setup(None).await;
    let out = python(&setup, ASYNC, &[]).await;
    assert!(out.contains("async ok"), "{out}");
}

const SECURE: &str = r#"
import os, httpx
from packaging.version import Version
from e2b import Sandbox, AuthenticationException
from e2b.connection_config import ConnectionConfig

token, d = os.environ["TEST_TOKEN"], os.environ["TEST_DIR"]

def sandbox(token):
    # What Sandbox.create() builds from a control plane's answer for a
    # secure sandbox, with the version this envd reports.
    headers = {"E2b-Sandbox-Id": "local", "E2b-Sandbox-Port": "49983"}
    if token:
        headers["X-Access-Token"] = token
    return Sandbox(sandbox_id="local", sandbox_domain=None, envd_version=Version("0.6.13"),
                   envd_access_token=token, connection_config=ConnectionConfig(extra_sandbox_headers=headers))

sbx = sandbox(token)
assert sbx.commands.run("echo secure").stdout == "secure\n"
sbx.files.write(f"{d}/s.txt", "signed content")
assert sbx.files.read(f"{d}/s.txt") == "signed content"
wh = sbx.files.watch_dir(d)
wh.stop()

# Signed URLs work without the header, with and without expiry.
for url in (sbx.download_url(f"{d}/s.txt"), sbx.download_url(f"{d}/s.txt", use_signature_expiration=120)):
    assert "signature=v1_" in url, url
    r = httpx.get(url)
    assert (r.status_code, r.text) == (200, "signed content"), (r.status_code, r.text)
up = sbx.upload_url(f"{d}/u.txt")
r = httpx.post(up, files={"file": ("u.txt", b"uploaded via url")})
assert r.status_code == 200, (r.status_code, r.text)
assert sbx.files.read(f"{d}/u.txt") == "uploaded via url"
# A URL signed for one path does not open another.
tampered = sbx.download_url(f"{d}/s.txt").replace("s.txt", "u.txt")
assert httpx.get(tampered).status_code == 401
# A download URL does not upload.
r = httpx.post(sbx.download_url(f"{d}/x.txt"), files={"file": ("x", b"x")})
assert r.status_code == 401, r.status_code

# Without the token every call is refused with AuthenticationException.
anon = sandbox(None)
for call in (lambda: anon.commands.run("true"), lambda: anon.files.read(f"{d}/s.txt"),
             lambda: anon.files.list(d), lambda: anon.files.write(f"{d}/t.txt", "x")):
    try:
        call()
        raise AssertionError("expected AuthenticationException")
    except AuthenticationException:
        pass
wrong = sandbox("not-the-token")
try:
    wrong.commands.run("true")
    raise AssertionError("expected AuthenticationException")
except AuthenticationException:
    pass
assert sbx.is_running()
print("secure ok", flush=True)
"#;

/// Secure mode: a token set through /init is required on every call the
/// SDK makes; signed download/upload URLs (with and without expiry) work
/// without it, for their own path and operation only.
#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_secure_mode() {
    let token = "0f3c9a1b2d4e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
    let setup = setup(Some(token)).await;
    let out = python(&setup, SECURE, &[("TEST_TOKEN", token)]).await;
    assert!(out.contains("secure ok"), "{out}");
}

const ASYNC_SECURE: &str = r#"
import asyncio, os, httpx
from packaging.version import Version
from e2b import AsyncSandbox, AuthenticationException
from e2b.connection_config import ConnectionConfig

token, d = os.environ["TEST_TOKEN"], os.environ["TEST_DIR"]

def sandbox(token):
    # What AsyncSandbox.create() builds from a control plane's answer for a secure
    # sandbox, with the version this envd reports.
    headers = {"E2b-Sandbox-Id": "local", "E2b-Sandbox-Port": "49983"}
    if token:
        headers["X-Access-Token"] = token
    return AsyncSandbox(sandbox_id="local", sandbox_domain=None, envd_version=Version("0.6.13"),
                        envd_access_token=token, connection_config=ConnectionConfig(extra_sandbox_headers=headers))

async def main():
    sbx = sandbox(token)
    assert (await sbx.commands.run("echo secure")).stdout == "secure\n"
    await sbx.files.write(f"{d}/as.txt", "async signed")
    assert await sbx.files.read(f"{d}/as.txt") == "async signed"
    got = asyncio.Event()
    wh = await sbx.files.watch_dir(d, lambda e: got.set())
    await sbx.files.write(f"{d}/aw.txt", "w")
    await asyncio.wait_for(got.wait(), 10)
    await wh.stop()

    async with httpx.AsyncClient() as http:
        for url in (sbx.download_url(f"{d}/as.txt"), sbx.download_url(f"{d}/as.txt", use_signature_expiration=120)):
            assert "signature=v1_" in url, url
            r = await http.get(url)
            assert (r.status_code, r.text) == (200, "async signed"), (r.status_code, r.text)
        r = await http.post(sbx.upload_url(f"{d}/au.txt"), files={"file": ("au.txt", b"async upload")})
        assert r.status_code == 200, (r.status_code, r.text)
        assert await sbx.files.read(f"{d}/au.txt") == "async upload"
        tampered = sbx.download_url(f"{d}/as.txt").replace("as.txt", "au.txt")
        assert (await http.get(tampered)).status_code == 401

    for who in (sandbox(None), sandbox("not-the-token")):
        for call in (lambda: who.commands.run("true"), lambda: who.files.read(f"{d}/as.txt"),
                     lambda: who.files.write(f"{d}/t.txt", "x")):
            try:
                await call()
                raise AssertionError("expected AuthenticationException")
            except AuthenticationException:
                pass
    assert await sbx.is_running()
    print("async secure ok")

asyncio.run(main())
"#;

/// Secure mode through the asynchronous SDK: the token on every call (streaming watch
/// included), signed URLs with and without expiry, and refusal without the token.
#[tokio::test(flavor = "multi_thread")]
async fn python_async_sdk_secure_mode() {
    let token = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let setup = setup(Some(token)).await;
    let out = python(&setup, ASYNC_SECURE, &[("TEST_TOKEN", token)]).await;
    assert!(out.contains("async secure ok"), "{out}");
}
