// The official E2B JS SDK (npm `e2b@2.45.0`, Node 20), unchanged, against the local server.
// Run by `tests/interop_js.rs` (copied next to the installed `node_modules`) with E2B_API_URL /
// E2B_SANDBOX_URL / E2B_API_KEY pointing at the server; prints "OK" as its last line when
// every check passed.
//
// Proves, each with real results: Sandbox.create with metadata + envs (env visible to
// commands), getInfo, commands.run (stdout/stderr, onStdout callback, CommandExitError on a
// non-zero exit, a background command + wait), files.write + files.read (text and bytes),
// files.list / exists, Sandbox.list with a metadata filter and pagination (limit 1, hasNext,
// nextItems), Sandbox.connect, and kill (instance and by id; second kill and unknown id ->
// false; getInfo afterwards -> NotFoundError).

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'

import { CommandExitError, NotFoundError, Sandbox } from 'e2b'

const run = randomUUID().replaceAll('-', '').slice(0, 12)
const home = '/home/user'
const created = []

function step(msg) {
  console.log(`step: ${msg}`)
}

async function listAll(query, limit) {
  const paginator = Sandbox.list({ query, limit })
  const items = []
  while (paginator.hasNext) {
    items.push(...(await paginator.nextItems()))
  }
  return items
}

async function main() {
  step('create with metadata and envs')
  const meta = { run, role: 'main' }
  const sbx = await Sandbox.create({ timeoutMs: 120_000, metadata: meta, envs: { FOO: 'js-bar' } })
  created.push(sbx.sandboxId)
  const second = await Sandbox.create({ timeoutMs: 120_000, metadata: { run, role: 'second' } })
  created.push(second.sandboxId)
  assert.ok(await sbx.isRunning(), 'a fresh sandbox must be running')

  const info = await sbx.getInfo()
  assert.equal(info.sandboxId, sbx.sandboxId)
  assert.deepEqual(info.metadata, meta, 'metadata round trip')
  assert.equal(info.state, 'running')

  step('commands.run')
  let r = await sbx.commands.run('echo $FOO')
  assert.equal(r.stdout, 'js-bar\n', 'create envs must be visible to commands')
  const chunks = []
  r = await sbx.commands.run('echo out; echo err >&2', { onStdout: (d) => chunks.push(d) })
  assert.deepEqual([r.stdout, r.stderr, r.exitCode], ['out\n', 'err\n', 0])
  assert.equal(chunks.join(''), 'out\n', 'onStdout chunks')
  assert.equal((await sbx.commands.run('whoami')).stdout, 'user\n')
  await assert.rejects(sbx.commands.run('echo bad >&2; exit 5'), (e) => {
    assert.ok(e instanceof CommandExitError, `expected CommandExitError, got ${e}`)
    assert.equal(e.exitCode, 5)
    assert.equal(e.stderr, 'bad\n')
    return true
  })
  const bg = await sbx.commands.run('sleep 1; echo bg-done', { background: true })
  assert.ok(bg.pid > 0)
  r = await bg.wait()
  assert.equal(r.stdout, 'bg-done\n')

  step('files.write + files.read')
  const w = await sbx.files.write(`${home}/js/hello.txt`, 'hello from js\n')
  assert.equal(w.path, `${home}/js/hello.txt`)
  assert.equal(await sbx.files.read(`${home}/js/hello.txt`), 'hello from js\n')
  const bytes = new Uint8Array(256).map((_, i) => i)
  await sbx.files.write(`${home}/js/bytes.bin`, bytes.buffer)
  const back = await sbx.files.read(`${home}/js/bytes.bin`, { format: 'bytes' })
  assert.deepEqual(Array.from(back), Array.from(bytes), 'binary round trip')
  assert.equal((await sbx.commands.run('cat ~/js/hello.txt')).stdout, 'hello from js\n')
  const names = (await sbx.files.list(`${home}/js`)).map((e) => e.name).sort()
  assert.deepEqual(names, ['bytes.bin', 'hello.txt'])
  assert.equal(await sbx.files.exists(`${home}/js/nope`), false)

  step('Sandbox.list')
  const all = await listAll({ metadata: { run } })
  assert.deepEqual(all.map((s) => s.sandboxId).sort(), [sbx.sandboxId, second.sandboxId].sort())
  const mainOnly = await listAll({ metadata: { run, role: 'main' } })
  assert.deepEqual(mainOnly.map((s) => s.sandboxId), [sbx.sandboxId], 'AND of metadata pairs')
  assert.deepEqual(mainOnly[0].metadata, meta)
  const paginator = Sandbox.list({ query: { metadata: { run } }, limit: 1 })
  const page1 = await paginator.nextItems()
  assert.equal(page1.length, 1)
  assert.ok(paginator.hasNext, 'limit=1 of 2 must have a next page')
  const page2 = await paginator.nextItems()
  assert.equal(page2.length, 1)
  assert.ok(!paginator.hasNext, 'no next page after the last item')
  assert.notEqual(page1[0].sandboxId, page2[0].sandboxId)

  step('connect')
  const same = await Sandbox.connect(sbx.sandboxId)
  assert.equal((await same.commands.run('cat ~/js/hello.txt')).stdout, 'hello from js\n')

  step('kill')
  assert.equal(await second.kill(), true)
  assert.equal(await Sandbox.kill(sbx.sandboxId), true)
  assert.equal(await sbx.kill(), false, 'a second kill must return false')
  assert.equal(await Sandbox.kill('unknownsandboxid0000'), false)
  assert.equal(await sbx.isRunning(), false)
  await assert.rejects(Sandbox.getInfo(sbx.sandboxId), NotFoundError)
  assert.deepEqual(await listAll({ metadata: { run } }), [])
}

try {
  await main()
} finally {
  for (const id of created) {
    try {
      await Sandbox.kill(id)
    } catch (e) {
      console.log(`cleanup: kill ${id}: ${e}`)
    }
  }
}
console.log('OK')
