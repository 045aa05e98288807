#!/usr/bin/env python3
"""compat.py — the side-by-side cases of bench/config-server/compat.sh.

Every case sends the same request to our config-server and to a stock Spring Cloud Config
Server 5.0.6 serving the same repository, and compares what a client would see: the status,
the media type (type/subtype) and the body (JSON: equal after parsing, `version` left out —
Spring's native backend sends null, ours the content hash; text: byte for byte). Prints one
line per case:

    same   <case>
    known  <case>: <the documented difference>     (config-server/README.md, "Differences")
    DIFF   <case>  + what differs
and exits 1 when any case is DIFF. A `known` case must still differ as documented: if it
suddenly agrees, it is reported as DIFF ("documented difference is gone") so that the
README stays true.

Usage: compat.py A_OURS A_SPRING B_OURS B_SPRING BOOT_CLIENT_JAR [G_OURS G_SPRING H_OURS H_SPRING]
  pair A: the fixture repo, Spring with encrypt.key=s3cr3t-k3y (accept-empty true, its
          default), ours with the same key, --accept-empty and Basic credentials;
  pair B: a copy of config-repo/, no key; Spring with accept-empty=false, ours by default.
  pairs G, H (git mode, compat_git.py): the same git repository made from pair A's fixture
          (gitfixture.sh), G over file:// (a work repository), H over git:// (a bare one).
Env: CS_AUTH (user:password of ours), CS_LOG (file for the Boot client's output),
     GITFX_C1, GITFX_C2 (the fixture's commit ids), CS_H_BASEDIRS (ours:spring, the clone
     directories of pair H, replaced by <basedir>), CS_H_PUSH_DIR (a clone of pair H's
     remote: the push cases push from it), CS_ONLY=git (pairs G and H only), CS_K ("ours spring":
     pair K, RSA keys from one key store, compat_keys.py) with CS_K_REPO (its repository folder).
"""
import base64
import http.client
import json
import os
import subprocess
import sys
import urllib.parse

AUTH = os.environ.get("CS_AUTH", "cfg:s3cret")
AUTH_HDR = "Basic " + base64.b64encode(AUTH.encode()).decode()
V2 = "application/vnd.spring-cloud.config-server.v2+json"
FORM = "application/x-www-form-urlencoded"

# The documented intentional differences (config-server/README.md, "Differences from Spring").
KNOWN = {
    "decrypt too short": "Spring answers 500 for a hex text shorter than an IV and a block; ours 400 INVALID",
    "B encrypt/status": "without a key Spring 5.0.6 answers 500; ours 404 NO_KEY as Spring's own docs say",
    "B encrypt": "without a key Spring 5.0.6 answers 500; ours 404 NO_KEY",
    "B decrypt": "without a key Spring 5.0.6 answers 500; ours 404 NO_KEY",
    "env unknown label": "the native backend serves the root for a label it has no directory for; ours 404 (as git)",
    "label a(_)(_)b": "Spring accepts an empty label component (200, root files); ours 400",
    "app list with empty item": "Spring accepts /alpha,/default (an empty name); ours 400",
    "brackets /brk-default.yml": "Spring answers 400 for bracketed keys in the .yml form; ours re-nests them ('[a/b]': x)",
    "brackets /brk-default.json": "Spring answers 400 for bracketed keys in the .json form; ours re-nests them",
    "app with bidi override": "Spring serves a name holding an invisible right-to-left override; ours 400",
}


def request(base, method, path, headers=None, body=None):
    """(status, media type, body bytes) of one request, the path sent exactly as given."""
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    h = {"Authorization": AUTH_HDR}  # Spring without Spring Security ignores it
    h.update(headers or {})
    data = body.encode() if isinstance(body, str) else body
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    payload = r.read()
    ctype = (r.getheader("Content-Type") or "").split(";")[0].strip().lower()
    c.close()
    return r.status, ctype, payload


def jload(b, keep_version=False):
    try:
        j = json.loads(b)
    except ValueError:
        return None
    if isinstance(j, dict) and not keep_version:
        j.pop("version", None)
    return j


