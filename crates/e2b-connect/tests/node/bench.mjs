// connect-node client benchmark against a Connect server.
// Usage: node bench.mjs <baseUrl> <descriptors> <unary-calls> <stream-count> <stream-size>
// Prints {"unary_us": [sorted latencies...summary], "stream_bytes_per_s": N}.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { loadRegistry } from "./common.mjs";

const [baseUrl, descriptors, calls, count, size] = process.argv.slice(2);
const registry = loadRegistry(descriptors);
const Process = registry.getService("process.Process");
const json = createClient(Process, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
const binary = createClient(Process, createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }));

for (let i = 0; i < 2000; i++) await json.list({});
const lat = [];
for (let i = 0; i < Number(calls); i++) {
  const t = process.hrtime.bigint();
  await json.list({});
  lat.push(Number(process.hrtime.bigint() - t) / 1000);
}
lat.sort((a, b) => a - b);
const pick = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))];

let bytes = 0;
const t0 = process.hrtime.bigint();
for await (const r of binary.start({ process: { cmd: "stream", args: [count, size] } })) {
  const ev = r.event?.event;
  if (ev?.case === "data") bytes += ev.value.output.value.length;
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ p50_us: pick(0.5), p99_us: pick(0.99), stream_bytes_per_s: bytes / secs }));
