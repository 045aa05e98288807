#!/usr/bin/env python3
"""git_proxy.py — a forward proxy for the config-server's git tests: HTTP CONNECT tunnels
(what a git client uses to reach an https remote through a proxy), optionally behind Basic
proxy authentication (407 with a Proxy-Authenticate challenge otherwise). Each tunnel it
opens is printed as "CONNECT host:port", so a test can tell the remote was reached through it.

Usage: git_proxy.py PORT [USER PASS]   (prints "ready" when it listens on 127.0.0.1)
"""
import base64
import select
import socket
import socketserver
import sys


def main():
    if len(sys.argv) not in (2, 4) or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2
    port = int(sys.argv[1])
    want = None
    if len(sys.argv) == 4:
        want = "Basic " + base64.b64encode(f"{sys.argv[2]}:{sys.argv[3]}".encode()).decode()

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, status):
            extra = 'Proxy-Authenticate: Basic realm="proxy"\r\n' if status.startswith("407") else ""
            self.wfile.write(f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\n\r\n".encode())

        def handle(self):
            while True:
                line = self.rfile.readline().decode("latin-1").strip()
                if not line:
                    return
                method, target = (line.split() + ["", ""])[:2]
                headers = {}
                while True:
                    h = self.rfile.readline().decode("latin-1").strip()
                    if not h:
                        break
                    k, _, v = h.partition(":")
                    headers[k.strip().lower()] = v.strip()
                if method != "CONNECT":
                    self.reply("405 Method Not Allowed")
                    return
                if want is not None and headers.get("proxy-authorization") != want:
                    self.reply("407 Proxy Authentication Required")
                    continue  # the client may answer the challenge on this connection
                host, _, p = target.rpartition(":")
                try:
                    up = socket.create_connection((host, int(p)), timeout=10)
                except OSError:
                    self.reply("502 Bad Gateway")
                    return
                print(f"CONNECT {target}", flush=True)
                self.reply("200 Connection Established")
                self.wfile.flush()
                self.pipe(up)
                return

        def pipe(self, up):
            down = self.connection
            socks = [down, up]
            try:
                while True:
                    ready, _, _ = select.select(socks, [], [], 30)
                    if not ready:
                        return
                    for s in ready:
                        data = s.recv(65536)
                        if not data:
                            return
                        (up if s is down else down).sendall(data)
            finally:
                up.close()

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
