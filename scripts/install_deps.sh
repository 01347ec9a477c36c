#!/usr/bin/env bash
# Installs what building and testing Tessera needs on Debian 12 / Ubuntu 22.04+, skipping
# packages already present. CUDA is optional and never installed here.
set -euo pipefail
pkgs=(cmake ninja-build g++ pkg-config nlohmann-json3-dev libcli11-dev libfmt-dev libpcre2-dev
      libsqlite3-dev libgtest-dev libcurl4-openssl-dev libcpp-httplib-dev python3 python3-pip unzip)
if [[ "${TESSERA_FUZZ:-1}" == 1 ]]; then pkgs+=(clang libclang-rt-dev); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install_deps: installing ${missing[*]}" >&2
  sudo=""; [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  # Debian 12 names the clang runtime libclang-rt-14-dev; newer releases have libclang-rt-dev.
  if ! apt-cache show libclang-rt-dev >/dev/null 2>&1; then
    missing=("${missing[@]/libclang-rt-dev/libclang-rt-14-dev}")
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
