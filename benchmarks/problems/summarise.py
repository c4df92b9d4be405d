"""The summary table of the standard problems (pasted into benchmarks/README.md).

    for p in benchmarks/problems/*.toml; do python -m fokkerplanck verify $p --out benchmarks/problems/results/$(basename $p .toml); done
    python benchmarks/problems/summarise.py
"""

import datetime
import json
import os
import platform
from pathlib import Path

HERE = Path(__file__).resolve().parent


def g(v, d=3):
    return "-" if v is None else f"{v:.{d}g}"


def order(o):
    """An order, its finest local order, its status and the levels it was measured on."""
    levels = o.get("levels_used") or []
    where = f"{levels[0]} .. {levels[-1]}" if levels else "?"
    return (f"{g(o['value'])} +- {g(o['stderr'], 2)} (finest pair {g(o.get('local_finest'))}; {where}): "
            f"{o.get('status', 'pass' if o['passed'] else 'FAIL')}")


def main():
    rows = ["| problem | space order (band 2 +- 0.2) | time order (band 1 +- 0.1) | invariants (worst mass drift) "
            "| L1 rate fitted / predicted | Lemma 24 integral / bound | W1 / floor | verdict |", "|" + "---|" * 8]
    for path in sorted((HERE / "results").glob("*/report.json")):
        r = json.loads(path.read_text())
        o, rate, lem, sup = r["orders"], r["rate"], r["lemma24"], r["superposition"]
        inv = "all pass" if all(i["passed"] for i in r["invariants"].values()) else "FAIL: " + ", ".join(
            k for k, i in r["invariants"].items() if not i["passed"])
        rate_txt = (f"{g(rate['measured'], 5)} / {g(rate['predicted'], 5)}" if rate["reached"]
                    else f"not reached ({', '.join(rate.get('reason_codes') or []) or 'no cause seen'}; "
                         f"{g(rate['predicted'], 4)} predicted): inconclusive")
        rows.append(f"| {r['name']} ({r['divergence']}, {'x'.join(map(str, r['grid']))}, dt {r['dt']}, "
                    f"{r['levels']} levels) | {order(o['space'])} | {order(o['time'])} "
                    f"| {inv} ({g(r['invariants']['mass']['worst'], 2)}) | {rate_txt} "
                    f"| {g(lem['measured'])} / {'n/a (c = 0)' if lem.get('note') else g(lem['energy_bound'])} "
                    f"| {g(sup['ratio'])} ({sup['method']} W1) | {r.get('status', 'passed' if r['passed'] else 'failed')} |")
    rows.append("")
    rows.append(f"Measured {datetime.date.today().isoformat()}, {os.cpu_count()}-core {platform.machine()}, "
                f"Python {platform.python_version()}, fokkerplanck {json.loads(path.read_text())['version']}.")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
