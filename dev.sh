#!/usr/bin/env bash
# One entry point for a fresh Debian machine (as root, or a user with sudo):
#   ./dev.sh app    install what is missing, then open Latent Studio
#   ./dev.sh test   install what is missing, then lint, check import contracts and types,
#                   and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

# Debian libraries: Qt's xcb platform (icccm and keysyms are the ones its error misnames),
# PortAudio for sounddevice, libsndfile for soundfile, the fonts the bundled models' data come
# from (emoji; Noto and DejaVu letters), and Xvfb for headless screenshots.
DEBS=(python3 python3-venv libportaudio2 libsndfile1 libegl1 libgl1 libfontconfig1
      libdbus-1-3 libglib2.0-0 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0
      libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-randr0
      libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 fonts-noto-color-emoji fonts-noto-core
      fonts-dejavu-core xvfb xauth)

install_debs() {
  local missing=()
  for deb in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$deb")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"
    else echo "dev.sh: please install as root: apt-get install ${missing[*]}" >&2; exit 1; fi
  fi
  echo "dev.sh: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

install_python() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # Reinstall only when the pinned dependencies change.
  local stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
  if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    rm -f .venv/.installed-*
    touch "$stamp"
  fi
}

command -v dpkg-query >/dev/null && install_debs
install_python

case "${1:-app}" in
  app)
    shift || true
    exec .venv/bin/studio "$@"
    ;;
  test)
    shift || true
    export QT_QPA_PLATFORM=offscreen
    echo "== ruff"; .venv/bin/ruff check studio tests benchmarks
    .venv/bin/ruff format --check --quiet studio tests benchmarks
    echo "== import contracts"; .venv/bin/lint-imports
    echo "== mypy"; .venv/bin/mypy
    echo "== pytest"; exec .venv/bin/pytest "$@"
    ;;
  *)
    echo "usage: ./dev.sh app [studio args] | ./dev.sh test [pytest args]" >&2
    exit 2
    ;;
esac
