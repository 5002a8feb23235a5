// A Node.js `http2` server for the interop suite: one process, several listeners, each with its
// own quirk. Every completed request appends one line to the access log, which the runner counts.
// Usage: node node_h2.mjs CONFIG.json   (written by run.py: cert, key, log, listeners)
import { createHash } from "node:crypto";
import fs from "node:fs";
import http2 from "node:http2";

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const log = fs.openSync(config.log, "a");
const big = "x".repeat(1024);

function handle(listener, req, res) {
  const url = new URL(req.url, "http://x");
  const hash = createHash("sha256");
  let length = 0;
  req.on("data", (chunk) => {
    hash.update(chunk);
    length += chunk.length;
  });
  req.on("end", () => {
    // Written synchronously, so the line is on disk before the response leaves.
    fs.writeSync(log, `${listener.name} ${req.method} ${req.url} ${length} ${req.stream.session.streams}\n`);
    switch (url.pathname) {
      case "/upload": {
        // The runner passes the sha256 and length it sent; anything else is a 400.
        const sha = hash.digest("hex");
        const ok = sha === url.searchParams.get("sha256") && String(length) === url.searchParams.get("len");
        res.writeHead(ok ? 200 : 400, { "content-type": "text/plain" });
        res.end(`${length} ${sha}\n`);
        return;
      }
      case "/bigheaders": {
        // 24 headers of 1 KiB: a 24 KiB header block, more than one 16 KiB frame, so the server
        // must send HEADERS + CONTINUATION.
        const headers = { "content-type": "text/plain" };
        for (let i = 0; i < 24; i++) headers[`x-big-${i}`] = big;
        res.writeHead(200, headers);
        res.end("ok\n");
        return;
      }
      case "/204":
        res.writeHead(204);
        res.end();
        return;
      default:
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("hello from node\n");
    }
  });
}

for (const listener of config.listeners) {
  const settings = {};
  if (listener.maxConcurrentStreams) settings.maxConcurrentStreams = listener.maxConcurrentStreams;
  const options = { settings, maxSendHeaderBlockLength: 1 << 20 };
  const server = listener.tls
    ? http2.createSecureServer({ ...options, cert: fs.readFileSync(config.cert), key: fs.readFileSync(config.key) })
    : http2.createServer(options);
  server.on("request", (req, res) => handle(listener, req, res));
  // With goawayAfter, like a server with a per-connection request limit: after N streams, a
  // graceful GOAWAY (streams already accepted finish; the client opens a new connection).
  server.on("session", (session) => {
    session.streams = 0;
    session.on("stream", () => {
      session.streams += 1;
      if (session.streams === listener.goawayAfter) session.close();
    });
  });
  server.listen(listener.port, "127.0.0.1", () => console.log(`node ${listener.name} on ${listener.port}`));
}
