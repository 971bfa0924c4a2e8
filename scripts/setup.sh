#!/usr/bin/env bash
# Idempotent set-up of both Python environments.
#   .venv-rasa  Python 3.10: rasa 3.6.21 (which cannot run on 3.11) + jieba
#   .venv       Python 3.11: the project itself, torch CPU, sentence-transformers, faiss, FastAPI
# A stamp file per environment records the hash of what was asked for, so a second
# run with nothing changed costs a few milliseconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
# pip on these machines points at local mirrors that do not carry every package;
# its "Location ... is ignored" chatter is noise, real errors still show.
pip_quiet() { "$@" 2>&1 | grep -v "^WARNING: Location 'file://" || return "${PIPESTATUS[0]}"; }

find_python() {  # find_python 3.10 -> prints an interpreter path for that minor version
  local want=$1 c root
  for c in "python$want" ; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys' >/dev/null 2>&1; then
      if [ "$("$c" -c 'import sys;print("%d.%d"%sys.version_info[:2])')" = "$want" ]; then command -v "$c"; return 0; fi
    fi
  done
  # pyenv keeps interpreters under its root even when its shim refuses to select them
  root=$( (pyenv root 2>/dev/null) || echo "$HOME/.pyenv")
  for c in "$root"/versions/"$want".*/bin/python"$want"; do
    [ -x "$c" ] && { echo "$c"; return 0; }
  done
  for c in /usr/bin/python"$want" /usr/local/bin/python"$want"; do
    [ -x "$c" ] && { echo "$c"; return 0; }
  done
  if command -v uv >/dev/null 2>&1 && c=$(uv python find "$want" 2>/dev/null); then echo "$c"; return 0; fi
  return 1
}

need_python() {
  local want=$1 why=$2 p
  if ! p=$(find_python "$want"); then
    cat >&2 <<MSG
[setup] ERROR: Python $want was not found ($why).
        Looked for python$want on PATH, in \$(pyenv root)/versions/$want.*, /usr/bin and via 'uv python find'.
        Install it, for example:  pyenv install $want   or   uv python install $want   or   apt-get install python$want
MSG
    exit 2
  fi
  echo "$p"
}

# --- .venv-rasa ------------------------------------------------------------
rasa_want=$(hash_of requirements/rasa.txt)
if [ "$(cat .venv-rasa/.stamp 2>/dev/null)" != "$rasa_want" ]; then
  py310=$(need_python 3.10 "Rasa Open Source 3.6 supports Python 3.8-3.10 only")
  log "creating .venv-rasa with $py310 (about 90 s the first time)"
  [ -x .venv-rasa/bin/python ] || "$py310" -m venv .venv-rasa
  pip_quiet .venv-rasa/bin/pip install -q --upgrade pip wheel
  pip_quiet .venv-rasa/bin/pip install -q -r requirements/rasa.txt
  echo "$rasa_want" > .venv-rasa/.stamp
fi

# --- .venv -----------------------------------------------------------------
app_want=$(hash_of requirements/app.txt pyproject.toml)
if [ "$(cat .venv/.stamp 2>/dev/null)" != "$app_want" ]; then
  py311=$(need_python 3.11 "the hub, the KB index and the tests run on Python 3.11")
  log "creating .venv with $py311 (about 2 minutes the first time)"
  [ -x .venv/bin/python ] || "$py311" -m venv .venv
  pip_quiet .venv/bin/pip install -q --upgrade pip
  # torch first and pinned: a bare 'torch' pulled in by sentence-transformers would
  # fetch a multi-GB CUDA build; 2.13.0 is a local CPU wheel on these machines.
  pip_quiet .venv/bin/pip install -q -r requirements/torch.txt
  pip_quiet .venv/bin/pip install -q -r requirements/app.txt -e .
  echo "$app_want" > .venv/.stamp
fi
log "environments ready"