def subst(resp, pairs):
    """resp with each (old, new) of pairs replaced in its body (a server's own paths)."""
    body = resp[2]
    for old, new in pairs:
        body = body.replace(old, new)
    return resp[0], resp[1], body


class Run:
    def __init__(self):
        self.failed = 0
        self.counts = {"same": 0, "known": 0, "DIFF": 0}
        self.known = dict(KNOWN)

    @staticmethod
    def fetch(base, method, path, headers=None, body=None):
        return request(base, method, path, headers, body)

    def report(self, name, same, detail=""):
        if name in self.known:
            if same:
                self.counts["DIFF"] += 1
                self.failed = 1
                print(f"DIFF   {name}: the documented difference is gone (update README and KNOWN)")
            else:
                self.counts["known"] += 1
                print(f"known  {name}: {self.known[name]}")
            return
        if same:
            self.counts["same"] += 1
            print(f"same   {name}")
        else:
            self.counts["DIFF"] += 1
            self.failed = 1
            print(f"DIFF   {name}")
            for line in detail.splitlines()[:24]:
                print("       " + line)

    def compare(self, name, pair, method, path, headers=None, body=None, mode="auto"):
        """mode: auto (status; for a success also the media type and the body: JSON parsed,
        text byte for byte), status, status+type, crypt (status and the JSON body, for
        Spring's {description, status} errors)."""
        opts = pair[2] if len(pair) > 2 else {}
        keep = opts.get("version", False)
        a = subst(request(pair[0], method, path, headers, body), opts.get("ours_subst", []))
        b = subst(request(pair[1], method, path, headers, body), opts.get("spring_subst", []))
        detail = []
        same = a[0] == b[0]
        if not same:
            detail.append(f"status: ours {a[0]}, spring {b[0]}")
        if mode in ("auto", "status+type", "crypt") and a[0] < 400 and a[1] != b[1]:
            same = False
            detail.append(f"media type: ours {a[1]}, spring {b[1]}")
        if same and (mode == "crypt" or (mode == "auto" and a[0] < 400)):
            if b[1].endswith("json"):
                if jload(a[2], keep) != jload(b[2], keep):
                    same = False
                    detail += json_diff(jload(a[2], keep), jload(b[2], keep))
            elif a[2] != b[2]:
                same = False
                detail += text_diff(a[2], b[2])
        self.report(name, same, "\n".join(detail))
        return a, b


def json_diff(a, b, path=""):
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(dict.fromkeys(list(a) + list(b))):
            if k not in a:
                out.append(f"{path}/{k}: only spring: {json.dumps(b[k])[:200]}")
            elif k not in b:
                out.append(f"{path}/{k}: only ours: {json.dumps(a[k])[:200]}")
            else:
                out += json_diff(a[k], b[k], f"{path}/{k}")
        if not out and list(a) != list(b):
            out.append(f"{path}: key order ours {list(a)[:8]}…, spring {list(b)[:8]}…")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            out += json_diff(x, y, f"{path}[{i}]")
    elif a != b or type(a) is not type(b):
        out.append(f"{path}: ours {json.dumps(a)[:200]}, spring {json.dumps(b)[:200]}")
    return out


def text_diff(a, b):
    al, bl = a.decode("utf-8", "replace").split("\n"), b.decode("utf-8", "replace").split("\n")
    out = []
    for i in range(max(len(al), len(bl))):
        x = al[i] if i < len(al) else "<none>"
        y = bl[i] if i < len(bl) else "<none>"
        if x != y:
            out.append(f"line {i + 1}: ours {x!r}")
            out.append(f"        spring {y!r}")
    return out


# --------------------------------------------------------------------------- the cases

OLD_ENV = ["/billing/default", "/billing/dev", "/billing/dev,prod", "/billing/prod,dev", "/billing/dev,prod/v2",
           "/billing/default/v2", "/billing/dev/master", "/application/dev", "/legacy/default"]
