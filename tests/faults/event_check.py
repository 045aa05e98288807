#!/usr/bin/env python3
"""event_check.py — the fault suite's proof that each event was applied (tests/faults/).

Reads the trio's topic (kcat), its dead-letter topic, and the record of every committed
change of the read model ("order".customers) and of the projection's stored offsets
("order".projection_offsets) that audit.sql's triggers kept, and replays that record
commit by commit. After each commit, for every customer whose row it changed and every
customer with an event the stored offsets moved past, the row must equal the fold of that
customer's events below its partition's new offset (the projection's rule: an event
replaces the row when it has none or a lower version; a tombstone deletes it). So an event
the projection skipped shows at the commit that moved past it even when a later event
supersedes it; an event applied before the offsets reach it, or applied again, shows too.
At the end the replayed state must equal the tables (the record is complete), the offsets
the topic's end, and the dead-letter topic may hold only the reasons allowed.

A self-test on the scenario's own record follows (unless --no-mutations): one change of a
row that a later commit overwrote is removed from a copy of the record (the projection
"skipped" that event, the next one superseded it) and one change is moved into the
commit before; the check must report both. --self-test runs the same on made-up data
(no Kafka, no PostgreSQL).

  event_check.py --bootstrap HOSTS --topic T --pg CONNINFO [--dlq-topic T.DLQ]
                 [--allow-dlq-reason R]... [--no-mutations]
  event_check.py --self-test
Exit 0 when everything holds, 1 otherwise (each violation is printed), 2 on a usage error
or when the topic or the record cannot be read.
"""
import argparse
import bisect
import json
import subprocess
import sys

TOMBSTONE = "tombstone"


class CheckError(Exception):
    """The inputs cannot be read: no verdict."""


# ---------------------------------------------------------------- the topic


def zigzag(buf, pos):
    """An Avro long (zig-zag varint) at pos: (value, next pos)."""
    shift = n = 0
    while True:
        if pos >= len(buf):
            raise ValueError("a number runs past the end")
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return (n >> 1) ^ -(n & 1), pos


def avro_string(buf, pos):
    n, pos = zigzag(buf, pos)
    if n < 0 or pos + n > len(buf):
        raise ValueError("a string runs past the end")
    return buf[pos:pos + n].decode("utf-8"), pos + n


def decode_customer(value):
    """A Confluent-framed CustomerAvroModel (kafka-model/catalog.tsv: schema id 1 or 2) →
    the row it makes: (username, firstName, lastName, version, occurredAt ms or None)."""
    if len(value) < 5 or value[0] != 0:
        raise ValueError("not Confluent wire format")
    schema = int.from_bytes(value[1:5], "big")
    if schema not in (1, 2):
        raise ValueError(f"schema id {schema} is not in the catalog")
    pos = 5
    cid, pos = avro_string(value, pos)
    username, pos = avro_string(value, pos)
    first, pos = avro_string(value, pos)
    last, pos = avro_string(value, pos)
    version, occurred = 1, 0
    if schema == 2:
        version, pos = zigzag(value, pos)
        _event_type, pos = zigzag(value, pos)
        occurred, pos = zigzag(value, pos)
    if pos != len(value):
        raise ValueError("trailing bytes after the record")
    return cid, (username, first, last, version, occurred if occurred > 0 else None)


def read_topic(bootstrap, topic):
    """{partition: [(offset, key, row or TOMBSTONE)]} in offset order, read with kcat."""
    cmd = ["kcat", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
           "-f", "%p %o %K %S\n%k%s\n"]
    res = subprocess.run(cmd, capture_output=True, check=False)
    if res.returncode != 0:
        raise CheckError(f"kcat {topic}: {res.stderr.decode(errors='replace').strip()}")
    out, pos, parts = res.stdout, 0, {}
    while pos < len(out):
        eol = out.index(b"\n", pos)
        p, off, klen, vlen = (int(x) for x in out[pos:eol].split())
        pos = eol + 1
        key = out[pos:pos + max(klen, 0)].decode()
        pos += max(klen, 0)
        value = out[pos:pos + max(vlen, 0)]
        pos += max(vlen, 0) + 1  # the format's closing newline
        if vlen < 0:
            ev = TOMBSTONE
        else:
            try:
                cid, ev = decode_customer(value)
            except ValueError as e:
                raise CheckError(f"{topic} p{p} offset {off}: cannot decode the event: {e}") from e
            if cid != key:
                raise CheckError(f"{topic} p{p} offset {off}: key {key} but customer id {cid}")
        parts.setdefault(p, []).append((off, key, ev))
    for evs in parts.values():
        evs.sort()
    return parts


