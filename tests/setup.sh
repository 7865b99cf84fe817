#!/usr/bin/env bash
# Installs what the tests need on a Debian or Ubuntu machine (run as root, or with sudo on PATH):
# the apt packages below, and the Python venv (.venv) with the AWS CLI and boto3 from
# tests/interop/requirements.txt. Idempotent: a second run installs nothing and takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# command → package. OpenSSL's command line is the independent verifier in the tests (never
# linked into the product); the PKCS#11 tests fill SoftHSM2 tokens with OpenSC's pkcs11-tool
# (p11tool for the README's steps); tests start the helper through setsid so that it has no
# terminal to prompt on, and through script to give it one.
need=()
want() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
want openssl openssl
want curl curl
want softhsm2-util softhsm2
want pkcs11-tool opensc
want p11tool gnutls-bin
want setsid util-linux
want script bsdutils
# TPM 2.0 (tests/integration/tpm.rs, `--features tpm`): tss-esapi builds against libtss2-dev through
# pkg-config; the tests run swtpm and make keys with tpm2-tools and the tpm2 OpenSSL provider;
# the swtpm TCTI is loaded at run time from libtss2-tcti-swtpm0.
want swtpm swtpm
want swtpm_setup swtpm-tools
want tpm2_createprimary tpm2-tools
want pkg-config pkg-config
pkg-config --exists tss2-esys 2>/dev/null || need+=(libtss2-dev)
ls /usr/lib/*/libtss2-tcti-swtpm.so.0 >/dev/null 2>&1 || need+=(libtss2-tcti-swtpm0)
ls /usr/lib/*/ossl-modules/tpm2.so >/dev/null 2>&1 || need+=(tpm2-openssl)
# The role-chaining tests compute MFA codes with oathtool (the independent TOTP implementation);
# the cache tests watch its lock with util-linux's flock.
want oathtool oathtool
want flock util-linux
# The certmonger test runs the real certmonger on a private D-Bus session bus.
want certmonger certmonger
want dbus-daemon dbus
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
# Packaging (xtask/tests, tests/integration/units.rs, packaging/*.sh): man-db renders the man pages, bash,
# zsh and fish load the completions, systemd-analyze and systemd-socket-activate check the units
# and socket activation without a running systemd, dpkg-shlibdeps computes the .deb's
# dependencies, rpm reads the .rpm, objdump (binutils) reads symbol versions.
want man man-db
want zsh zsh
want fish fish
want systemd-analyze systemd
want systemd-socket-activate systemd
want dpkg-shlibdeps dpkg-dev
want rpm rpm
want objdump binutils
if [ ${#need[@]} -gt 0 ]; then
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${need[@]}"
fi

# Interop tests use real clients from PyPI in a project-local venv, (re)installed whenever
# tests/interop/requirements.txt changes (its hash is stamped into the venv).
stamp="$(sha256sum tests/interop/requirements.txt | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/requirements.sha256 2>/dev/null)" != "$stamp" ]; then
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r tests/interop/requirements.txt
    echo "$stamp" > .venv/requirements.sha256
fi
