#!/usr/bin/env bash
# Installs the .deb built by build-packages.sh on this (Debian) machine and checks it as an admin
# would: dpkg -i (twice: an upgrade), the installed binaries (version, then the demo: the
# installed rolesanywhere-local runs the installed aws_signing_helper credential-process
# against itself over TLS), `man aws_signing_helper`, bash completion of a flag, the units
# with systemd-analyze verify, the group and the configuration directory, then dpkg -r and
# dpkg -P. The .rpm is checked for its files, scriptlets and requirements with rpm -qp.
# Changes the system: run it as root, in CI or a throwaway machine. (Every check captures its
# command's output before grep reads it: with pipefail, `grep -q` closing a pipe early would fail
# the check.)
#
#   packaging/build-packages.sh --profile dev --no-build && packaging/test-packages.sh
set -euo pipefail
cd "$(dirname "$0")/.."

deb=$(ls target/packages/aws-signing-helper_*.deb | grep -v portable | head -1)
rpm=$(ls target/packages/aws-signing-helper-*.rpm | grep -v portable | head -1)
fail() { echo "test-packages: $*" >&2; exit 1; }
step() { echo "test-packages: $*"; }

step "dpkg -i $deb (twice)"
dpkg -i "$deb" > /dev/null
dpkg -i "$deb" > /dev/null
status=$(dpkg -s aws-signing-helper)
grep -q '^Status: install ok installed' <<<"$status" || fail "not installed"

step "installed binaries"
[ "$(command -v aws_signing_helper)" = /usr/bin/aws_signing_helper ] || fail "not on PATH"
version=$(aws_signing_helper version)
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+\ \(compatible\ with\ aws_signing_helper\ [0-9.]+\)$ ]] ||
    fail "version: $version"
demo=$(mktemp -d)
trap 'rm -rf "$demo"' EXIT
HOME=$demo rolesanywhere-local demo --dir "$demo/ra" > "$demo/out" 2>&1 || { cat "$demo/out"; fail "demo"; }
grep -q '"AccessKeyId":"ASIA' "$demo/out" || { cat "$demo/out"; fail "no credentials from the demo"; }

step "guides"
# The README's links (docs/...) resolve beside it.
for guide in $(grep -o '](docs/[a-z-]*\.md' /usr/share/doc/aws-signing-helper/README.md | sort -u | cut -c3-); do
    [ -s "/usr/share/doc/aws-signing-helper/$guide" ] || fail "$guide, linked from the README, not installed"
done
[ -s /usr/share/doc/aws-signing-helper/docs/getting-started.md ] || fail "no guides installed"

step "man pages"
page=$(MANPAGER=cat MANWIDTH=100 man aws_signing_helper 2> "$demo/man.err" | sed 's/.\x08//g')
[ ! -s "$demo/man.err" ] || { cat "$demo/man.err"; fail "man said something"; }
grep -q 'aws_signing_helper-serve(1)' <<<"$page" || fail "man aws_signing_helper: $page"
page=$(MANPAGER=cat man aws_signing_helper-serve 2>/dev/null | sed 's/.\x08//g')
grep -q -- '--allow-non-loopback' <<<"$page" || fail "man aws_signing_helper-serve: $page"

step "bash completion"
completed=$(bash --norc -c '
    . /usr/share/bash-completion/completions/aws_signing_helper
    COMP_WORDS=(aws_signing_helper serve --hop); COMP_CWORD=2
    COMP_LINE="aws_signing_helper serve --hop"; COMP_POINT=${#COMP_LINE}
    _aws_signing_helper aws_signing_helper --hop serve
    echo "${COMPREPLY[@]}"')
[ "$completed" = "--hop-limit" ] || fail "bash completed '$completed'"

step "systemd units"
units=(aws-signing-helper-serve@ci.service aws-signing-helper-serve@ci.socket aws-signing-helper-update@ci.service)
verified=$(systemd-analyze verify --man=no "${units[@]}" 2>&1) || fail "verify: $verified"
[ -z "$verified" ] || fail "verify: $verified"
getent group aws-signing-helper > /dev/null || fail "no aws-signing-helper group"
[ -d /etc/aws-signing-helper ] || fail "no /etc/aws-signing-helper"

step "dpkg -r, dpkg -P"
dpkg -r aws-signing-helper > /dev/null
[ ! -e /usr/bin/aws_signing_helper ] && [ ! -e /lib/systemd/system/aws-signing-helper-serve@.service ] ||
    fail "files left after dpkg -r"
dpkg -P aws-signing-helper > /dev/null
[ ! -e /etc/aws-signing-helper ] || fail "/etc/aws-signing-helper left after purge"

step "rpm -qp $rpm"
files=$(rpm -qpl "$rpm")
for file in /usr/bin/aws_signing_helper /usr/bin/rolesanywhere-local \
    /usr/share/man/man1/aws_signing_helper.1.gz /usr/share/bash-completion/completions/aws_signing_helper \
    /usr/share/zsh/site-functions/_aws_signing_helper /usr/share/fish/vendor_completions.d/aws_signing_helper.fish \
    /usr/lib/systemd/system/aws-signing-helper-serve@.service /usr/lib/systemd/system/aws-signing-helper-serve@.socket \
    /usr/lib/systemd/system/aws-signing-helper-update@.service /usr/lib/systemd/system/aws-signing-helper-serve-config.service \
    /usr/lib/sysusers.d/aws-signing-helper.conf /usr/share/doc/aws-signing-helper/example-serve.toml \
    /usr/share/licenses/aws-signing-helper/LICENSE /usr/share/doc/aws-signing-helper/README.md \
    /usr/share/doc/aws-signing-helper/docs/getting-started.md /usr/share/doc/aws-signing-helper/docs/reference.md; do
    grep -qx "$file" <<<"$files" || fail "$file not in the rpm"
done
scripts=$(rpm -qp --scripts "$rpm")
grep -q 'systemd-sysusers aws-signing-helper.conf' <<<"$scripts" || fail "rpm scriptlets: $scripts"
requires=$(rpm -qp --requires "$rpm")
grep -q '^libc.so.6(GLIBC_' <<<"$requires" || fail "no glibc requirement in the rpm: $requires"
step "ok"