def read_dlq(bootstrap, topic):
    """The dead-letter topic's records: a list of their headers as dicts."""
    cmd = ["kcat", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-J"]
    res = subprocess.run(cmd, capture_output=True, check=False)
    if res.returncode != 0:
        raise CheckError(f"kcat {topic}: {res.stderr.decode(errors='replace').strip()}")
    recs = []
    for line in res.stdout.decode(errors="replace").splitlines():
        if not line.strip():
            continue
        h = json.loads(line).get("headers") or {}
        if isinstance(h, list):  # kcat versions differ: [name, value, name, value, ...]
            h = dict(zip(h[0::2], h[1::2]))
        recs.append(h)
    return recs


# ---------------------------------------------------------------- the record (audit.sql)


def row_sql(col):
    """A customers row of a jsonb column as a JSON array, or null."""
    return (f"CASE WHEN {col} IS NOT NULL THEN json_build_array({col}->>'username', "
            f"{col}->>'first_name', {col}->>'last_name', ({col}->>'version')::bigint, "
            f"round(extract(epoch FROM ({col}->>'updated_at')::timestamptz) * 1000)::bigint) END")


AUDIT_SQL = f"""
SELECT json_build_array(seq, txid, to_char(at, 'HH24:MI:SS.MS'), tbl, op,
  coalesce(new_row->>'id', old_row->>'id', new_row->>'topic', old_row->>'topic'),
  (coalesce(new_row, old_row)->>'partition')::int,
  {row_sql('old_row')}, {row_sql('new_row')},
  (old_row->>'next_offset')::bigint, (new_row->>'next_offset')::bigint)
FROM faults_audit.changes ORDER BY seq"""

TABLES_SQL = """
SELECT json_build_array('c', id::text, username, first_name, last_name, version,
                        round(extract(epoch FROM updated_at) * 1000)::bigint)
  FROM "order".customers
UNION ALL
SELECT json_build_array('o', topic, partition, next_offset) FROM "order".projection_offsets"""


def psql_json_lines(pg, sql):
    res = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", pg, "-c", sql],
                         capture_output=True, check=False, text=True)
    if res.returncode != 0:
        raise CheckError(f"psql: {res.stderr.strip()}")
    return [json.loads(line) for line in res.stdout.splitlines() if line]


def as_row(a):
    return None if a is None else tuple(a)


def read_audit(pg):
    """The record as a list of changes: dicts with seq, txid, at, tbl, op, key (customer id
    or topic), part, old/new (customers rows) and old_next/new_next (offsets)."""
    changes = []
    for seq, txid, at, tbl, op, key, part, old, new, old_next, new_next in psql_json_lines(pg, AUDIT_SQL):
        changes.append({"seq": seq, "txid": txid, "at": at, "tbl": tbl, "op": op, "key": key,
                        "part": part, "old": as_row(old), "new": as_row(new),
                        "old_next": old_next, "new_next": new_next})
    return changes


def read_tables(pg):
    """The tables now: ({customer id: row}, {(topic, partition): next_offset})."""
    rows, offsets = {}, {}
    for r in psql_json_lines(pg, TABLES_SQL):
        if r[0] == "c":
            rows[r[1]] = tuple(r[2:])
        else:
            offsets[(r[1], r[2])] = r[3]
    return rows, offsets


# ---------------------------------------------------------------- the fold