OLD_FLAT = ["/billing-default.yml", "/billing-dev.yml", "/billing-dev,prod.yml", "/billing-dev.properties",
            "/billing-dev,prod.properties", "/billing-dev.json", "/v2/billing-default.properties",
            "/v2/billing-dev.yml", "/master/billing-prod.yaml", "/billing-dev.properties?resolvePlaceholders=false",
            "/legacy-default.properties"]


def value_cases(run, P, prefix=""):
    """The value cases (numbers, strings, .properties, {cipher}) in the JSON, v2 and flat forms,
    on pair P; case names start with `prefix` (the git mode runs them too)."""
    for app in ["numbers", "strings", "props", "props2", "crlf", "latin1", "crypt"]:
        run.compare(f"{prefix}env /{app}/default", P, "GET", f"/{app}/default")
        run.compare(f"{prefix}env v2 /{app}/default", P, "GET", f"/{app}/default", {"Accept": V2})
        for ext in ["yml", "properties", "json"]:
            run.compare(f"{prefix}flat /{app}-default.{ext}", P, "GET", f"/{app}-default.{ext}")


def pair_a_cases(run, A):
    for u in OLD_ENV + OLD_FLAT:
        run.compare(f"compat {u}", A, "GET", u)
    value_cases(run, A)
    for u in ["/props/dev", "/props/dev,prod", "/props/prod,dev", "/props2/dev", "/crypt/dev"]:
        run.compare(f"env {u}", A, "GET", u)
    for u in ["/props-dev.properties", "/props-dev,prod.yml", "/props2-dev.yml", "/numbers-default.properties?resolvePlaceholders=false"]:
        run.compare(f"flat {u}", A, "GET", u)
    # an application with no files of its own gets application*.yml
    for u in ["/nosuchapp/default", "/nosuchapp/dev", "/nosuchapp-dev.yml", "/nosuchapp-default.properties"]:
        run.compare(f"unknown app {u}", A, "GET", u)
    # several applications
    for u in ["/alpha,beta/default", "/alpha,beta/dev", "/alpha,beta/dev,prod", "/beta,alpha/dev",
              "/alpha,application/default", "/application,alpha/default", "/alpha,nosuch,beta/prod",
              "/alpha,beta-dev.yml", "/beta,alpha-dev,prod.properties", "/alpha,beta-default.json"]:
        run.compare(f"apps {u}", A, "GET", u)
    run.compare("app list with empty item", A, "GET", "/alpha,/default", mode="status")
    # keys in brackets: flattened as Spring's YAML processor does (no dot before "[")
    for u in ["/brk/default", "/brk-default.properties"]:
        run.compare(f"brackets {u}", A, "GET", u)
    for u in ["/brk-default.yml", "/brk-default.json"]:
        run.compare(f"brackets {u}", A, "GET", u, mode="status")
    # non-ASCII application names (UTF-8, percent-encoded), alone, in a list, flat, with a label
    for u in ["/caf%C3%A9/default", "/caf%C3%A9-default.yml", "/caf%C3%A9-default.properties", "/caf%C3%A9,alpha/dev",
              "/caf%C3%A9/default/release(_)1.0", "/%E9%A1%A7%E5%AE%A2/default"]:
        run.compare(f"non-ASCII {u}", A, "GET", u)
    run.compare("app with bidi override", A, "GET", "/a%E2%80%AEb/default", mode="status")
    # labels with a slash
    for u in ["/alpha/default/release(_)1.0", "/alpha/default/release%28_%291.0", "/release(_)1.0/alpha-default.yml",
              "/alpha,beta/dev/release(_)1.0"]:
        run.compare(f"label {u}", A, "GET", u)
    run.compare("label %2F", A, "GET", "/alpha/default/release%2F1.0", mode="status")
    run.compare("label (_) first", A, "GET", "/alpha/default/(_)etc", mode="status")
    run.compare("label a(_)(_)b", A, "GET", "/alpha/default/a(_)(_)b", mode="status")
    run.compare("env unknown label", A, "GET", "/alpha/default/nolabel", mode="status")
    # placeholder cycles: the JSON form passes them through, the flat forms are 400
    run.compare("cycle env", A, "GET", "/cyc/default")
    for u in ["/cyc-default.yml", "/cyc-default.properties", "/selfref-default.yml", "/selfref-default.json"]:
        run.compare(f"cycle {u}", A, "GET", u, mode="status")
    run.compare("cycle unresolved off", A, "GET", "/cyc-default.yml?resolvePlaceholders=false")
    # trailing slashes and empty segments
    for u in ["/billing/default/", "/billing/", "/billing-default.yml/", "//default", "/billing//default",
              "/billing/default//", "/", "/billing"]:
        run.compare(f"slash {u}", A, "GET", u, mode="status")
    # content negotiation of the JSON Environment
    for acc in ["text/html", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/xml",
                "text/plain", "*/*", "application/json", V2, f"application/json, {V2}", f"{V2}, application/json",
                f"application/json;q=0.5, {V2}", "application/*"]:
        run.compare(f"accept {acc}", A, "GET", "/billing/dev", {"Accept": acc}, mode="status+type")
    for u in ["/billing-dev.yml", "/billing-dev.json", "/billing-dev.properties"]:
        run.compare(f"accept text/html {u}", A, "GET", u, {"Accept": "text/html"}, mode="status+type")
    run.compare("method POST env", A, "POST", "/billing/dev", {"Content-Type": "text/plain"}, "x", mode="status")
    # encryption endpoints
    run.compare("encrypt/status", A, "GET", "/encrypt/status", mode="crypt")
    run.compare("key", A, "GET", "/key", mode="crypt")
    run.compare("key/app/dev", A, "GET", "/key/app/dev", mode="crypt")
    run.compare("encrypt as app", A, "GET", "/encrypt/default")
    for body, name in [("zzzz", "not hex"), ("deadbeef0123456789abcdef0123456789abcdef0123456789abcdef01234567", "wrong key"),
                       ("{cipher}ced8f183bcdfbde9deb1c5d0167db4fdb04820db067714a91dd92ef11d65c7f4", "with {cipher}"),
                       ("abc", "odd length")]:
        run.compare(f"decrypt {name}", A, "POST", "/decrypt", {"Content-Type": "text/plain"}, body, mode="crypt")
    run.compare("decrypt too short", A, "POST", "/decrypt", {"Content-Type": "text/plain"}, "abcd", mode="status")
    run.compare("encrypt empty body", A, "POST", "/encrypt", {"Content-Type": "text/plain"}, "", mode="status")
    interop(run, A)


