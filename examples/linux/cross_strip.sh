#!/bin/sh
# strip_tool for module_hashes_root: the Debian cross binutils' strip that
# this target is named after (aarch64-linux-gnu-strip, ...), since the
# host's strip cannot read another architecture's modules.
exec "/usr/bin/$(basename "$0")" "$@"