class Folds:
    """Per customer: its events in offset order and the row after each (the projection's
    rule), so the fold below any offset is one bisection."""

    def __init__(self, parts, dead):
        self.part, self.offs, self.evs, self.states = {}, {}, {}, {}
        self.problems = []
        for p in sorted(parts):
            for off, key, ev in parts[p]:
                if self.part.setdefault(key, p) != p:
                    self.problems.append(f"customer {key} has events on partitions {self.part[key]} and {p}")
                    continue
                state = self.states[key][-1] if key in self.states else None
                if (p, off) not in dead:  # a dead-lettered event changes nothing
                    if ev == TOMBSTONE:
                        state = None
                    elif state is None or state[3] < ev[3]:
                        state = ev
                self.offs.setdefault(key, []).append(off)
                self.evs.setdefault(key, []).append(ev)
                self.states.setdefault(key, []).append(state)

    def below(self, key, upto):
        """The row that the events of key at offsets < upto make (None: no row)."""
        i = bisect.bisect_left(self.offs.get(key, []), upto)
        return self.states[key][i - 1] if i > 0 else None

    def origin(self, key, row):
        """The offset of the first event of key that makes `row`, or None."""
        for off, ev in zip(self.offs.get(key, []), self.evs.get(key, [])):
            if ev == row:
                return off
        return None


def describe(row):
    return "no row" if row is None else f"version {row[3]} ({row[0]}, {row[1]} {row[2]})"


# ---------------------------------------------------------------- the proof


