#!/bin/sh
# install.sh: installs the docker-userns CLI plugin of this machine's
# platform from a docker-userns release, after checking its sha256 against
# the release's checksums.txt. Run with --help for the options.
set -eu

usage() {
	cat <<'USAGE'
Usage: install.sh [--from DIR | --url URL] [--system] [--dest DIR] [--helpers]

Install the docker-userns CLI plugin (docker userns) for this machine's
platform from a docker-userns release, after checking its sha256 against
the release's checksums.txt. A mismatch installs nothing.

Options:
  --from DIR   Take the release from this folder (an offline mirror; default:
               the folder this script is in, when it holds checksums.txt)
  --url URL    Download the release from this URL (curl or wget)
  --system     Install for every user, into /usr/libexec/docker/cli-plugins
               (needs root), instead of ~/.docker/cli-plugins
  --dest DIR   Install into this cli-plugins folder instead
  --helpers    Also install the Linux helpers for daemons of another platform
               than this machine's (docker-userns-helpers/ beside the plugin):
               needed to change a host of another architecture, or any host
               from macOS, through a docker context
  -h, --help   Show this help

Linux and macOS on amd64 and arm64 are supported; on Windows, copy
docker-userns-windows-amd64.exe to %USERPROFILE%\.docker\cli-plugins\docker-userns.exe.
USAGE
}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

from= url= dest= system= helpers=
while [ $# -gt 0 ]; do
	case $1 in
	--from) [ $# -ge 2 ] || die "--from needs a folder"; from=$2; shift 2 ;;
	--from=*) from=${1#--from=}; shift ;;
	--url) [ $# -ge 2 ] || die "--url needs a URL"; url=$2; shift 2 ;;
	--url=*) url=${1#--url=}; shift ;;
	--dest) [ $# -ge 2 ] || die "--dest needs a folder"; dest=$2; shift 2 ;;
	--dest=*) dest=${1#--dest=}; shift ;;
	--system) system=1; shift ;;
	--helpers) helpers=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ -z "$from" ] || [ -z "$url" ] || die "give --from or --url, not both"
[ -z "$dest" ] || [ -z "$system" ] || die "give --dest or --system, not both"

case $(uname -s) in
Linux) os=linux ;;
Darwin) os=darwin ;;
*) die "no docker-userns build for $(uname -s) (there are for Linux and macOS; on Windows copy docker-userns-windows-amd64.exe by hand)" ;;
esac
case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) die "no docker-userns build for the $(uname -m) architecture (there are for amd64 and arm64)" ;;
esac
file=docker-userns-$os-$arch

if [ -n "$system" ]; then
	dest=/usr/libexec/docker/cli-plugins
elif [ -z "$dest" ]; then
	[ -n "${HOME:-}" ] || die "HOME is not set: give --dest or --system"
	dest=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/docker-userns-install.XXXXXX") || die "cannot make a temporary folder"
trap 'rm -rf "$work"' EXIT INT TERM

# fetch NAME: the release's file NAME into $work.
fetch() {
	if [ -n "$url" ]; then
		if command -v curl >/dev/null 2>&1; then
			curl -fsSL -o "$work/$1" "${url%/}/$1" || die "download ${url%/}/$1 failed"
		elif command -v wget >/dev/null 2>&1; then
			wget -q -O "$work/$1" "${url%/}/$1" || die "download ${url%/}/$1 failed"
		else
			die "neither curl nor wget is installed: download the release and use --from DIR"
		fi
	else
		[ -f "$from/$1" ] || die "$from/$1: no such file (is $from a docker-userns release folder?)"
		cp "$from/$1" "$work/$1" || die "copy $from/$1 failed"
	fi
}

if [ -z "$url" ] && [ -z "$from" ]; then
	here=$(dirname "$0")
	[ -f "$here/checksums.txt" ] || die "give --from DIR (a release folder) or --url URL"
	from=$here
fi

fetch checksums.txt
fetch "$file"

# check NAME: the fetched file NAME's sha256 against its line of
# checksums.txt ("<sha256>  <name>"); prints the sha256.
check() {
	want=$(awk -v f="$1" '$2 == f || $2 == "*" f { print $1; exit }' "$work/checksums.txt")
	[ -n "$want" ] || die "checksums.txt has no line for $1"
	if command -v sha256sum >/dev/null 2>&1; then
		got=$(sha256sum "$work/$1" | awk '{ print $1 }')
	elif command -v shasum >/dev/null 2>&1; then
		got=$(shasum -a 256 "$work/$1" | awk '{ print $1 }')
	else
		die "neither sha256sum nor shasum is installed: cannot check $1"
	fi
	[ "$got" = "$want" ] || die "$1: sha256 $got does not match checksums.txt ($want): nothing installed"
	echo "$got"
}

# put NAME TARGET: copy next to the target, then rename over it, so that a
# docker CLI running meanwhile never sees half a binary.
put() {
	# A hidden name: the docker CLI takes any docker-* file for a plugin.
	tmp=$(dirname "$2")/.$(basename "$2").new
	chmod 0755 "$work/$1"
	cp "$work/$1" "$tmp" || die "cannot write $tmp"
	mv -f "$tmp" "$2" || die "cannot install $2"
}

# Every file is fetched and checked before any is installed.
sum=$(check "$file") || exit 1
helper_files=
if [ -n "$helpers" ]; then
	for h in linux-amd64 linux-arm64; do
		[ "docker-userns-$h" = "$file" ] && continue
		fetch "docker-userns-$h"
		check "docker-userns-$h" >/dev/null || exit 1
		helper_files="$helper_files docker-userns-$h"
	done
fi

mkdir -p "$dest" || die "cannot make $dest"
put "$file" "$dest/docker-userns"
echo "installed $dest/docker-userns ($file, sha256 $sum)"
if [ -n "$helper_files" ]; then
	mkdir -p "$dest/docker-userns-helpers" || die "cannot make $dest/docker-userns-helpers"
	for h in $helper_files; do
		put "$h" "$dest/docker-userns-helpers/$h"
		echo "installed $dest/docker-userns-helpers/$h"
	done
fi
if command -v docker >/dev/null 2>&1; then
	docker userns version 2>/dev/null || true
fi