PLAINS = ["hello", "db-secret", "ünïcode ☃ 😀", "0123456789abcdef", "with spaces and = signs=", "a+b%21&c=d",
          "{key:foo}prefixed secret", "{plain}{a:b}literal", "{cipher}x", "x" * 300]


def interop(run, A):
    """Spring encrypts → we decrypt, and the other way round, for each plain text and the
    content types clients use (curl -d sends a form)."""
    for ctype in ["text/plain", "text/plain;charset=UTF-8", FORM]:
        for p in PLAINS:
            if ctype == FORM and any(ch in p for ch in "&=+%"):
                continue  # a form body is form syntax; Spring's answer for these is covered as text
            label = f"{p[:24]}{'…' if len(p) > 24 else ''} ({ctype})"
            s_enc = request(A[1], "POST", "/encrypt", {"Content-Type": ctype}, p)
            o_enc = request(A[0], "POST", "/encrypt", {"Content-Type": ctype}, p)
            ok = s_enc[0] == 200 and o_enc[0] == 200
            det = [f"encrypt: ours {o_enc[0]} {o_enc[2][:80]!r}, spring {s_enc[0]} {s_enc[2][:80]!r}"]
            if ok:
                o_dec = request(A[0], "POST", "/decrypt", {"Content-Type": ctype}, s_enc[2])
                s_dec = request(A[1], "POST", "/decrypt", {"Content-Type": ctype}, o_enc[2])
                s_self = request(A[1], "POST", "/decrypt", {"Content-Type": ctype}, s_enc[2])
                # what Spring makes of its own round trip is the reference (a form loses a trailing
                # "=", a form whose text starts with a {…} prefix does not decrypt at all)
                ok = (o_dec[0], o_dec[2]) == (s_self[0], s_self[2]) and (s_dec[0], s_dec[2]) == (s_self[0], s_self[2])
                # the prefixes Spring writes in front of the cipher are the same
                ok = ok and s_enc[2].split(b"}")[:-1] == o_enc[2].split(b"}")[:-1]
                det = [f"spring→ours {o_dec[0]} {o_dec[2][:60]!r}", f"ours→spring {s_dec[0]} {s_dec[2][:60]!r}",
                       f"spring→spring {s_self[2][:60]!r}", f"prefix ours {o_enc[2][:40]!r} spring {s_enc[2][:40]!r}"]
            run.report(f"interop {label}", ok, "\n".join(det))


