#!/usr/bin/env python3
"""Verify a Floe audit bundle (floe-audit-bundle/v2) without Floe.

An independent verifier, written from docs/eventstore.md ("Audit bundles")
alone, with nothing but the Python 3 standard library: it recomputes every
event's floe-hash, checks each aggregate's hash chain and versions, rebuilds
the RFC 6962 Merkle tree from the leaves the checkpoints carry, checks every
checkpoint's ed25519 signature (a pure-Python RFC 8032 implementation: slow,
but a bundle has few checkpoints) and every event against the leaf signed at
its position. It reports the same problem kinds as `floe audit verify`.

    verify_bundle.py [--public-key FILE] [--json] BUNDLE
    verify_bundle.py --self-test

Without --public-key it trusts the key the bundle carries: compare the
printed key id with the one published out of band. Exit status: 0 when
everything verifies, 1 when something is wrong, 2 when the bundle cannot be
read (or is not v2).
"""

import argparse
import base64
import hashlib
import json
import re
import sys

FORMAT = "floe-audit-bundle/v2"
MAX_PROBLEMS = 100
GENESIS = b"0" * 64

# Headers covered by floe-hash, in the order they are hashed.
HASHED_HEADERS = [
    b"Content-Type", b"ce-id", b"ce-source", b"ce-specversion", b"ce-subject", b"ce-time", b"ce-type",
    b"floe-actor", b"floe-causation-id", b"floe-correlation-id", b"floe-prev-hash", b"floe-version",
    b"traceparent",
]

SUBJECT_RE = re.compile(rb"floe\.evt\.([a-z][a-z0-9_]{0,31})\.([A-Za-z0-9_-]{1,64})\.([A-Za-z][A-Za-z0-9_]{0,127})")
TIME_RE = re.compile(rb"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})")
NOTE_TIME_RE = re.compile(rb"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{0,8}[1-9]))?Z")


class BundleError(Exception):
    """The bundle cannot be read."""


# ---------------------------------------------------------------- ed25519 (RFC 8032, section 5.1)

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if x & 1 != sign:
        x = P - x
    return x


def _point_add(a, b):  # extended homogeneous coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z
    ea = (a[1] - a[0]) * (b[1] - b[0]) % P
    eb = (a[1] + a[0]) * (b[1] + b[0]) % P
    ec = 2 * a[3] * b[3] * D % P
    ed = 2 * a[2] * b[2] % P
    e, f, g, h = eb - ea, ed - ec, ed + ec, eb + ea
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _point_mul(s, pt):
    q = (0, 1, 1, 0)  # the neutral element
    while s > 0:
        if s & 1:
            q = _point_add(q, pt)
        pt = _point_add(pt, pt)
        s >>= 1
    return q


def _point_equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _point_decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
BASE = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public, msg, sig):
    """RFC 8032 Ed25519 (pure, no context) verification: [S]B = R + [k]A."""
    if len(public) != 32 or len(sig) != 64:
        return False
    a = _point_decompress(public)
    r = _point_decompress(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if a is None or r is None or s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(sig[:32] + public + msg).digest(), "little") % L
    return _point_equal(_point_mul(s, BASE), _point_add(r, _point_mul(k, a)))


# ---------------------------------------------------------------- hashes and the Merkle tree


def key_id(public):
    return hashlib.sha256(public).hexdigest()[:16]


def event_hash(subject, headers, body):
    """floe-hash: hex SHA-256 of the documented preimage."""
    pre = b"floe-event-v1\nsubject:" + subject + b"\n"
    for name in HASHED_HEADERS:
        pre += name + b":" + first(headers, name) + b"\n"
    pre += str(len(body)).encode() + b"\n" + body
    return hashlib.sha256(pre).hexdigest().encode()


def leaf_hash(seq, floe_hash_hex):
    """RFC 6962 leaf of the event at position seq: SHA-256(0x00 || seq (8 bytes, big-endian) || floe-hash bytes)."""
    return hashlib.sha256(b"\x00" + seq.to_bytes(8, "big") + bytes.fromhex(floe_hash_hex.decode())).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


class Tree:
    """An RFC 6962 Merkle tree kept as the roots of its perfect subtrees."""

    def __init__(self, stack=None, size=0):
        self.stack = list(stack or [])  # (height, hash), left to right, strictly decreasing heights
        self.size = size

    def copy(self):
        return Tree(self.stack, self.size)

    def append(self, leaf):
        h, node = 0, leaf
        while self.stack and self.stack[-1][0] == h:
            _, left = self.stack.pop()
            node = node_hash(left, node)
            h += 1
        self.stack.append((h, node))
        self.size += 1

    def root(self):
        if not self.stack:
            return hashlib.sha256(b"").digest()
        r = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            r = node_hash(left, r)
        return r


