// Package releasetest proves what `make release` writes (scripts/release):
// every file, its checksum, each binary's platform, the arm64 binary under
// qemu, the Debian package on a Debian DinD host, and install.sh. Its tests
// run the release once into a temporary folder (RELEASE_DIST=dist checks
// one built already instead); RELEASE_REPRO=1 also builds it in two fresh
// clones and compares their checksums.txt.
package releasetest
