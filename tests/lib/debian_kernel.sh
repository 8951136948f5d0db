# Fetches and extracts Debian's linux-image-6.1.0-50-amd64 (6.1.176-1), a
# real distribution kernel package no one here wrote, for modhash audit's
# test and benchmark. Source it; then call
#   debian_kernel_fetch CACHE_DIR
# which downloads the package with apt-get download (into CACHE_DIR/debs,
# once), checks its SHA-256, extracts it with dpkg-deb -x (into
# CACHE_DIR/linux-image-6.1.0-50-amd64_6.1.176-1, once) and sets
#   debian_root     the extracted package
#   debian_vmlinuz  its boot/vmlinuz-6.1.0-50-amd64 (an xz bzImage)
#   debian_modules  its lib/modules/6.1.0-50-amd64 (4022 PKCS#7-signed .ko)
# Nothing of it is committed. The caller defines die.

debian_kernel_pkg=linux-image-6.1.0-50-amd64
debian_kernel_ver=6.1.176-1
debian_kernel_sha256=7b5597492a0a65aee61985a492e6bcc3f2cde830072a0e3b3d8c7e1b90279bd3
debian_kernel_release=6.1.0-50-amd64
debian_kernel_modules=4022

debian_kernel_fetch() {
	local cache=$1 deb sandbox=()
	local debs="$cache/debs"
	deb="$debs/${debian_kernel_pkg}_${debian_kernel_ver}_amd64.deb"
	mkdir -p "$debs"
	if [[ -L "$deb" ]] || { [[ -e "$deb" ]] && [[ ! -f "$deb" ]]; }; then
		die "$deb is not a regular file (a directory or link planted there?), not a cached package: remove it"
	fi
	if [[ -f "$deb" ]] && [[ "$(sha256sum "$deb" | cut -c1-64)" != "$debian_kernel_sha256" ]]; then
		printf '%s is not the pinned package (cut short?): fetching it again\n' "$deb" >&2
		rm -f "$deb"
	fi
	if [[ ! -f "$deb" ]]; then
		if ! apt-cache policy "$debian_kernel_pkg" 2>/dev/null | grep -q "$debian_kernel_ver"; then
			local sudo=()
			[[ "$(id -u)" == 0 ]] || sudo=(sudo)
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2 ||
				printf 'apt-get update failed; trying the lists there are\n' >&2
		fi
		# As root, apt drops to user _apt, who cannot write to a cache under /root.
		[[ "$(id -u)" == 0 ]] && sandbox=(-o APT::Sandbox::User=root)
		# Into a directory of its own (mktemp), renamed into the cache
		# once checked: a killed download never sits at the cached name.
		local tmp
		tmp=$(mktemp -d "$debs/.fetch.XXXXXX")
		chmod 755 "$tmp"
		if ! (cd "$tmp" && apt-get download "${sandbox[@]}" "$debian_kernel_pkg=$debian_kernel_ver" </dev/null >&2); then
			rm -rf "$tmp"
			die "apt-get download $debian_kernel_pkg=$debian_kernel_ver failed (is Debian bookworm in the apt sources?)"
		fi
		local got="$tmp/$(basename "$deb")"
		if [[ ! -f "$got" ]]; then
			rm -rf "$tmp"
			die "apt-get download left no $(basename "$deb")"
		fi
		if [[ "$(sha256sum "$got" | cut -c1-64)" != "$debian_kernel_sha256" ]]; then
			rm -rf "$tmp"
			die "the archive serves other bytes as $debian_kernel_pkg=$debian_kernel_ver: not the package this test was written for"
		fi
		mv -fT "$got" "$deb" || { rm -rf "$tmp"; die "cannot put the package at $deb"; }
		rm -rf "$tmp"
	fi
	local sum
	sum=$(sha256sum "$deb" | cut -c1-64)
	[[ "$sum" == "$debian_kernel_sha256" ]] ||
		die "$deb has SHA-256 $sum, want $debian_kernel_sha256: not the package this test was written for"
	debian_root="$cache/${debian_kernel_pkg}_${debian_kernel_ver}"
	if [[ ! -f "$debian_root/.extracted" ]]; then
		rm -rf "$debian_root"
		mkdir -p "$debian_root"
		dpkg-deb -x "$deb" "$debian_root" || die "dpkg-deb -x $deb failed"
		touch "$debian_root/.extracted"
	fi
	debian_vmlinuz="$debian_root/boot/vmlinuz-$debian_kernel_release"
	debian_modules="$debian_root/lib/modules/$debian_kernel_release"
	[[ -f "$debian_vmlinuz" && -d "$debian_modules" ]] || die "$debian_root lacks boot/vmlinuz-$debian_kernel_release or lib/modules/$debian_kernel_release"
}
