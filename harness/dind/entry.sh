#!/bin/bash
# Entry point of the docker-userns DinD images (harness/dind/images.conf).
#
# 1. When the container is not privileged, make /sys and the cgroup
#    hierarchies writable so the inner dockerd can create containers.
# 2. Supervise dockerd: whenever it exits (killed by the harness to pick up a
#    new /etc/docker/daemon.json, or failing on a bad one) start it again,
#    forever, so a test that restores a good config sees the daemon come back.
# 3. On TERM or INT stop dockerd and exit well within two seconds.
#
# dockerd gets the words of /etc/dind/dockerd-flags (as a systemd ExecStart
# would give flags) followed by this script's arguments.
#
# In the systemd flavour's images (DIND_INIT=systemd in the image's
# environment) the script does step 1, then hands PID 1 to systemd, which
# starts dockerd through the Debian package's own docker.service behind
# docker.socket, as on a server. Flags (the flags file and this script's
# arguments) then go into a drop-in, written before systemd boots: the
# unit's own ExecStart with the flags after it.
set -u

log=/var/log/dockerd.log
flags_file=/etc/dind/dockerd-flags

say() { echo "dind-entry: $*" >>"$log"; }

# mount_cgroups readies the cgroup hierarchies for a nested dockerd: on
# cgroup v1 (only needed unprivileged, where the runtime mounts them
# read-only) fresh writable mounts; on cgroup v2 the nesting dance.
mount_cgroups() {
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		# cgroup v2, nested as the official dind script does: move every
		# process out of the root group (else subtree_control fails with
		# EBUSY), then hand all controllers down to the children.
		mounted_rw /sys/fs/cgroup || mount -o remount,rw /sys/fs/cgroup || say "cannot remount /sys/fs/cgroup read-write"
		mkdir -p /sys/fs/cgroup/init
		xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
		sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers \
			>/sys/fs/cgroup/cgroup.subtree_control || say "cannot enable cgroup v2 controllers"
		return
	fi
	# cgroup v1: a fresh tmpfs with one writable mount per hierarchy the
	# kernel has (as /proc/self/cgroup lists them, e.g. cpu,cpuacct or
	# name=systemd; v2's unified line "0::" is left out).
	if mountpoint -q /sys/fs/cgroup; then
		umount -R /sys/fs/cgroup 2>/dev/null || umount -l /sys/fs/cgroup 2>/dev/null || :
	fi
	mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
	local id controllers path dir opts
	while IFS=: read -r id controllers path; do
		[ "$id" = 0 ] && continue
		[ -n "$controllers" ] || continue
		dir=${controllers#name=}
		opts=$controllers
		case $controllers in name=*) opts=none,$controllers ;; esac
		mkdir -p "/sys/fs/cgroup/$dir"
		mount -t cgroup -o "$opts" cgroup "/sys/fs/cgroup/$dir" || say "cannot mount cgroup $opts"
		# Co-mounted controllers (cpu,cpuacct) are also reachable by each name.
		if [ "$dir" != "${dir#*,}" ]; then
			local c
			for c in ${dir//,/ }; do
				[ -e "/sys/fs/cgroup/$c" ] || ln -s "$dir" "/sys/fs/cgroup/$c"
			done
		fi
	done </proc/self/cgroup
}

# mounted_rw tells whether the mount at $1 is read-write.
mounted_rw() {
	awk -v m="$1" '$5 == m { o = $6 } END { exit !(o ~ /^rw/) }' /proc/self/mountinfo
}

setup() {
	# A read-only /sys means the container is not privileged: the runtime
	# also left the cgroup hierarchies read-only.
	local privileged=1
	if ! mounted_rw /sys; then
		privileged=
		if ! mount -o remount,rw /sys; then
			say "cannot remount /sys read-write: the container needs CAP_SYS_ADMIN"
			return
		fi
		if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
			mount -t securityfs none /sys/kernel/security 2>/dev/null || :
		fi
	fi
	if [ -f /sys/fs/cgroup/cgroup.controllers ] || [ -z "$privileged" ]; then
		mount_cgroups
	fi
}

child=
stopping=
on_stop() {
	stopping=1
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null
	fi
}
trap on_stop TERM INT

# write_flags_dropin puts the dockerd flags of the flags file and of "$@"
# into a docker.service drop-in that repeats the unit's own ExecStart with the
# flags after it. With no flags there is no drop-in: the unit runs as shipped.
write_flags_dropin() {
	local flags unit exec
	flags="$(cat "$flags_file" 2>/dev/null) $*"
	[ -n "${flags// /}" ] || return 0
	for unit in /etc/systemd/system/docker.service /lib/systemd/system/docker.service /usr/lib/systemd/system/docker.service; do
		[ -f "$unit" ] && break
	done
	exec=$(sed -n 's/^ExecStart=//p' "$unit" | tail -n1)
	if [ -z "$exec" ]; then
		say "no ExecStart in $unit: dockerd flags $flags not applied"
		return 0
	fi
	mkdir -p "${dropin%/*}"
	printf '# Written by dind-entry from %s and its arguments.\n[Service]\nExecStart=\nExecStart=%s %s\n' \
		"$flags_file" "$exec" "$(echo $flags)" >"$dropin"
}
dropin=/etc/systemd/system/docker.service.d/dind-flags.conf

setup
mkdir -p /etc/dind

if [ "${DIND_INIT:-}" = systemd ]; then
	trap - TERM INT
	write_flags_dropin "$@"
	export container=${container:-docker}
	exec /lib/systemd/systemd
fi

while [ -z "$stopping" ]; do
	# shellcheck disable=SC2046 # the flags file holds words, split on purpose.
	dockerd $(cat "$flags_file" 2>/dev/null) "$@" >>"$log" 2>&1 &
	child=$!
	# A TERM that came just before $! was known must still reach dockerd.
	[ -n "$stopping" ] && kill -TERM "$child" 2>/dev/null
	wait "$child"
	status=$?
	[ -n "$stopping" ] && break
	child=
	say "dockerd exited with status $status; restarting"
	sleep 0.3 &
	wait $! 2>/dev/null
done

# Give dockerd half a second to shut down cleanly; the kernel kills the rest
# of the container's processes when this script, PID 1, exits. Nothing in a
# throwaway daemon is worth a longer wait.
for _ in 1 2 3 4 5; do
	kill -0 "$child" 2>/dev/null || exit 0
	sleep 0.1
done
exit 0
