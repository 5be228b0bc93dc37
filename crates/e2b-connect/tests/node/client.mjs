// connect-es (connect-node) as a client of our Rust server.
// Usage: node client.mjs <baseUrl> <descriptors> <json|binary> <1.1|2> <gzip:0|1>
// Prints one JSON object with what each call observed.
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createConnectTransport, compressionGzip } from "@connectrpc/connect-node";
import { loadRegistry } from "./common.mjs";

const [baseUrl, descriptors, format, httpVersion, gzip] = process.argv.slice(2);
const registry = loadRegistry(descriptors);
const Process = registry.getService("process.Process");
const transport = createConnectTransport({
  baseUrl,
  httpVersion,
  useBinaryFormat: format === "binary",
  sendCompression: gzip === "1" ? compressionGzip : undefined,
  acceptCompression: gzip === "1" ? [compressionGzip] : [],
  compressMinBytes: 0,
});
const client = createClient(Process, transport);
const out = {};

function errorOf(e) {
  if (e instanceof ConnectError) return { code: Code[e.code], message: e.rawMessage };
  throw e;
}

function stdoutOf(res) {
  const ev = res.event?.event;
  if (ev?.case === "data" && ev.value.output.case === "stdout") return new TextDecoder().decode(ev.value.output.value);
  return null;
}

async function collect(iterable) {
  const events = [];
  try {
    for await (const res of iterable) events.push(res.event?.event?.case === "data" ? stdoutOf(res) : res.event?.event?.case);
    return { events };
  } catch (e) {
    return { events, error: errorOf(e) };
  }
}

let headerEcho = null;
const list = await client.list({}, { headers: { "x-echo": "from-node" }, onHeader: (h) => (headerEcho = h.get("x-echo")) });
out.list = { pid: list.processes[0].pid, tag: list.processes[0].tag ?? null, echo: headerEcho };
out.echo = await collect(client.start({ process: { cmd: "echo", args: ["a", "b"] }, stdin: false }));
out.failEarly = await collect(client.start({ process: { cmd: "fail-early" } }));
out.failLate = await collect(client.start({ process: { cmd: "fail-late" } }));
out.sleep = await collect(client.start({ process: { cmd: "sleep" } }, { timeoutMs: 300 }));
try {
  await client.sendSignal({ process: { selector: { case: "pid", value: 404 } }, signal: 9 });
  out.signal = null;
} catch (e) {
  out.signal = errorOf(e);
}
try {
  await client.update({}, { timeoutMs: 300 });
  out.update = null;
} catch (e) {
  out.update = errorOf(e);
}
async function* inputs() {
  for (let i = 0; i < 5; i++) yield { event: { case: "data", value: { input: { input: { case: "stdin", value: new Uint8Array([i]) } } } } };
}
if (httpVersion === "2") {
  await client.streamInput(inputs());
  out.streamInput = "ok";
}
console.log(JSON.stringify(out));
