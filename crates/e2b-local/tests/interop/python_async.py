# The official E2B Python SDK (PyPI `e2b==2.45.1`), async API (`AsyncSandbox`), unchanged,
# against the local server. Run by `tests/interop_python.rs` with E2B_API_URL /
# E2B_SANDBOX_URL / E2B_API_KEY pointing at the server; prints "OK" as its last line when
# every check passed.
#
# Proves, each with real results: create with metadata + envs (env visible to commands),
# AsyncSandbox.list with a metadata filter and pagination (limit=1), commands.run (stdout,
# stderr, CommandExitException, on_stdout callbacks, concurrent runs), background command +
# wait + stdin, files (write/read/list/exists/remove/rename/make_dir), pty (create with
# on_data, send_stdin, exit), watch_dir over the streaming WatchDir RPC (on_event sees a
# write, on_exit on stop), pause + resume through AsyncSandbox.connect (files intact),
# create_snapshot + create from the snapshot id (file intact), get_metrics, set_timeout,
# fork (count=2, each fork has the parent's files, the parent keeps running), update_network
# (reported back by get_info), a secure sandbox (envd refuses requests without its token,
# signed download URLs work without it), timeout expiry with on_timeout "kill" (gone) and
# "pause" (paused, then resumed by connect with files intact), and kill (second kill and
# unknown id -> False, get_info -> NotFound).

import asyncio
import datetime
import os
import urllib.error
import urllib.request
import uuid

from e2b import (
    AsyncSandbox,
    CommandExitException,
    FileNotFoundException,
    FilesystemEventType,
    FileType,
    NotFoundException,
    PtySize,
    SandboxQuery,
    SandboxState,
)

RUN = uuid.uuid4().hex[:12]
HOME = "/home/user"

created = []  # every sandbox this script created, killed in `finally`
snapshots = []  # every snapshot this script created, deleted in `finally`


def eq(actual, expected, what=""):
    prefix = f"{what}: " if what else ""
    assert actual == expected, f"{prefix}got {actual!r}, expected {expected!r}"


def step(msg):
    print(f"step: {msg}", flush=True)


async def list_all(query, limit=None):
    p = AsyncSandbox.list(query=query, limit=limit)
    items = []
    while p.has_next:
        items.extend(await p.next_items())
    return items


