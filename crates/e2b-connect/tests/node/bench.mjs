// connect-node client benchmark against a Connect server.
// Usage: node bench.mjs <baseUrl> <descriptors> <unary-calls> <stream-count> <stream-size>
//   prints {"p50_us", "p99_us", "stream_bytes_per_s"};
// or:    node bench.mjs <baseUrl> <descriptors> idle <connections>
//   opens <connections> concurrent HTTP/1.1 calls, lets them end (their connections stay
//   pooled, idle), prints {"client_bytes_per_connection"}, and keeps them until stdin
//   closes (so that the server's memory can be read meanwhile).
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { loadRegistry } from "./common.mjs";

const [baseUrl, descriptors, calls, count, size] = process.argv.slice(2);
const registry = loadRegistry(descriptors);
const Process = registry.getService("process.Process");
const json = createClient(Process, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
const binary = createClient(Process, createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }));

if (calls === "idle") {
  const n = Number(count);
  for (let i = 0; i < 100; i++) await json.list({});
  const before = process.memoryUsage().rss;
  await Promise.all(
    Array.from({ length: n }, async () => {
      try {
        for await (const _ of json.start({ process: { cmd: "sleep" } }, { timeoutMs: 500 })) {
        }
      } catch {}
    }),
  );
  await new Promise((r) => setTimeout(r, 200));
  const after = process.memoryUsage().rss;
  console.log(JSON.stringify({ client_bytes_per_connection: (after - before) / n }));
  await new Promise((r) => process.stdin.on("end", r).resume());
  process.exit(0);
}

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
