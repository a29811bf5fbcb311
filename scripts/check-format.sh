#!/usr/bin/env bash
# Fails if clang-format (Google style, .clang-format) would change any C++ file.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.h' '*.cc')
if ((${#files[@]} == 0)); then exit 0; fi
if ! clang-format --dry-run -Werror "${files[@]}"; then
  echo "check-format: run 'clang-format -i' on the files above" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted" >&2