async def main():
    step("create with metadata and envs (two sandboxes concurrently)")
    meta = {"run": RUN, "role": "main"}
    sbx, second = await asyncio.gather(
        AsyncSandbox.create(timeout=120, metadata=meta, envs={"FOO": "async-bar"}),
        AsyncSandbox.create(timeout=120, metadata={"run": RUN, "role": "second"}),
    )
    created.extend([sbx.sandbox_id, second.sandbox_id])
    assert sbx.sandbox_id != second.sandbox_id
    assert await sbx.is_running()
    r = await sbx.commands.run("echo $FOO")
    assert r.stdout == "async-bar\n", f"create envs not visible: {r.stdout!r}"
    r = await second.commands.run("echo ${FOO:-unset}")
    assert r.stdout == "unset\n", f"envs must not leak between sandboxes: {r.stdout!r}"

    step("get_info and list")
    info = await sbx.get_info()
    assert info.metadata == meta and info.state == SandboxState.RUNNING, info
    listed = await list_all(SandboxQuery(metadata={"run": RUN}))
    ids = {s.sandbox_id for s in listed}
    assert ids == {sbx.sandbox_id, second.sandbox_id}, f"list by run: {ids}"
    only = await list_all(SandboxQuery(metadata={"run": RUN, "role": "second"}))
    eq([s.sandbox_id for s in only], [second.sandbox_id], only)
    p = AsyncSandbox.list(query=SandboxQuery(metadata={"run": RUN}), limit=1)
    first = await p.next_items()
    assert len(first) == 1 and p.has_next, (first, p.has_next)
    rest = await p.next_items()
    assert len(rest) == 1 and not p.has_next, (rest, p.has_next)
    assert {first[0].sandbox_id, rest[0].sandbox_id} == ids, "pages cover both sandboxes"

    step("commands")
    chunks = []
    r = await sbx.commands.run("echo one; echo two >&2", on_stdout=chunks.append)
    assert (r.stdout, r.stderr, r.exit_code) == ("one\n", "two\n", 0), r
    assert "".join(chunks) == "one\n", f"on_stdout chunks: {chunks}"
    eq((await sbx.commands.run("whoami")).stdout, "user\n")
    outs = await asyncio.gather(*(sbx.commands.run(f"echo n{i}") for i in range(5)))
    assert [o.stdout for o in outs] == [f"n{i}\n" for i in range(5)], "concurrent runs"
    try:
        await sbx.commands.run("echo nope >&2; exit 3")
        raise AssertionError("non-zero exit must raise CommandExitException")
    except CommandExitException as e:
        assert (e.exit_code, e.stderr) == (3, "nope\n"), e

    h = await sbx.commands.run("sleep 1; echo bg", background=True)
    assert h.pid in [p.pid for p in await sbx.commands.list()]
    r = await h.wait()
    assert (r.stdout, r.exit_code) == ("bg\n", 0), r
    h = await sbx.commands.run("cat", background=True, stdin=True)
    await sbx.commands.send_stdin(h.pid, "async stdin\n")
    await sbx.commands.close_stdin(h.pid)
    eq((await h.wait()).stdout, "async stdin\n")

    step("files")
    base = f"{HOME}/async"
    assert await sbx.files.make_dir(base) is True
    assert await sbx.files.make_dir(base) is False
    w = await sbx.files.write(f"{base}/a.txt", "async alpha")
    assert w.path == f"{base}/a.txt", w
    eq(await sbx.files.read(f"{base}/a.txt"), "async alpha")
    await sbx.files.write(f"{base}/sub/b.txt", "b")
    entries = {e.name: e.type for e in await sbx.files.list(base)}
    assert entries == {"a.txt": FileType.FILE, "sub": FileType.DIR}, entries
    assert await sbx.files.exists(f"{base}/sub/b.txt")
    moved = await sbx.files.rename(f"{base}/a.txt", f"{base}/c.txt")
    assert moved.path == f"{base}/c.txt" and not await sbx.files.exists(f"{base}/a.txt")
    eq((await sbx.commands.run(f"cat {base}/c.txt")).stdout, "async alpha")
    await sbx.files.remove(f"{base}/c.txt")
    assert not await sbx.files.exists(f"{base}/c.txt")
    try:
        await sbx.files.read(f"{base}/c.txt")
        raise AssertionError("reading a removed file must raise FileNotFoundException")
    except FileNotFoundException:
        pass

    step("pty")
    out = bytearray()
    h = await sbx.pty.create(PtySize(rows=24, cols=80), on_data=out.extend)
    await sbx.pty.send_stdin(h.pid, b"echo async-pty-$((6*7)); exit\n")
    r = await h.wait()
    assert r.exit_code == 0, r
    assert b"async-pty-42" in out, f"pty output: {bytes(out)!r}"

    step("watch_dir (WatchDir stream)")
    watched = f"{base}/watched"
    await sbx.files.make_dir(watched)
    seen = asyncio.Event()
    events = []
    exits = []

    def on_event(e):
        events.append(e)
        if e.name == "new.txt":
            seen.set()

    wh = await sbx.files.watch_dir(watched, on_event=on_event, on_exit=exits.append)
    await sbx.files.write(f"{watched}/new.txt", "x")
    await asyncio.wait_for(seen.wait(), 20)
    kinds = {e.type for e in events if e.name == "new.txt"}
    assert kinds & {FilesystemEventType.CREATE, FilesystemEventType.WRITE}, events
    await wh.stop()
    assert exits == [None], f"on_exit after stop: {exits}"

    step("get_metrics and set_timeout")
    metrics = []
    for _ in range(30):
        metrics = await sbx.get_metrics()
        if metrics:
            break
        await asyncio.sleep(0.5)
    assert metrics, "get_metrics stayed empty"
    m = metrics[-1]
    assert m.cpu_count >= 1 and 0 < m.mem_used <= m.mem_total and 0 < m.disk_used <= m.disk_total, m
    await sbx.set_timeout(700)
    left = ((await sbx.get_info()).end_at - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 500 < left <= 705, f"after set_timeout(700) the sandbox ends in {left} s"

    step("pause and resume")
    await sbx.files.write(f"{base}/paused.txt", "kept")
    assert await sbx.pause() is True
    eq((await AsyncSandbox.get_info(sbx.sandbox_id)).state, SandboxState.PAUSED)
    assert await sbx.pause() is False, "pausing a paused sandbox must return False"
    resumed = await AsyncSandbox.connect(sbx.sandbox_id)
    eq((await resumed.get_info()).state, SandboxState.RUNNING)
    eq(await resumed.files.read(f"{base}/paused.txt"), "kept")
    eq((await resumed.commands.run("echo $FOO")).stdout, "async-bar\n")
    sbx = resumed

    step("snapshot")
    await sbx.files.write(f"{base}/snap.txt", "async snapshot")
    snap = await sbx.create_snapshot()
    snapshots.append(snap.snapshot_id)
    assert snap.snapshot_id, snap
    eq((await sbx.commands.run("echo still-running")).stdout, "still-running\n")
    from_snap = await AsyncSandbox.create(snap.snapshot_id, timeout=60)
    created.append(from_snap.sandbox_id)
    eq(await from_snap.files.read(f"{base}/snap.txt"), "async snapshot")
    assert await from_snap.kill() is True

    step("fork")
    await sbx.files.write(f"{base}/forked.txt", "from the parent")
    before = await sbx.get_info()
    forks = await sbx.fork(count=2, timeout=60)
    assert len(forks) == 2, forks
    for f in forks:
        assert not isinstance(f, Exception), f"a fork failed: {f!r}"
        created.append(f.sandbox_id)
        assert f.sandbox_id not in (sbx.sandbox_id, second.sandbox_id)
        eq(await f.files.read(f"{base}/forked.txt"), "from the parent")
        eq((await f.commands.run("echo $FOO")).stdout, "async-bar\n")
    after = await sbx.get_info()
    assert after.state == SandboxState.RUNNING and after.end_at == before.end_at, (before, after)
    for f in forks:
        assert await f.kill() is True

    step("update_network")
    await sbx.update_network({"deny_out": ["0.0.0.0/0"], "allow_out": ["192.0.2.0/24"]})
    net = (await sbx.get_info()).network
    assert net and net.get("deny_out") == ["0.0.0.0/0"] and net.get("allow_out") == ["192.0.2.0/24"], net
    await sbx.update_network({})

    step("secure sandbox: token and signed URLs")
    token = sbx._envd_access_token
    assert token, "secure (the default) must yield an envd access token"
    sandbox_url = os.environ["E2B_SANDBOX_URL"]
    routing = {"E2b-Sandbox-Id": sbx.sandbox_id, "E2b-Sandbox-Port": "49983"}

    def status_of(url, headers):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    files_url = f"{sandbox_url}/files?path={base}/snap.txt&username=user"
    status, _ = await asyncio.to_thread(status_of, files_url, routing)
    eq(status, 401, "envd without the access token")
    status, body = await asyncio.to_thread(status_of, files_url, {**routing, "X-Access-Token": token})
    eq((status, body), (200, b"async snapshot"), "envd with the access token")
    status, body = await asyncio.to_thread(status_of, sbx.download_url(f"{base}/snap.txt"), {})
    eq((status, body), (200, b"async snapshot"), "a signed download URL needs no token or header")

    step("timeouts: kill and pause when the time is up")
    doomed = await AsyncSandbox.create(timeout=2, metadata={"run": RUN + "-doomed"})
    created.append(doomed.sandbox_id)
    napper = await AsyncSandbox.create(
        timeout=2, metadata={"run": RUN + "-napper"}, lifecycle={"on_timeout": "pause", "auto_resume": True}
    )
    created.append(napper.sandbox_id)
    await napper.files.write(f"{HOME}/nap.txt", "kept while paused")
    async def expired(sandbox_id):
        try:
            await AsyncSandbox.get_info(sandbox_id)
            return False
        except NotFoundException:
            return True

    for _ in range(300):
        gone = await expired(doomed.sandbox_id)
        napping = (await AsyncSandbox.get_info(napper.sandbox_id)).state == SandboxState.PAUSED
        if gone and napping:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the sandboxes outlived their timeouts")
    assert not await doomed.is_running(), "an expired sandbox is not running"
    assert await AsyncSandbox.kill(doomed.sandbox_id) is False
    woken = await AsyncSandbox.connect(napper.sandbox_id, timeout=60)
    eq((await woken.get_info()).state, SandboxState.RUNNING)
    eq(await woken.files.read(f"{HOME}/nap.txt"), "kept while paused")
    assert await woken.kill() is True

    step("kill")
    assert await second.kill() is True
    assert await sbx.kill() is True
    assert await sbx.kill() is False
    assert await AsyncSandbox.kill("unknownsandboxid0000") is False
    assert not await sbx.is_running()
    try:
        await AsyncSandbox.get_info(sbx.sandbox_id)
        raise AssertionError("get_info of a killed sandbox must raise NotFound")
    except NotFoundException:
        pass
    eq(await list_all(SandboxQuery(metadata={"run": RUN})), [])

    assert await AsyncSandbox.delete_snapshot(snap.snapshot_id) is True
    snapshots.remove(snap.snapshot_id)


async def run():
    try:
        await main()
    finally:
        for sid in created:
            try:
                await AsyncSandbox.kill(sid)
            except Exception as e:  # report, but keep cleaning up
                print(f"cleanup: kill {sid}: {e!r}", flush=True)
        for snap_id in snapshots:
            try:
                await AsyncSandbox.delete_snapshot(snap_id)
            except Exception as e:
                print(f"cleanup: delete snapshot {snap_id}: {e!r}", flush=True)


asyncio.run(run())
print("OK", flush=True)
# Skip interpreter finalization: the SDK's native HTTP client (pyqwest 0.10.0) sometimes
# aborts the process there ("Fatal Python error: PyGILState_Release: thread state ... must be
# current when releasing", SIGABRT) after everything succeeded. Not a server matter.
os._exit(0)
