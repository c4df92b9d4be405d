"""The summary table of the standard problems (pasted into benchmarks/README.md).

    for p in benchmarks/problems/*.toml; do fokkerplanck verify $p --out benchmarks/problems/results/$(basename $p .toml); done
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


def main():
    rows = ["| problem | space order | time order | invariants (worst mass drift) | L1 rate fitted / predicted "
            "| Lemma 24 integral / bound | W1 / floor | verdict |", "|" + "---|" * 8]
    for path in sorted((HERE / "results").glob("*/report.json")):
        r = json.loads(path.read_text())
        o, rate, lem, sup = r["orders"], r["rate"], r["lemma24"], r["superposition"]
        inv = "all pass" if all(i["passed"] for i in r["invariants"].values()) else "FAIL: " + ", ".join(
            k for k, i in r["invariants"].items() if not i["passed"])
        rate_txt = (f"{g(rate['measured'], 5)} / {g(rate['predicted'], 5)}" if rate["reached"]
                    else f"not reached ({', '.join(rate.get('reason_codes') or []) or 'no cause seen'}; "
                         f"{g(rate['predicted'], 4)} predicted)")
        rows.append(f"| {r['name']} ({r['divergence']}, {'x'.join(map(str, r['grid']))}, dt {r['dt']}, "
                    f"{r['levels']} levels) | {g(o['space']['value'])} +- {g(o['space']['stderr'], 2)} "
                    f"| {g(o['time']['value'])} +- {g(o['time']['stderr'], 2)} "
                    f"| {inv} ({g(r['invariants']['mass']['worst'], 2)}) | {rate_txt} "
                    f"| {g(lem['measured'])} / {'n/a (c = 0)' if lem.get('note') else g(lem['energy_bound'])} | {g(sup['ratio'])} "
                    f"| {'pass' if r['passed'] else 'FAIL'} |")
    rows.append("")
    rows.append(f"Measured {datetime.date.today().isoformat()}, {os.cpu_count()}-core {platform.machine()}, "
                f"Python {platform.python_version()}, fokkerplanck {json.loads(path.read_text())['version']}.")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