def pair_b_cases(run, B):
    run.compare("B encrypt/status", B, "GET", "/encrypt/status", mode="status")
    run.compare("B encrypt", B, "POST", "/encrypt", {"Content-Type": "text/plain"}, "x", mode="status")
    run.compare("B decrypt", B, "POST", "/decrypt", {"Content-Type": "text/plain"}, "00" * 32, mode="status")
    for u in ["/nosuchapp/default", "/customer-service/default", "/customer-service/local", "/customer-service/test",
              "/customer-service/k8s", "/order-service/test", "/order-service/k8s", "/customer-service-k8s.yml",
              "/order-service-local.properties", "/customer-service,order-service/test"]:
        run.compare(f"B {u}", B, "GET", u)


def boot_client(run, jar, A, B):
    """A real Spring Boot 4 client starts from each server with each profile of the project."""
    cases = []
    for srv, url in [("ours", B[0]), ("spring", B[1])]:
        for app in ["customer-service", "order-service"]:
            for prof in ["default", "local", "test", "k8s"]:
                cases.append(f"{srv}:{app}:{prof}|{url}|{app}|{prof}")
    for srv, url in [("ours", A[0]), ("spring", A[1])]:
        cases.append(f"{srv}:oldlogging:default|{url}|oldlogging|default")
    user, _, pw = AUTH.partition(":")
    env = dict(os.environ, CONFIG_USER=user, CONFIG_PASSWORD=pw)
    out = subprocess.run(["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-jar", jar] + cases, env=env,
                         capture_output=True, text=True, timeout=600)
    if os.environ.get("CS_LOG"):
        with open(os.environ["CS_LOG"], "w") as f:
            f.write(out.stdout + out.stderr)
    res = {}
    for line in out.stdout.splitlines():
        name, _, rest = line.partition(" ")
        # config.client.version: the `version` of the Environment, which Spring's native
        # backend leaves null (documented: ours is the content hash)
        if ":" in name and name.split(":")[0] in ("ours", "spring") and not rest.startswith("config.client.version="):
            res.setdefault(name, []).append(rest)
    for app in ["customer-service", "order-service"]:
        for prof in ["default", "local", "test", "k8s"]:
            o, s = res.get(f"ours:{app}:{prof}", []), res.get(f"spring:{app}:{prof}", [])
            boot = [l for l in o if l.startswith("kafka-config.bootstrap-servers=")]
            o = [l if not l.startswith("OK ") else "OK" for l in o]
            s = [l if not l.startswith("OK ") else "OK" for l in s]
            ok = o == s and len(boot) == 1 and boot[0] != "kafka-config.bootstrap-servers=" and \
                "OK" in o
            detail = [f"ours:   {l}" for l in o if l not in s][:10] + [f"spring: {l}" for l in s if l not in o][:10]
            run.report(f"boot client {app} {prof} ({boot[0] if boot else 'no bootstrap-servers'})", ok,
                       "\n".join(detail) or "\n".join(o[-3:]))
    # the old scalar `logging.level: info` (fixtures/spring/oldlogging.yml) breaks a Boot
    # client, from either server — why config-repo spells it logging.level.root
    o = res.get("ours:oldlogging:default", [])
    s = res.get("spring:oldlogging:default", [])
    ok = len(o) == 1 and len(s) == 1 and o[0].startswith("ERROR") and s[0].startswith("ERROR") and "logging.level" in o[0]
    run.report("boot client breaks on a scalar logging.level (both servers)", ok, f"ours {o[:1]}\nspring {s[:1]}")