def mth(leaves):
    """RFC 6962 section 2.1, as written: the reference the Tree is checked against."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


# ---------------------------------------------------------------- reading a bundle


def b64(value, what):
    if not isinstance(value, str):
        raise BundleError(f"{what}: not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as e:
        raise BundleError(f"{what}: {e}") from None


def uint(value, what):
    if type(value) is not int or not 0 <= value < 2**64:
        raise BundleError(f"{what}: not an unsigned 64-bit integer")
    return value


def string_or_b64(rec, name, what):
    """A value carried as a JSON string (UTF-8) or, when it is not valid UTF-8, as base64 in name_b64."""
    has_s, has_b = name in rec, name + "_b64" in rec
    if has_s == has_b:
        raise BundleError(f"{what}: exactly one of {name} and {name}_b64 is required")
    if has_b:
        return b64(rec[name + "_b64"], f"{what} {name}_b64")
    if not isinstance(rec[name], str):
        raise BundleError(f"{what}: {name} is not a string")
    return rec[name].encode("utf-8", "surrogatepass")


def _not_json(constant):
    raise BundleError(f"{constant} is not JSON")


def json_values(text):
    """Every JSON value of text: a bundle is a stream of objects, one a line or pretty-printed."""
    dec = json.JSONDecoder(parse_constant=_not_json)
    ws = re.compile(r"[ \t\n\r]*")
    i = ws.match(text, 0).end()
    n = 0
    while i < len(text):
        n += 1
        try:
            value, i = dec.raw_decode(text, i)
        except json.JSONDecodeError as e:
            raise BundleError(f"record {n}: {e}") from None
        yield n, value
        i = ws.match(text, i).end()


def parse_note(note):
    """The signed checkpoint text: origin, size, base64 root, time; each line ends in a newline."""
    lines = note.split(b"\n")
    if len(lines) != 5 or lines[4] != b"":
        raise BundleError("checkpoint note: not four lines each ending in a newline")
    origin, size, root, when = lines[:4]
    if not re.fullmatch(rb"0|[1-9][0-9]*", size) or int(size) >= 2**64:
        raise BundleError(f"checkpoint note: size {size!r} is not a canonical decimal")
    try:
        root_bytes = base64.b64decode(root, validate=True)
    except ValueError as e:
        raise BundleError(f"checkpoint note: root: {e}") from None
    if len(root_bytes) != 32 or base64.b64encode(root_bytes) != root:
        raise BundleError("checkpoint note: root is not the base64 of 32 bytes")
    m = NOTE_TIME_RE.fullmatch(when)
    if not m:
        raise BundleError(f"checkpoint note: time {when!r} is not RFC 3339 in UTC with trimmed nanoseconds")
    t = tuple(int(x) for x in m.groups()[:6]) + (int((m.group(7) or b"").ljust(9, b"0")),)
    if not valid_datetime(*t[:6]):
        raise BundleError(f"checkpoint note: time {when!r} is not a valid time")
    return origin, int(size), root_bytes, t


def valid_datetime(year, month, day, hour, minute, second):
    if not 1 <= month <= 12 or hour > 23 or minute > 59 or second > 59 or day < 1:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]


class Checkpoint:
    def __init__(self, rec, n):
        what = f"record {n} (checkpoint)"
        self.note = string_or_b64(rec, "note", what)
        self.origin, self.size, self.root, self.time = parse_note(self.note)
        self.signature = b64(rec.get("signature_b64"), f"{what} signature_b64")
        self.key_id = rec.get("key_id")
        self.frm = uint(rec.get("from"), f"{what} from")
        leaves = b64(rec.get("leaves_b64"), f"{what} leaves_b64")
        if len(leaves) % 32 or self.frm > self.size or self.size - self.frm != len(leaves) // 32:
            raise BundleError(f"{what}: its leaves are not exactly those of positions {self.frm}..{self.size - 1}")
        self.leaves = [leaves[i:i + 32] for i in range(0, len(leaves), 32)]


class Event:
    def __init__(self, rec, n):
        what = f"record {n} (event)"
        self.seq = uint(rec.get("seq"), f"{what} seq")
        self.subject = string_or_b64(rec, "subject", what)
        if "data_b64" not in rec:
            raise BundleError(f"{what}: no data_b64")
        self.data = b64(rec["data_b64"], f"{what} data_b64")
        self.headers = {}  # name (bytes) -> values (bytes)
        for field, decode in (("headers", lambda s: s.encode("utf-8", "surrogatepass")), ("headers_b64", lambda s: b64(s, what + " headers_b64"))):
            group = rec.get(field) or {}
            if not isinstance(group, dict):
                raise BundleError(f"{what}: {field} is not an object")
            for name, values in group.items():
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    raise BundleError(f"{what}: {field}[{name!r}] is not an array of strings")
                key = decode(name)
                if key in self.headers:
                    raise BundleError(f"{what}: header {key!r} appears twice")
                if values:  # a name without values is an absent header
                    self.headers[key] = [decode(v) for v in values]


class Bundle:
    def __init__(self, text):
        self.checkpoints, self.events = [], []
        header = None
        for n, rec in json_values(text):
            if not isinstance(rec, dict):
                raise BundleError(f"record {n}: not an object")
            kind = rec.get("kind")
            if n == 1:
                if kind == "header" and rec.get("format") == "floe-audit-bundle/v1":
                    raise BundleError("a floe-audit-bundle/v1 bundle: v1 embeds event bodies as JSON, hashed as the file "
                                      "spells them; verify it with `floe audit verify --bundle`, or export it again (v2)")
                if kind != "header" or rec.get("format") != FORMAT:
                    raise BundleError(f"record 1: not a {FORMAT} header (format {rec.get('format')!r})")
                header = rec
            elif kind == "checkpoint":
                self.checkpoints.append(Checkpoint(rec, n))
            elif kind == "event":
                self.events.append(Event(rec, n))
            elif kind == "header":
                raise BundleError(f"record {n}: a second header")
            else:
                raise BundleError(f"record {n}: unknown kind {kind!r}")
        if header is None:
            raise BundleError("bundle is empty")
        self.public_key = b64(header.get("public_key_b64"), "header public_key_b64")
        if len(self.public_key) != 32:
            raise BundleError("header: public_key_b64 is not an ed25519 public key")
        if header.get("key_id") != key_id(self.public_key):
            raise BundleError(f"header: key_id {header.get('key_id')!r} is not the id of its public key")
        self.frm = uint(header.get("from"), "header from")
        self.to = uint(header.get("to"), "header to")


# ---------------------------------------------------------------- verification


class Report:
    def __init__(self, kid):
        self.key_id = kid
        self.events = self.first_seq = self.last_seq = self.aggregates = 0
        self.checkpoints = self.signed_size = self.unsigned_events = self.more_problems = 0
        self.problems = []

    def add(self, seq, subject, kind, detail):
        if len(self.problems) >= MAX_PROBLEMS:
            self.more_problems += 1
            return
        self.problems.append({"seq": seq, "subject": subject.decode("utf-8", "replace"), "kind": kind, "detail": detail})

    def ok(self):
        return not self.problems


def first(headers, name):
    values = headers.get(name)
    return values[0] if values else b""


def verify_checkpoints(cps, pub, rep):
    """The signed leaves of the longest prefix of checkpoints that verifies."""
    tree, leaves = Tree(), []
    last_time = cps[0].time if cps else None
    for i, cp in enumerate(cps):
        where = f"checkpoint #{i + 1} (size {cp.size})"
        if cp.key_id != key_id(pub):
            rep.add(0, b"", "checkpoint", f"{where}: signed by key {cp.key_id}, not the trusted key {key_id(pub)}")
            break
        if not ed25519_verify(pub, cp.note, cp.signature):
            rep.add(0, b"", "checkpoint", f"{where}: signature does not verify")
            break
        if cp.origin and cp.origin != cps[0].origin:
            rep.add(0, b"", "checkpoint", f"{where}: origin {cp.origin!r} differs from {cps[0].origin!r}")
            break
        if cp.frm != tree.size:
            rep.add(0, b"", "checkpoint", f"{where}: starts at leaf {cp.frm} but the previous checkpoint ended at {tree.size}")
            break
        if cp.time < last_time:
            rep.add(0, b"", "checkpoint", f"{where}: is older than the checkpoint before it")
            break
        last_time = cp.time
        nxt = tree.copy()
        for leaf in cp.leaves:
            nxt.append(leaf)
        if nxt.root() != cp.root:
            rep.add(0, b"", "checkpoint", f"{where}: its leaves do not produce its signed root")
            break
        tree = nxt
        leaves.extend(cp.leaves)
        rep.checkpoints += 1
    return leaves


def decode_event(ev):
    """The envelope fields the checks need, or a reason the event is malformed."""
    m = SUBJECT_RE.fullmatch(ev.subject)
    if not m:
        return None, f"subject {ev.subject!r} is not floe.evt.<aggregate>.<id>.<EventName>"
    version = first(ev.headers, b"floe-version")
    if not re.fullmatch(rb"[0-9]+", version) or not 0 < int(version) < 2**64:
        return None, f"bad floe-version header {version!r}"
    t = TIME_RE.fullmatch(first(ev.headers, b"ce-time"))
    if not t or not valid_datetime(*(int(x) for x in t.groups()[:6])):
        return None, "bad ce-time header"
    for name in (b"ce-id", b"ce-type", b"floe-hash", b"floe-prev-hash"):
        if not first(ev.headers, name):
            return None, "missing ce-id, ce-type, floe-hash or floe-prev-hash header"
    return {"aggregate": m.group(1) + b"." + m.group(2), "version": int(version),
            "hash": first(ev.headers, b"floe-hash"), "prev": first(ev.headers, b"floe-prev-hash")}, None


def check_event(ev, chains, signed, whole_log, rep):
    e, why = decode_event(ev)
    if e is None:
        rep.add(ev.seq, ev.subject, "malformed", why)
        return
    computed = event_hash(ev.subject, ev.headers, ev.data)
    if computed != e["hash"]:
        rep.add(ev.seq, ev.subject, "edited", "content does not match its floe-hash")
    prev = chains.get(e["aggregate"])
    if prev is None and e["version"] == 1 and e["prev"] != GENESIS:
        rep.add(ev.seq, ev.subject, "chain", "first event of its aggregate does not start from the genesis hash")
    elif prev is None and e["version"] > 1 and whole_log:
        rep.add(ev.seq, ev.subject, "chain", f"aggregate starts at version {e['version']}: its earlier events are missing")
    elif prev is not None and e["version"] != prev[0] + 1:
        rep.add(ev.seq, ev.subject, "chain", f"version {e['version']} follows version {prev[0]} of the same aggregate")
    elif prev is not None and e["prev"] != prev[1]:
        rep.add(ev.seq, ev.subject, "chain", "floe-prev-hash does not match the previous event of its aggregate")
    chains[e["aggregate"]] = (e["version"], e["hash"])
    if 1 <= ev.seq <= len(signed) and leaf_hash(ev.seq, computed) != signed[ev.seq - 1]:
        rep.add(ev.seq, ev.subject, "rewritten", "differs from the event a signed checkpoint covers at this position")


def verify(bundle, pub):
    rep = Report(key_id(pub))
    signed = verify_checkpoints(bundle.checkpoints, pub, rep)
    rep.signed_size = len(signed)
    frm, to = max(bundle.frm, 1), bundle.to
    chains, nxt = {}, frm
    for ev in bundle.events:
        if ev.seq < frm or to > 0 and ev.seq > to:
            continue
        if ev.seq > nxt:
            rep.add(nxt, b"", "missing", f"positions {nxt}..{ev.seq - 1} are missing from the log (deleted)")
        elif ev.seq < nxt:
            rep.add(ev.seq, ev.subject, "malformed", f"position {ev.seq} appears out of order after {nxt - 1}")
        nxt = ev.seq + 1
        rep.events += 1
        rep.first_seq = rep.first_seq or ev.seq
        rep.last_seq = ev.seq
        check_event(ev, chains, signed, frm == 1, rep)
    rep.aggregates = len(chains)
    end = nxt - 1
    if to > 0 and end < to:
        rep.add(end + 1, b"", "truncated", f"the source should hold positions up to {to} but ends at {end}")
    elif to == 0 and end < rep.signed_size:
        rep.add(end + 1, b"", "truncated", f"a checkpoint signed {rep.signed_size} events but the log ends at position {end}")
    if end > rep.signed_size:
        rep.unsigned_events = end - max(rep.signed_size, frm - 1)
    rep.problems.sort(key=lambda p: p["seq"])  # stable, like the Go verifier's
    return rep


# ---------------------------------------------------------------- command line


def read_public_key(path):
    data = open(path, "rb").read()
    m = re.search(rb"-----BEGIN PUBLIC KEY-----(.*?)-----END PUBLIC KEY-----", data, re.S)
    try:
        if m:
            der = base64.b64decode(b"".join(m.group(1).split()), validate=True)
            prefix = bytes.fromhex("302a300506032b6570032100")  # SubjectPublicKeyInfo, id-Ed25519
            if len(der) == 44 and der.startswith(prefix):
                return der[12:]
        else:
            raw = base64.b64decode(data.strip(), validate=True)
            if len(raw) == 32:
                return raw
    except ValueError:
        pass
    raise BundleError(f"{path}: not a PEM (PKIX) or base64 ed25519 public key")


def self_test():
    # RFC 8032 section 7.1, tests 1-3 (public key, message, signature).
    vectors = [
        ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ]
    for pub, msg, sig in vectors:
        pub, msg, sig = bytes.fromhex(pub), bytes.fromhex(msg), bytes.fromhex(sig)
        assert ed25519_verify(pub, msg, sig), "an RFC 8032 test vector does not verify"
        assert not ed25519_verify(pub, msg + b"x", sig), "a signature verifies another message"
        bad = bytearray(sig)
        bad[40] ^= 1
        assert not ed25519_verify(pub, msg, bytes(bad)), "a changed signature verifies"
    # docs/eventstore.md: the floe-hash of TestComputeHashGolden's event.
    h = {b"ce-specversion": [b"1.0"], b"ce-id": [b"01932c07-0000-7000-8000-000000000001"], b"ce-source": [b"floe/release"],
         b"ce-type": [b"floe.release.v1.ReleaseCreated"], b"ce-subject": [b"r1"], b"ce-time": [b"2026-11-25T12:00:00Z"],
         b"Content-Type": [b"application/json"], b"floe-actor": [b"alice"], b"floe-version": [b"1"],
         b"floe-prev-hash": [GENESIS], b"Nats-Batch-Id": [b"ignored"]}
    got = event_hash(b"floe.evt.release.r1.ReleaseCreated", h, b'{"version":"1.0.0"}')
    assert got == b"ed110bf68621fc10e481c62dbec76e95b33baffced5e3c60647b0cc97ad401e2", got
    # The incremental tree computes RFC 6962's MTH at every size.
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(40)]
    t = Tree()
    assert t.root() == mth([])
    for i, leaf in enumerate(leaves):
        t.append(leaf)
        assert t.root() == mth(leaves[:i + 1]), f"tree root differs from MTH at size {i + 1}"
    print("self-test OK: RFC 8032 vectors, the floe-hash golden value, RFC 6962 roots")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle", nargs="?", help="the bundle file ('-' for stdin)")
    ap.add_argument("--public-key", help="trusted public key, PEM or base64 (default: the bundle's own)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--self-test", action="store_true", help="check the implementation against known values")
    args = ap.parse_args(argv)
    if args.self_test:
        self_test()
        return 0
    if not args.bundle:
        ap.error("a bundle file is required")
    try:
        raw = sys.stdin.buffer.read() if args.bundle == "-" else open(args.bundle, "rb").read()
        bundle = Bundle(raw.decode("utf-8"))
        pub, key_from = bundle.public_key, "the bundle (compare its key id with the one you trust)"
        if args.public_key:
            pub, key_from = read_public_key(args.public_key), args.public_key
    except (BundleError, OSError, UnicodeDecodeError) as e:
        print(f"verify_bundle: cannot read the bundle: {e}", file=sys.stderr)
        return 2
    rep = verify(bundle, pub)
    if args.json:
        out = {k: getattr(rep, k) for k in ("events", "first_seq", "last_seq", "aggregates", "checkpoints",
                                            "signed_size", "key_id", "problems", "more_problems", "unsigned_events")}
        print(json.dumps(out, indent=2))
    else:
        print(f"events      {rep.events} (positions {rep.first_seq}..{rep.last_seq}) in {rep.aggregates} aggregates")
        print(f"checkpoints {rep.checkpoints} valid, signing {rep.signed_size} events, key {rep.key_id} from {key_from}")
        if rep.unsigned_events:
            print(f"unsigned    {rep.unsigned_events} newer events are checked by hash chain only")
        print("result      " + ("OK: every hash link and checkpoint verifies" if rep.ok() else "FAILED"))
        for p in rep.problems:
            where = f"position {p['seq']} ({p['subject']}): " if p["seq"] else ""
            print(f"  - {where}{p['kind']}: {p['detail']}")
        if rep.more_problems:
            print(f"  ... and {rep.more_problems} more")
    return 0 if rep.ok() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
