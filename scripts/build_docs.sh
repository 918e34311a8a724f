#!/usr/bin/env bash
# Builds the documentation site with MkDocs (mkdocstrings renders the API reference from
# the docstrings), treating every warning as an error. Installs nothing: run
# `pip install -e ".[docs]"` first.
#   bash scripts/build_docs.sh [output dir]     (default: a fresh temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if ! $PY -c "import mkdocs, mkdocstrings, mkdocstrings_handlers.python" 2>/dev/null; then
  echo "build_docs.sh: mkdocs and mkdocstrings[python] are not installed;" \
       "run: pip install -e \".[docs]\"" >&2
  exit 2
fi

OUT=${1:-$(mktemp -d "${TMPDIR:-/tmp}/funcgrad-docs.XXXXXX")}
$PY -m mkdocs build --strict --config-file mkdocs.yml --site-dir "$OUT"
echo "build_docs.sh: site written to $OUT (open $OUT/index.html)"
