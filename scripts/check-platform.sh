#!/usr/bin/env bash
# Exit with a message a person can act on when this system cannot run voicecoach:
# onnxruntime (the voice and the recognizer's command check), Piper and PocketSphinx
# publish wheels for 64-bit systems only (x86-64 and arm64), none for 32-bit ARM.
# Called by scripts/install.sh and scripts/install-pi.sh before they install anything.
set -euo pipefail
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
case "$arch" in
  amd64 | arm64 | x86_64 | aarch64) exit 0 ;;
esac
{
  echo "voicecoach needs a 64-bit system (amd64 or arm64); this one is $arch."
  echo "Its voice and speech recognition (onnxruntime, Piper, PocketSphinx) are built"
  echo "for 64-bit systems only."
  case "$arch" in
    armhf | armel | arm*)
      echo "On a Raspberry Pi 3, 4, 5 or Zero 2 W: write Raspberry Pi OS (64-bit) to the"
      echo "SD card with Raspberry Pi Imager, then run this script again." ;;
  esac
} >&2
exit 3
