"""What-if latency: one single-fact scenario on the example commune, each on a fresh engine session.

Target (issue §1): ≤ 10 ms per scenario. `bench_whatif(n)` is what `benchmarks/bench.py` can call.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOSSIER = str(ROOT / "examples" / "xa-thieu-hai-tieu-chi.yaml")
OVERLAY = str(ROOT / "examples" / "overlays" / "tinh-minh-hoa.yaml")


def bench_whatif(n: int = 200, batches: int | None = None) -> dict:
    """Wall time of `whatif(inputs, [scenario])` (baseline + one scenario, each a fresh engine session) as
    `per_call_ms_*`, and the marginal cost of one more scenario (from batches of ten) as `per_scenario_ms`."""
    from ntm.engine.evaluate import gather
    from ntm.engine.outcome import Label
    from ntm.engine.whatif import Scenario, whatif

    inputs = gather(DOSSIER, overlay=OVERLAY)
    values = [60 + (k % 20) for k in range(n)]
    one = [[Scenario(f"s{k}", Label(vi="x", en="x"), {"income_per_capita": v})] for k, v in enumerate(values)]
    ten = [Scenario(f"s{k}", Label(vi="x", en="x"), {"income_per_capita": 60 + k}) for k in range(10)]
    whatif(inputs, one[0])  # warm: compile the ruleset once, as any long-running use would
    calls, cpu = [], []
    for sc in one:
        t0, c0 = time.perf_counter(), time.process_time()
        whatif(inputs, sc)
        calls.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    batches = []
    for _ in range(batches or max(3, n // 20)):
        t0 = time.perf_counter()
        whatif(inputs, ten)
        batches.append((time.perf_counter() - t0) * 1000)
    calls.sort()
    per_scenario = (statistics.median(batches) - statistics.median(calls)) / 9
    return {
        "name": "whatif",
        "n": n,
        "per_call_ms_median": round(statistics.median(calls), 3),
        "per_call_ms_p95": round(calls[int(0.95 * (len(calls) - 1))], 3),
        "per_call_cpu_ms_median": round(statistics.median(cpu), 3),  # less sensitive to a busy machine
        "ten_scenarios_ms_median": round(statistics.median(batches), 3),
        "per_scenario_ms": round(per_scenario, 3),
        "target_ms": 10,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(bench_whatif(), indent=2))
