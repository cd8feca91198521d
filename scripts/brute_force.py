"""Brute force at a FaceGate door with a real Home Assistant, and print the figures.

    scripts/brute_force.py [--count 10000] [--batch 50]   (run it with the project's venv:
    bash -c 'source scripts/lib/common.sh; in_env python scripts/brute_force.py --count 10000')

It runs tests/test_brute_force.py::test_brute_force_at_a_door (a real hass from the test plugin,
the real store on disk) with the given number of wrong PINs and card UIDs, mixed over the
keypad (lock.unlock), facegate.present_credential and the reader's tag_scanned events, `batch`
at a time. The test asserts zero unlocks, an engaged lockout, a bounded audit log and a
responsive event loop; this script prints what it measured. Exit status: the test's.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/test_brute_force.py::test_brute_force_at_a_door"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="attempts (default 10000)")
    parser.add_argument("--batch", type=int, default=50, help="attempts in flight at once")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "figures.json"
        env = os.environ | {
            "FACEGATE_BRUTE_FORCE_COUNT": str(args.count),
            "FACEGATE_BRUTE_FORCE_BATCH": str(args.batch),
            "FACEGATE_BRUTE_FORCE_REPORT": str(report),
        }
        command = [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:randomly", "--no-cov"]
        result = subprocess.run(command, cwd=ROOT, env=env, check=False, capture_output=True)
        if not report.exists():
            sys.stdout.write(result.stdout.decode(errors="replace")[-4000:])
            sys.stderr.write(result.stderr.decode(errors="replace")[-4000:])
            print("no figures: the test did not get that far", file=sys.stderr)
            return result.returncode or 1
        figures = json.loads(report.read_text("utf-8"))

    print(f"Brute force at one door: {platform.machine()}, {os.cpu_count()} CPUs")
    rows = [
        ("attempts", f"{figures['attempts']} ({figures['batch']} in flight)"),
        ("time", f"{figures['seconds']:.2f} s"),
        ("rate", f"{figures['attempts_per_second']:.0f} attempts/s"),
        ("unlocks", str(figures["unlocks"])),
        ("lockouts started", str(figures["lockouts"])),
        ("attempts heard", f"{figures['heard']} (the rest refused unheard)"),
        ("PINs hashed", str(figures["pins_hashed"])),
        ("locked out for", f"{figures['lockout_remaining_s']:.0f} s more"),
        ("worst loop lag", f"{figures['worst_loop_lag_ms']:.1f} ms"),
        ("p99 loop lag", f"{figures['p99_loop_lag_ms']:.1f} ms"),
        ("audit", f"{figures['audit_records']} records for {figures['audit_attempts']} attempts"),
        ("store file", f"{figures['store_bytes']} bytes"),
    ]
    for name, value in rows:
        print(f"  {name:<17} {value}")
    print(f"  refusals          {json.dumps(figures['refusals'])}")
    verdict = "PASS" if result.returncode == 0 else "FAIL (see the test's output above)"
    if result.returncode:
        sys.stdout.write(result.stdout.decode(errors="replace")[-4000:])
    print(f"test: {verdict}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
