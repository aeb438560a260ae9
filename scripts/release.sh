#!/usr/bin/env bash
# Builds the release tarball: dist/auth-doctor-<version>-linux-<arch>.tar.gz and its .sha256.
#
#   scripts/release.sh [--out DIR] [--scratch-path DIR]     (defaults: dist/, .build-release/)
#
# The binary links the Swift runtime statically (--static-swift-stdlib) and carries its rules; it still
# needs glibc, libcurl (libcurl.so.4) and zlib (libz.so.1) from the system. ISA-L (libisal.so.2) is optional: it
# is loaded at run time when installed (about twice zlib's inflate speed), else zlib reads. The tarball holds
#   bin/auth-doctor
#   share/man/man1/auth-doctor.1                      (swift-argument-parser's generate-manual)
#   share/bash-completion/completions/auth-doctor
#   share/zsh/site-functions/_auth-doctor
#   share/fish/vendor_completions.d/auth-doctor.fish
#   share/doc/auth-doctor/README.md, runbook.md
# under one folder auth-doctor-<version>-linux-<arch>/, so `tar -x --strip-components=1 -C PREFIX` installs it.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/dist"
scratch="$root/.build-release"   # its own: `swift test` holds the lock of .build, and the test suite builds here

while [ $# -gt 0 ]; do
  case "$1" in
    --out|--scratch-path)
      [ $# -ge 2 ] || { echo "release.sh: $1 needs a value (see --help)" >&2; exit 64; } ;;&
    --out) out="$2"; shift 2 ;;
    --scratch-path) scratch="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "release.sh: unknown argument '$1' (see --help)" >&2; exit 64 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"

cd "$root"
started=$SECONDS
stage="$(mktemp -d)"
mandir="$(mktemp -d)"
trap 'rm -rf "$stage" "$mandir"' EXIT

echo "==> release build: swift build -c release --static-swift-stdlib --product auth-doctor"
build=(swift build -c release --static-swift-stdlib --scratch-path "$scratch")
"${build[@]}" --product auth-doctor >&2
bin="$("${build[@]}" --show-bin-path)/auth-doctor"

# The man page comes from swift-argument-parser's generate-manual, the tool behind its `generate-manual`
# plugin, run on the binary just built. The plugin itself (`swift package plugin generate-manual`, which works
# offline) first rebuilds every product in release mode without --static-swift-stdlib: a second full release
# build (9.5 min measured on 2 shared cores) for the same page. Built with the flags above, the tool costs
# only its own module.
echo "==> man page: generate-manual (swift-argument-parser)"
"${build[@]}" --product generate-manual >&2
date="$(date -u -d "@${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}" +%Y-%m-%d)"
"$("${build[@]}" --show-bin-path)/generate-manual" "$bin" --date "$date" --output-directory "$mandir" >&2
manual="$mandir/auth-doctor.1"
[ -s "$manual" ] || { echo "release.sh: generate-manual wrote no auth-doctor.1" >&2; exit 1; }

version="$("$bin" --version | tr -d '[:space:]')"
arch="$(uname -m)"
name="auth-doctor-$version-linux-$arch"

pkg="$stage/$name"
install -d "$pkg/bin" "$pkg/share/man/man1" "$pkg/share/bash-completion/completions" \
  "$pkg/share/zsh/site-functions" "$pkg/share/fish/vendor_completions.d" "$pkg/share/doc/auth-doctor"
install -m 755 "$bin" "$pkg/bin/auth-doctor"
strip "$pkg/bin/auth-doctor" 2>/dev/null || true
install -m 644 "$manual" "$pkg/share/man/man1/auth-doctor.1"
"$bin" --generate-completion-script bash > "$pkg/share/bash-completion/completions/auth-doctor"
"$bin" --generate-completion-script zsh > "$pkg/share/zsh/site-functions/_auth-doctor"
"$bin" --generate-completion-script fish > "$pkg/share/fish/vendor_completions.d/auth-doctor.fish"
install -m 644 README.md "$pkg/share/doc/auth-doctor/README.md"
install -m 644 docs/runbook.md "$pkg/share/doc/auth-doctor/runbook.md"

# The same inputs give the same bytes: sorted names, fixed owner and time.
mtime="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}"
tarball="$out/$name.tar.gz"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -C "$stage" -cf - "$name" \
  | gzip -9 -n > "$tarball"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")

echo "built $tarball ($(du -k "$tarball" | cut -f1) KiB) in $((SECONDS - started)) s"
echo "sha256 $(cut -d' ' -f1 "$tarball.sha256") in $tarball.sha256"
