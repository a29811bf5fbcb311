#!/usr/bin/env python3
"""Runs commands against a fresh ad-store (ctest's example runner).

    with_store.py -- CMD ARGS... [:: CMD ARGS...]...

Starts build/bin/ad-store ($AD_BIN_DIR) on a free loopback port with a
temporary --db, waits until it serves, replaces "{store}" in every argument
with its address, runs the commands one after another (stopping at the first
failure), then stops the store (SIGTERM) and removes the db. Exit status: the
first failing command's, else 0.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.store_process import StoreProcess  # noqa: E402


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    args = argv[argv.index("--") + 1:]
    commands, current = [], []
    for arg in args:
        if arg == "::":
            commands.append(current)
            current = []
        else:
            current.append(arg)
    commands.append(current)
    if any(not c for c in commands):
        print("with_store.py: empty command", file=sys.stderr)
        return 2
    with StoreProcess() as store:
        print(f"with_store: ad-store at {store.address}", flush=True)
        for command in commands:
            command = [a.replace("{store}", store.address) for a in command]
            print("with_store: $ " + " ".join(command), flush=True)
            code = subprocess.call(command)
            if code != 0:
                print(f"with_store: exit status {code}; ad-store log tail:\n"
                      f"{store.log()}", file=sys.stderr)
                return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
