"""compat_keys.py — the RSA key-store cases of bench/config-server/compat.sh (imported by compat.py).

Pair K: both servers with the same PKCS#12 key store (config-server/tests/fixtures/cipher/keys.p12,
password letmein; aliases mytestkey — the default —, rotated, and locked, whose own password is
k3ysecret), Spring through encrypt.key-store.*, ours through --encrypt-key-store; native backend on
an empty folder (CS_K_REPO) into which the environment cases write rsa.yml.
Cases: GET /key and /key/{app}/{profiles}; /encrypt/status; each text encrypted by Spring decrypts
in ours and each of ours decrypts in Spring (both /encrypt and /encrypt/{app}/{profiles}, prefixes
{key:…} and {secret:…}, text and form bodies); the error answers of /decrypt (unknown alias, wrong
secret, another key, tampered, not base64); and an Environment whose {cipher} values were made by
Spring (now, and the fixed vectors of spring-rsa-vectors.tsv) and by ours, served side by side as
JSON, .yml and .properties.
"""
import os
import time

FORM = "application/x-www-form-urlencoded"
TEXT = {"Content-Type": "text/plain"}

# The documented differences (config-server/README.md, "Differences from Spring").
KNOWN_KEYS = {
    "K encrypt unknown alias": "Spring answers 500 when the {key:…} alias is not in the store; ours 400 naming it",
    "K encrypt wrong secret": "Spring answers 500 when the {secret:…} does not open the key; ours 400 naming it",
}

TEXTS = ["hello", "ünïcode ☃ 😀", "x" * 300, "{key:rotated}rotated secret", "{key:ROTATED}alias case",
         "{key:locked}{secret:k3ysecret}locked secret", "{key:mytestkey}named default", "{plain}{a:b}literal"]


def _round_trips(run, K):
    for path in ["", "/app/dev"]:
        for ctype in ["text/plain", FORM]:
            for p in TEXTS:
                if ctype == FORM and p.startswith("{"):
                    continue  # Spring's form handling of a prefixed text is covered by pair A
                label = f"K interop{path} {p[:24]}{'…' if len(p) > 24 else ''} ({ctype})"
                hdr = {"Content-Type": ctype}
                s_enc = run.fetch(K[1], "POST", "/encrypt" + path, hdr, p)
                o_enc = run.fetch(K[0], "POST", "/encrypt" + path, hdr, p)
                ok = s_enc[0] == 200 and o_enc[0] == 200
                det = [f"encrypt: ours {o_enc[0]} {o_enc[2][:80]!r}, spring {s_enc[0]} {s_enc[2][:80]!r}"]
                if ok:
                    o_dec = run.fetch(K[0], "POST", "/decrypt" + path, hdr, s_enc[2])
                    s_dec = run.fetch(K[1], "POST", "/decrypt" + path, hdr, o_enc[2])
                    s_self = run.fetch(K[1], "POST", "/decrypt" + path, hdr, s_enc[2])
                    ok = (o_dec[0], o_dec[2]) == (s_self[0], s_self[2]) == (s_dec[0], s_dec[2]) and s_self[0] == 200
                    ok = ok and s_enc[2].split(b"}")[:-1] == o_enc[2].split(b"}")[:-1]
                    det = [f"spring→ours {o_dec[0]} {o_dec[2][:60]!r}", f"ours→spring {s_dec[0]} {s_dec[2][:60]!r}",
                           f"spring→spring {s_self[2][:60]!r}", f"prefix ours {o_enc[2][:40]!r} spring {s_enc[2][:40]!r}"]
                run.report(label, ok, "\n".join(det))


def _errors(run, K):
    good = run.fetch(K[1], "POST", "/encrypt", TEXT, "tamper me")[2].decode()
    rotated = run.fetch(K[1], "POST", "/encrypt", TEXT, "{key:rotated}r")[2].decode()
    locked = run.fetch(K[1], "POST", "/encrypt", TEXT, "{key:locked}{secret:k3ysecret}l")[2].decode()
    locked_body = locked.split("}")[-1]
    flip = good[:-6] + ("A" if good[-6] != "A" else "B") + good[-5:]
    cases = [("unknown alias", "{key:nosuch}" + good), ("wrong secret", "{key:locked}{secret:nope}" + locked_body),
             ("locked without secret", "{key:locked}" + locked_body), ("another key", "{key:rotated}" + good),
             ("rotated without prefix", rotated.split("}")[-1]), ("tampered", flip), ("truncated", good[:40]),
             ("not base64", "!!notbase64"), ("hex text", "00" * 48), ("empty secret", "{key:locked}{secret:}" + locked_body)]
    for name, body in cases:
        run.compare(f"K decrypt {name}", K, "POST", "/decrypt", TEXT, body, mode="crypt")
    run.compare("K encrypt unknown alias", K, "POST", "/encrypt", TEXT, "{key:nosuch}x", mode="status")
    run.compare("K encrypt wrong secret", K, "POST", "/encrypt", TEXT, "{key:locked}{secret:nope}x", mode="status")


def _vectors():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "config-server", "tests", "fixtures", "cipher", "spring-rsa-vectors.tsv")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            alg, strong, _salt, _text, enc = line.rstrip("\n").split("\t")
            if alg == "DEFAULT" and strong == "false":  # pair K's settings
                out.append(enc)
    return out


def _environment(run, K, repo):
    vals = {}
    for i, p in enumerate(["from spring", "{key:rotated}spring rotated", "{key:locked}{secret:k3ysecret}spring locked"]):
        vals[f"spring{i}"] = "{cipher}" + run.fetch(K[1], "POST", "/encrypt", TEXT, p)[2].decode()
    for i, p in enumerate(["from ours", "{key:rotated}ours rotated", "{key:locked}{secret:k3ysecret}ours locked"]):
        vals[f"ours{i}"] = "{cipher}" + run.fetch(K[0], "POST", "/encrypt", TEXT, p)[2].decode()
    for i, enc in enumerate(_vectors()):
        vals[f"vector{i}"] = "{cipher}" + enc
    vals["bad_alias"] = "{cipher}{key:nosuch}" + vals["spring0"][len("{cipher}"):]
    vals["bad_secret"] = "{cipher}{key:locked}{secret:nope}" + vals["spring2"].split("}")[-1]
    vals["not_base64"] = "{cipher}zz!!"
    with open(os.path.join(repo, "rsa.yml"), "w", encoding="utf-8") as f:
        f.write("plain: p\n")
        for k, v in vals.items():
            f.write(f"{k}: '{v}'\n")
    deadline = time.time() + 15
    while time.time() < deadline and b"vector0" not in run.fetch(K[0], "GET", "/rsa/default")[2]:
        time.sleep(0.1)
    for u in ["/rsa/default", "/rsa-default.yml", "/rsa-default.properties", "/rsa-default.json"]:
        run.compare(f"K env {u}", K, "GET", u)


def pair_k_cases(run, K, repo):
    run.known.update(KNOWN_KEYS)
    run.compare("K key", K, "GET", "/key")
    run.compare("K key/app/dev", K, "GET", "/key/app/dev")
    run.compare("K encrypt/status", K, "GET", "/encrypt/status", mode="crypt")
    _round_trips(run, K)
    _errors(run, K)
    _environment(run, K, repo)
