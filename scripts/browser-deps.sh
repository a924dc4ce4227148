#!/usr/bin/env bash
# Installs what the console's browser tests need from Debian's packages:
# headless Chromium and a CJK font (so Chinese pages render real glyphs in
# the screenshots). Does nothing when both are present. Needs root (or sudo)
# only when something is missing.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ! fc-list 2>/dev/null | grep -qiE 'Noto Sans CJK|Noto Serif CJK|WenQuanYi'; then
	need+=(fonts-noto-cjk)
fi
if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "browser-deps: need root to install ${need[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
echo "browser-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" fontconfig >&2