def check(parts, changes, topic, dead, final=None):
    """Replays the record commit by commit against the fold. Returns (violations, stats,
    rows, offsets): the replayed state at the end. final = read_tables() output, checked
    against the replayed state and the topic's end when given."""
    folds = Folds(parts, dead)
    bad = list(folds.problems)
    rows, offsets = {}, {}
    stats = {"commits": 0, "moves": 0, "changes": 0, "moved_past": 0, "keys_checked": 0,
             "overwritten": 0}
    applied = set()  # (customer, version) that some commit wrote

    def note(msg):
        if len(bad) < 1000:
            bad.append(msg)

    # the baseline, then the commits in order (one writer at a time: seq ranges never interleave)
    commits, seen = [], set()
    for c in changes:
        if c["op"] == "B":
            if c["tbl"] == "customers":
                rows[c["key"]] = c["new"]
            else:
                offsets[(c["key"], c["part"])] = c["new_next"]
            continue
        if not commits or commits[-1][0]["txid"] != c["txid"]:
            if c["txid"] in seen:
                note(f"transaction {c['txid']} is interleaved with another writer's (seq {c['seq']}): "
                     f"the commits cannot be ordered")
            seen.add(c["txid"])
            commits.append([])
        commits[-1].append(c)

    for tx in commits:
        where = f"commit of transaction {tx[0]['txid']} at {tx[0]['at']}"
        stats["commits"] += 1
        touched, moved = set(), []
        for c in tx:
            key, op = c["key"], c["op"]
            if op == "T":
                note(f"{where}: TRUNCATE of {c['tbl']}")
                continue
            if c["tbl"] == "customers":
                stats["changes"] += 1
                have = rows.get(key)
                if (op == "I") != (have is None) or (op != "I" and c["old"] != have):
                    note(f"{where}: the record is out of step for customer {key}: "
                         f"{op} of {describe(c['old'])} but the replay has {describe(have)}")
                if op == "U" and c["new"][3] <= c["old"][3]:
                    note(f"{where}: customer {key} rewritten from version {c['old'][3]} to "
                         f"{c['new'][3]} (an event applied again or out of order)")
                if op in ("U", "D"):
                    stats["overwritten"] += 1
                if op == "D":
                    rows.pop(key, None)
                else:
                    rows[key] = c["new"]
                    applied.add((key, c["new"][3]))
                touched.add(key)
            else:
                tp = (key, c["part"])
                have = offsets.get(tp)
                if (op == "I") != (have is None) or (op != "I" and c["old_next"] != have):
                    note(f"{where}: the record is out of step for the offsets of {key}[{c['part']}]")
                if op == "D":
                    note(f"{where}: the stored offset of {key}[{c['part']}] deleted")
                    offsets.pop(tp, None)
                    continue
                new, old = c["new_next"], have or 0
                offsets[tp] = new
                if key != topic:
                    continue
                if new < old:
                    note(f"{where}: the stored offset of partition {c['part']} went back from {old} "
                         f"to {new} (its events would be applied again)")
                elif new > old:
                    moved.append((c["part"], old, new))
        for p, old, new in moved:
            stats["moves"] += 1
            evs = parts.get(p, [])
            lo = bisect.bisect_left(evs, (old,))
            hi = bisect.bisect_left(evs, (new,))
            stats["moved_past"] += hi - lo
            touched.update(key for _, key, _ in evs[lo:hi])
        for key in touched:
            stats["keys_checked"] += 1
            p = folds.part.get(key)
            if p is None:
                note(f"{where}: customer {key} written, but it has no event on the topic")
                continue
            upto = offsets.get((topic, p), 0)
            want, have = folds.below(key, upto), rows.get(key)
            if want == have:
                continue
            origin = folds.origin(key, have) if have is not None else None
            want_at = folds.origin(key, want) if want is not None else None
            if origin is not None and origin >= upto:
                why = f"applied early: the event at offset {origin} is not below the stored offset {upto}"
            elif want is not None and (have is None or have[3] < want[3]):
                why = f"an event not applied: the one at offset {want_at} is below the stored offset {upto}"
            else:
                why = f"the events below the stored offset {upto} do not make this row"
            note(f"{where}: customer {key} (partition {p}) is {describe(have)}, the fold of its "
                 f"events below offset {upto} is {describe(want)} — {why}")

    nevents = sum(len(v) for v in parts.values())
    stats["events"] = nevents
    stats["tombstones"] = sum(1 for v in parts.values() for _, _, e in v if e == TOMBSTONE)
    stats["never_a_row"] = sum(1 for p, v in parts.items() for off, k, e in v
                               if e != TOMBSTONE and (k, e[3]) not in applied and (p, off) not in dead)

    if final is not None:
        t_rows, t_offsets = final
        diff = [k for k in set(rows) | set(t_rows) if rows.get(k) != t_rows.get(k)]
        for k in sorted(diff)[:5]:
            note(f"the end: customer {k} is {describe(t_rows.get(k))} in the table, "
                 f"{describe(rows.get(k))} in the replayed record (a change the triggers missed)")
        if diff:
            note(f"the end: {len(diff)} rows of the table differ from the replayed record")
        if t_offsets != offsets:
            note(f"the end: the stored offsets {sorted(t_offsets.items())} differ from the replayed "
                 f"record's {sorted(offsets.items())}")
        for p, evs in parts.items():
            end = evs[-1][0] + 1
            if offsets.get((topic, p), 0) != end:
                note(f"the end: the stored offset of partition {p} is {offsets.get((topic, p), 0)}, "
                     f"the topic ends at {end}")
            if len(evs) != end - evs[0][0] or evs[0][0] != 0:
                note(f"partition {p} has gaps (offsets {evs[0][0]}..{end - 1}, {len(evs)} records): "
                     f"compacted, the fold cannot be proven")
        for key in folds.part:
            want = folds.below(key, offsets.get((topic, folds.part[key]), 0))
            if rows.get(key) != want:
                note(f"the end: customer {key} is {describe(rows.get(key))}, the fold of the whole "
                     f"topic is {describe(want)}")
        for key in rows:
            if key not in folds.part:
                note(f"the end: customer {key} has a row but no event on the topic")
    return bad, stats, rows, offsets


