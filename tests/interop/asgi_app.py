"""An ASGI app for hypercorn in the interop suite (HTTP/1.1, HTTP/2 over TLS, h2c).

hypercorn writes the access log the runner counts. /upload checks the sha256 and length the
runner passes in the query against what arrived; /chunked streams a body of unknown length
(chunked over HTTP/1.1, DATA frames over HTTP/2); /bigheaders sends a header block over 16 KiB.
"""

import hashlib
from urllib.parse import parse_qs

BIG = b"x" * 1024
CHUNK = b"0123456789abcdef" * 64  # 1 KiB
CHUNKS = 64


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    digest = hashlib.sha256()
    length = 0
    while True:
        message = await receive()
        body = message.get("body", b"")
        digest.update(body)
        length += len(body)
        if not message.get("more_body"):
            break
    text = [(b"content-type", b"text/plain")]
    if path == "/upload":
        query = parse_qs(scope["query_string"].decode())
        ok = query.get("sha256") == [digest.hexdigest()] and query.get("len") == [str(length)]
        await respond(send, 200 if ok else 400, text, f"{length} {digest.hexdigest()}\n".encode())
    elif path == "/chunked":
        await send({"type": "http.response.start", "status": 200, "headers": text})
        for _ in range(CHUNKS):
            await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/bigheaders":
        headers = text + [(f"x-big-{i}".encode(), BIG) for i in range(24)]
        await respond(send, 200, headers, b"ok\n")
    elif path == "/204":
        await respond(send, 204, [], b"")
    else:
        await respond(send, 200, text, b"hello from hypercorn\n")


async def respond(send, status, headers, body):
    headers = headers + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
