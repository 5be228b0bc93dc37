// connect-es (connect-node) as a server for our Rust client.
// Usage: node server.mjs <descriptors> <1.1|2>
// Prints {"port": N} once listening; exits when stdin closes.
import http from "node:http";
import http2 from "node:http2";
import { ConnectError, Code } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { create } from "@bufbuild/protobuf";
import { loadRegistry } from "./common.mjs";

const [descriptors, httpVersion] = process.argv.slice(2);
const registry = loadRegistry(descriptors);
const Process = registry.getService("process.Process");
const StartResponse = registry.getMessage("process.StartResponse");
let inputs = 0;

const event = (e) => create(StartResponse, { event: { event: e } });
const stdout = (text) => event({ case: "data", value: { output: { case: "stdout", value: new TextEncoder().encode(text) } } });

const impl = {
  async list(_req, ctx) {
    const echo = ctx.requestHeader.get("x-echo");
    if (echo) ctx.responseHeader.set("x-echo", echo);
    ctx.responseHeader.set("x-inputs", String(inputs));
    return { processes: [{ pid: 42, tag: "", config: { cmd: "/bin/bash", args: ["-l"] } }] };
  },
  async *start(req, ctx) {
    const cmd = req.process?.cmd;
    if (cmd === "fail-early") throw new ConnectError("process not found", Code.NotFound);
    yield event({ case: "start", value: { pid: 7 } });
    if (cmd === "echo") {
      for (const a of req.process.args) yield stdout(a);
      yield event({ case: "end", value: { exited: true, status: "exit status 0" } });
    } else if (cmd === "fail-late") {
      throw new ConnectError("it broke", Code.Internal);
    } else if (cmd === "sleep") {
      await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
    } else if (cmd === "big") {
      yield stdout("x".repeat(Number(req.process.args[0])));
    } else if (cmd === "stream") {
      const chunk = new Uint8Array(Number(req.process.args[1])).fill(120);
      const ev = event({ case: "data", value: { output: { case: "stdout", value: chunk } } });
      for (let i = 0; i < Number(req.process.args[0]); i++) yield ev;
    } else if (cmd === "deadline") {
      yield stdout(String(ctx.timeoutMs()));
    }
  },
  async sendSignal(req) {
    if (req.process?.selector?.case === "pid" && req.process.selector.value === 404)
      throw new ConnectError("process with pid 404 not found", Code.NotFound);
    return {};
  },
  async update(_req, ctx) {
    await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
  },
  async streamInput(reqs) {
    for await (const _ of reqs) inputs++;
    return {};
  },
};

// compressMinBytes 1: every response the client accepts gzip for is compressed, so that
// our client's gunzip path is exercised against theirs (the default threshold is 1 KiB).
const handler = connectNodeAdapter({ routes: (router) => router.service(Process, impl), compressMinBytes: 1 });
const server = httpVersion === "2" ? http2.createServer(handler) : http.createServer(handler);
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: server.address().port })));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