def dlq_check(recs, topic, allowed):
    """(violations, {(partition, offset)} of the events dead-lettered from topic)."""
    bad, dead = [], set()
    for h in recs:
        reason = h.get("dlq.reason", "?")
        src = (h.get("dlq.source.topic"), h.get("dlq.source.partition"), h.get("dlq.source.offset"))
        if src[0] == topic and src[1] is not None and src[2] is not None:
            dead.add((int(src[1]), int(src[2])))
        if reason not in allowed:
            bad.append(f"dead-lettered: {src[0]}[{src[1]}] offset {src[2]}, reason {reason}: "
                       f"{h.get('dlq.detail', '')}")
    return bad, dead


# ---------------------------------------------------------------- mutations (self-test)


def mutate_skip(changes):
    """A copy of the record in which one UPDATE of a customer that a later commit changes
    again is missing, as if the projection had moved past that event without applying it
    and a later event had then superseded it. → (copy, customer, version) or None."""
    last_tx = {}
    for c in changes:
        if c["tbl"] == "customers" and c["op"] in "IUD":
            last_tx[c["key"]] = c["txid"]
    for i, c in enumerate(changes):
        if (c["tbl"] != "customers" or c["op"] != "U" or last_tx[c["key"]] == c["txid"]):
            continue
        copy = [dict(x) for x in changes]
        nxt = next(j for j in range(i + 1, len(copy)) if copy[j]["tbl"] == "customers"
                   and copy[j]["key"] == c["key"] and copy[j]["txid"] != c["txid"])
        copy[nxt]["old"] = c["old"]  # the later change starts from the row the skip left
        del copy[i]
        return copy, c["key"], c["new"][3]
    return None


def mutate_early(changes):
    """A copy in which one change of a customer is moved into the commit before its own
    (applied before the stored offsets reached its event). → (copy, customer) or None."""
    prev_txid = None
    for i, c in enumerate(changes):
        if c["op"] == "B":
            continue
        if prev_txid is not None and c["txid"] != prev_txid and c["tbl"] == "customers" and c["op"] != "D":
            copy = [dict(x) for x in changes]
            copy[i]["txid"] = prev_txid  # the first change of a commit joins the commit before
            return copy, c["key"]
        if c["txid"] != prev_txid:
            prev_txid = c["txid"]
    return None


def mutations(parts, changes, topic, dead):
    """Runs the check on the two mutated copies; returns (lines, ok)."""
    out, ok = [], True
    m = mutate_skip(changes)
    if m is None:
        out.append("self-test: no row change that a later commit overwrote (nothing to skip)")
    else:
        copy, key, ver = m
        bad = check(parts, copy, topic, dead)[0]
        hit = [b for b in bad if key in b]
        ok &= bool(hit)
        out.append(f"self-test: version {ver} of customer {key} removed from a copy of the record "
                   f"(skipped, then superseded by a later commit): "
                   + (f"caught ({len(bad)} violations; first: {hit[0]})" if hit else "NOT CAUGHT"))
    m = mutate_early(changes)
    if m is not None:
        copy, key = m
        bad = check(parts, copy, topic, dead)[0]
        hit = [b for b in bad if key in b]
        ok &= bool(hit)
        out.append(f"self-test: a change of customer {key} moved into the commit before: "
                   + (f"caught ({hit[0]})" if hit else "NOT CAUGHT"))
    return out, ok


