"""What the export-writing scripts share: Convex's id encoding and the export's fixed README.

Used by Examples/make-demo-export.py and Benchmarks/generate.py (reference: ../shared/reference/
convex-export-and-http.md, Document IDs).
"""
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
README = """# Welcome to your Convex snapshot export!

This ZIP file contains a snapshot of the tables in your Convex deployment.

Documents for each table are listed as lines of JSON in
<table_name>/documents.jsonl files.

For details on the format and how to use this snapshot with npx convex import,
check out [the docs](https://docs.convex.dev/database/import-export/export) or
ask us in [Discord](http://convex.dev/community).
"""


def base32(data: bytes) -> str:
    """Crockford base32, lowercase, big-endian 5-bit groups, no padding."""
    out, buf, bits = [], 0, 0
    for b in data:
        buf = (buf << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append(ALPHABET[(buf >> bits) & 31])
    if bits:
        out.append(ALPHABET[(buf << (5 - bits)) & 31])
    return "".join(out)


def fletcher16(buf: bytes) -> int:
    c0 = c1 = 0
    for b in buf:
        c0 = (c0 + b) & 0xFF
        c1 = (c1 + c0) & 0xFF
    return (c1 << 8) | c0


def vint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def convex_id(table_number: int, internal: bytes) -> str:
    """A valid Convex document id: VInt(table) ++ 16 bytes ++ fletcher16 footer, base32."""
    body = vint(table_number) + internal
    return base32(body + fletcher16(body).to_bytes(2, "little"))