def plain_text_cases(run, A):
    """Plain-text files (GET /{app}/{profile}/{label}/{path}) from the fixture's nginx*.conf,
    conf/app.txt and release/1.0/: placeholders from the application's environment (a
    default, one left unresolved), the profile variant, ?useDefaultLabel, a label folder's
    own file and one the root has too, ?resolvePlaceholders=false, not found, traversal."""
    for u in ["/alpha/default/master/nginx.conf", "/alpha/dev/master/nginx.conf",
              "/alpha/default/nginx.conf?useDefaultLabel", "/alpha/dev/nginx.conf?useDefaultLabel",
              "/alpha/default/master/conf/app.txt", "/alpha/default/release(_)1.0/label-only.txt",
              "/alpha/default/master/nginx.conf?resolvePlaceholders=false", "/beta/default/master/nginx.conf"]:
        run.compare(f"text {u}", A, "GET", u)
    run.compare("text label and root both", A, "GET", "/alpha/default/release(_)1.0/nginx.conf")
    run.compare("text not found", A, "GET", "/alpha/default/master/nope.txt", mode="status")
    run.compare("text traversal", A, "GET", "/alpha/default/master/..%2F..%2Fetc%2Fpasswd", mode="status")


def main():
    if len(sys.argv) not in (6, 10):
        print(__doc__, file=sys.stderr)
        return 2
    A = (sys.argv[1], sys.argv[2])
    B = (sys.argv[3], sys.argv[4])
    run = Run()
    if os.environ.get("CS_ONLY") not in ("git", "multi"):
        pair_a_cases(run, A)
        plain_text_cases(run, A)
        pair_b_cases(run, B)
        boot_client(run, sys.argv[5], A, B)
        if os.environ.get("CS_K"):
            import compat_keys  # noqa: PLC0415 (pair K only)
            compat_keys.pair_k_cases(run, tuple(os.environ["CS_K"].split(" ")), os.environ["CS_K_REPO"])
        if os.environ.get("CS_N"):
            import compat_search  # noqa: PLC0415 (pair N only)
            compat_search.pair_n_cases(run, tuple(os.environ["CS_N"].split(" ")))
    if len(sys.argv) == 10:
        import compat_git  # noqa: PLC0415 (git mode only)
        c1, c2 = os.environ["GITFX_C1"], os.environ["GITFX_C2"]
        G = (sys.argv[6], sys.argv[7], {"version": True})
        ob, _, sb = os.environ.get("CS_H_BASEDIRS", ":").partition(":")
        H = (sys.argv[8], sys.argv[9], {"version": True, "ours_subst": [(ob.encode(), b"<basedir>")] if ob else [],
                                        "spring_subst": [(sb.encode(), b"<basedir>")] if sb else []})
        compat_git.pair_g_cases(run, G, c1, c2, OLD_ENV, OLD_FLAT, V2, value_cases)
        compat_git.boot_git(run, sys.argv[5], G, c1)
        compat_git.pair_h_cases(run, H, c1, c2, V2)
        if os.environ.get("CS_H_PUSH_DIR"):
            compat_git.pair_h_pushes(run, H, os.environ["CS_H_PUSH_DIR"], c1)
    if os.environ.get("CS_M"):
        import compat_multi  # noqa: PLC0415 (pair M only)
        compat_multi.pair_m_cases(run, tuple(os.environ["CS_M"].split(" ")) + ({"version": True},), V2)
    c = run.counts
    print(f"{c['same']} same, {c['known']} known (documented) differences, {c['DIFF']} DIFF")
    return run.failed


if __name__ == "__main__":
    sys.exit(main())