def synthetic():
    """Made-up topic and record for --self-test: 3 customers on one partition, five
    commits of a correct projection (one event superseded within its batch, one across)."""
    a, b, c = "a" * 8, "b" * 8, "c" * 8
    ev = lambda k, v: (k, k, "x", v, 1000 + v)  # noqa: E731
    topic = [(0, a, ev(a, 1)), (1, b, ev(b, 1)), (2, a, ev(a, 2)), (3, a, ev(a, 3)),
             (4, c, ev(c, 1)), (5, b, TOMBSTONE), (6, a, ev(a, 4))]
    parts = {0: topic}
    seq = iter(range(1, 100))
    rec = []

    def tx(txid, rows, upto, old_next):
        for op, k, old, new in rows:
            rec.append({"seq": next(seq), "txid": txid, "at": "00:00:00.000", "tbl": "customers",
                        "op": op, "key": k, "part": None, "old": old, "new": new,
                        "old_next": None, "new_next": None})
        rec.append({"seq": next(seq), "txid": txid, "at": "00:00:00.000", "tbl": "projection_offsets",
                    "op": "I" if old_next is None else "U", "key": "t", "part": 0, "old": None,
                    "new": None, "old_next": old_next, "new_next": upto})

    tx(10, [("I", a, None, ev(a, 1)), ("I", b, None, ev(b, 1))], 2, None)
    tx(11, [("U", a, ev(a, 1), ev(a, 2))], 3, 2)
    tx(12, [("U", a, ev(a, 2), ev(a, 3)), ("I", c, None, ev(c, 1))], 5, 3)  # a:3 superseded later
    tx(13, [("D", b, ev(b, 1), None), ("U", a, ev(a, 3), ev(a, 4))], 7, 5)
    return parts, rec


def self_test():
    parts, rec = synthetic()
    bad = check(parts, rec, "t", set())[0]
    if bad:
        print("self-test: the correct record was rejected:", *bad, sep="\n  ")
        return 1
    lines, ok = mutations(parts, rec, "t", set())
    # a skipped tombstone and offsets that go back are caught too
    gone = [dict(x) for x in rec if x["op"] != "D"]
    bad_tomb = check(parts, gone, "t", set())[0]
    lines.append("self-test: the tombstone's delete removed: " + ("caught" if bad_tomb else "NOT CAUGHT"))
    ok &= bool(bad_tomb)
    back = [dict(x) for x in rec]
    back[-1]["new_next"] = 4
    bad_back = check(parts, back, "t", set())[0]
    lines.append("self-test: the last stored offset set back: " + ("caught" if bad_back else "NOT CAUGHT"))
    ok &= bool(bad_back)
    print(*lines, sep="\n")
    print("event_check self-test:", "1 passed, 0 failed" if ok else "0 passed, 1 failed")
    return 0 if ok else 1


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap")
    ap.add_argument("--topic")
    ap.add_argument("--pg", help="libpq conninfo of the trio's database")
    ap.add_argument("--dlq-topic", help="default: TOPIC.DLQ")
    ap.add_argument("--allow-dlq-reason", action="append", default=[])
    ap.add_argument("--no-mutations", action="store_true")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--prefix", default="event check", help="prefix of every printed line")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not (a.bootstrap and a.topic and a.pg):
        ap.error("--bootstrap, --topic and --pg are required")
    say = lambda *s: print(a.prefix + ":", *s)  # noqa: E731
    try:
        parts = read_topic(a.bootstrap, a.topic)
        dlq_recs = read_dlq(a.bootstrap, a.dlq_topic or a.topic + ".DLQ")
        changes = read_audit(a.pg)
        final = read_tables(a.pg)
    except CheckError as e:
        say(f"cannot check: {e}")
        return 2
    dlq_bad, dead = dlq_check(dlq_recs, a.topic, set(a.allow_dlq_reason))
    bad, st, _, _ = check(parts, changes, a.topic, dead, final)
    bad = dlq_bad + bad
    for b in bad[:20]:
        say("VIOLATION", b)
    if len(bad) > 20:
        say(f"... and {len(bad) - 20} more")
    say(f"{st['events']} events on {len(parts)} partitions ({st['tombstones']} tombstones), "
        f"{len(dlq_recs)} dead-lettered; {st['commits']} projection commits recorded: "
        f"{st['moves']} offset moves past {st['moved_past']} events, {st['changes']} row changes "
        f"({st['overwritten']} rows overwritten or deleted by a later commit; {st['never_a_row']} "
        f"events never a row, superseded within their batch); {st['keys_checked']} rows compared "
        f"with their fold after the commit that moved past or wrote them: {len(bad)} violations")
    ok = not bad
    if not a.no_mutations and ok:
        lines, mok = mutations(parts, changes, a.topic, dead)
        for line in lines:
            say(line)
        ok &= mok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
