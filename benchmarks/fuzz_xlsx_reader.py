"""Mutate a small batch workbook (bytes of the package and the XML of its parts) and read it as a batch input:
every outcome must be a result or an NtmInputError, never another exception. Not run in CI.

    python benchmarks/fuzz_xlsx_reader.py [N] [SEED]
"""

from __future__ import annotations

import importlib.util
import io
import os
import random
import sys
import tempfile
import time
import traceback
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("mk", os.path.join(ROOT, "examples", "batch", "make_example.py"))
mk = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mk)

TOKENS = [b"<row>", b"</row>", b'<c r="A1">', b"<f>1+</f>", b"<v></v>", b'<mergeCell ref="A1:C9"/>', b't="s"',
          b't="b"', b't="e"', b't="d"', b"<v>1e308</v>", b"<v>-1</v>", b'r="XFD1048576"', b'state="hidden"',
          b'activeTab="7"', b'ref="A1"', b"\xff\xfe", b"&amp;", b"&#0;", b"<![CDATA[x]]>", b'<sheet name="x" sheetId="9" r:id="rId9"/>',
          b's="999"', b'<numFmt numFmtId="164" formatCode="0%"/>', b"<si><t>=HYPERLINK()</t></si>"]


def mutate(rng: random.Random, data: dict[str, bytes]) -> dict[str, bytes]:
    out = dict(data)
    for _ in range(rng.randint(1, 4)):
        name = rng.choice(sorted(out))
        b = bytearray(out[name])
        op = rng.randrange(6)
        if not b:
            continue
        i = rng.randrange(len(b))
        if op == 0:
            b[i] = rng.randrange(256)
        elif op == 1:
            del b[i: i + rng.randint(1, 64)]
        elif op == 2:
            b[i:i] = rng.choice(TOKENS)
        elif op == 3:
            j = rng.randrange(len(b))
            b[i:i] = b[j: j + rng.randint(1, 200)]
        elif op == 4:
            out.pop(name)
            continue
        else:
            b = b[:i]
        out[name] = bytes(b)
    return out


def main(n: int, seed: int) -> int:
    from ntm.batch.run import run_batch
    from ntm.errors import NtmInputError

    rng = random.Random(seed)
    tmp = tempfile.mkdtemp()
    base = os.path.join(tmp, "base.xlsx")
    mk.to_xlsx(mk.table()[:5], base)
    with zipfile.ZipFile(base) as z:
        data = {i: z.read(i) for i in z.namelist()}
    counts = {"ok": 0, "refused": 0, "crash": 0}
    slowest = 0.0
    for k in range(n):
        parts = mutate(rng, data)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, body in parts.items():
                z.writestr(name, body)
        raw = buf.getvalue()
        if rng.random() < 0.1:
            raw = bytearray(raw)
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
            raw = bytes(raw)
        p = os.path.join(tmp, f"m{k % 10}.xlsx")
        with open(p, "wb") as fh:
            fh.write(raw)
        t0 = time.monotonic()
        try:
            run_batch(p, isolate=False)
            counts["ok"] += 1
        except NtmInputError:
            counts["refused"] += 1
        except Exception:  # noqa: BLE001
            counts["crash"] += 1
            keep = os.path.join(tmp, f"crash-{k}.xlsx")
            os.replace(p, keep)
            print("CRASH", keep)
            traceback.print_exc(limit=3)
        slowest = max(slowest, time.monotonic() - t0)
    print(f"{n} workbooks: {counts}, slowest {slowest:.2f} s")
    return 1 if counts["crash"] else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500, int(sys.argv[2]) if len(sys.argv) > 2 else 1))
