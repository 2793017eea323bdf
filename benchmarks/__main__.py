"""Run every benchmark: ``python -m benchmarks`` (add --quick for a short smoke run).

Each one runs the peer and tinygrad_nn in the same run, checks that they compute the same thing,
prints a Markdown table with medians and ratios, and writes results/<name>.json and .md.
"""

import subprocess
import sys

BENCHMARKS = ["benchmarks.scalar", "benchmarks.tensor", "benchmarks.overhead", "benchmarks.per_op",
              "benchmarks.higher_order", "benchmarks.gradcheck_cost", "benchmarks.accuracy",
              "benchmarks.conv", "benchmarks.joins"]


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    for module in BENCHMARKS:
        print(f"==> {module}", flush=True)
        args = ["--quick"] if quick and module in ("benchmarks.scalar", "benchmarks.tensor",
                                                    "benchmarks.per_op", "benchmarks.higher_order",
                                                    "benchmarks.accuracy",
                                                    "benchmarks.conv", "benchmarks.joins") else []
        args += ["--repeats", "2"] if quick and module == "benchmarks.gradcheck_cost" else []
        subprocess.run([sys.executable, "-m", module, *args], check=True)


if __name__ == "__main__":
    main()
