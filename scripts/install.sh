#!/usr/bin/env bash
# Installs auth-doctor into PREFIX (default ~/.local): bin/, the man page and the shell completions.
#
#   scripts/install.sh --tarball FILE|URL [--sha256 HEX] [--prefix DIR]
#   scripts/install.sh --from-source [--prefix DIR]        (from a clone: Swift 6 needed, runs release.sh)
#
# A tarball is verified before anything is unpacked: against --sha256, else against FILE.sha256 (URL.sha256)
# beside it; without either the install stops. Running it again changes nothing that is already in place.
# PREFIX may also come from the environment (PREFIX=/usr/local scripts/install.sh ...).
set -euo pipefail

prefix="${PREFIX:-}"
tarball=""
sha=""
from_source=0

fail() { echo "install.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --tarball|--sha256|--prefix)
      [ $# -ge 2 ] || { echo "install.sh: $1 needs a value (see --help)" >&2; exit 64; } ;;&
    --tarball) tarball="${2:-}"; shift 2 ;;
    --sha256) sha="${2:-}"; shift 2 ;;
    --prefix) prefix="${2:-}"; shift 2 ;;
    --from-source) from_source=1; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 64 ;;
  esac
done
if [ -z "$prefix" ]; then
  [ -n "${HOME:-}" ] || fail "HOME is not set: give --prefix DIR or PREFIX=DIR"
  prefix="$HOME/.local"
fi
if [ -z "$tarball" ] && [ "$from_source" -eq 0 ]; then
  echo "install.sh: give --tarball FILE|URL (a release tarball) or --from-source (in a clone)" >&2
  exit 64
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ "$from_source" -eq 1 ]; then
  root="$(cd "$(dirname "$0")/.." && pwd)"
  [ -f "$root/Package.swift" ] || fail "--from-source needs a clone of the repository ($root has no Package.swift)"
  command -v swift >/dev/null || fail "--from-source needs Swift 6 on PATH (or install a release tarball with --tarball)"
  echo "building from source in $root (scripts/release.sh)"
  "$root/scripts/release.sh" --out "$work/dist"
  tarball="$(ls "$work"/dist/auth-doctor-*.tar.gz)"
fi

# Fetch the tarball (and its checksum file when no --sha256 was given).
case "$tarball" in
  http://*|https://*)
    command -v curl >/dev/null || fail "downloading $tarball needs curl"
    echo "downloading $tarball"
    curl -fsSL --proto '=https,http' -o "$work/release.tar.gz" "$tarball" || fail "could not download $tarball"
    if [ -z "$sha" ]; then
      curl -fsSL -o "$work/release.sha256" "$tarball.sha256" \
        || fail "could not download $tarball.sha256; give the checksum with --sha256 HEX"
      sha="$(cut -d' ' -f1 < "$work/release.sha256")"
    fi
    file="$work/release.tar.gz"
    ;;
  *)
    [ -f "$tarball" ] || fail "no such tarball: $tarball"
    if [ -z "$sha" ]; then
      [ -f "$tarball.sha256" ] || fail "no checksum for $tarball: put $tarball.sha256 beside it or give --sha256 HEX"
      sha="$(cut -d' ' -f1 < "$tarball.sha256")"
    fi
    file="$tarball"
    ;;
esac

sha="$(printf '%s' "$sha" | tr -d '[:space:]' | tr 'A-F' 'a-f')"
[[ "$sha" =~ ^[0-9a-f]{64}$ ]] || fail "the expected SHA-256 is not 64 hex digits: '$sha'"
actual="$(sha256sum "$file" | cut -d' ' -f1)"
[ "$actual" = "$sha" ] || fail "checksum mismatch for $tarball: expected $sha, got $actual; nothing was installed"
echo "verified sha256 $actual"

mkdir -p "$work/unpacked"
tar -xzf "$file" -C "$work/unpacked"
pkg="$(find "$work/unpacked" -mindepth 1 -maxdepth 1 -type d -name 'auth-doctor-*' | head -n 1)"
[ -n "$pkg" ] && [ -f "$pkg/bin/auth-doctor" ] || fail "$tarball is not an auth-doctor release (no auth-doctor-*/bin/auth-doctor inside)"

installed=0
unchanged=0
while IFS= read -r rel; do
  src="$pkg/$rel"
  dst="$prefix/$rel"
  mode=644
  [ -x "$src" ] && mode=755
  if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
    chmod "$mode" "$dst"
    echo "unchanged $dst"
    unchanged=$((unchanged + 1))
  else
    install -D -m "$mode" "$src" "$dst"
    echo "installed $dst"
    installed=$((installed + 1))
  fi
done < <(cd "$pkg" && find . -type f | sed 's|^\./||' | sort)

echo "$installed file(s) installed, $unchanged unchanged in $prefix"
if version="$("$prefix/bin/auth-doctor" --version 2>&1)"; then
  echo "auth-doctor $version: $prefix/bin/auth-doctor"
else
  echo "warning: $prefix/bin/auth-doctor does not start here: $version" >&2
  echo "  it needs glibc, libcurl (libcurl.so.4) and zlib; Debian/Ubuntu: apt-get install libcurl4 zlib1g" >&2
  exit 1
fi
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on PATH; add it: export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
