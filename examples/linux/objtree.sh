# Sourced by the actions that run the kernel's make again over a kernel
# build's object tree (kernel_images.sh, kernel_module.sh).
#
# scratch_dir NAME: a new directory for the restored trees, on /dev/shm
# (tmpfs) when there is one: the trees are about 16000 files, and creating
# them on this project's build machines' disk took 13-18 s (about 1 ms of
# system time a file, under load), on tmpfs 0.7 s.
#
# restore_kbuild_tree SOURCES OBJTREE_ARCHIVE DIR: extracts kernel_build's
# kbuild_sources.tar (the source files such a make reads) into DIR/src and
# its objtree_archive into DIR/out, with restore_objtree.
#
# restore_objtree ARCHIVE SRC OBJ: extracts kernel_build's objtree_archive
# into OBJ, sets its tree paths (@SRCTREE@, @OBJTREE@, which kernel_build
# wrote so that the archive is the same from build to build) to SRC and
# OBJ, and gives every file one time a minute ago: later than any source
# file (kbuild_sources.tar's are at time 0), so make sees the tree as the
# kernel build left it, up to date, and rebuilds only what depends on the
# files an action puts in afterwards.
scratch_dir() {
  if [[ -d /dev/shm && -w /dev/shm ]]; then
    mktemp -d "/dev/shm/$1.XXXXXX"
  else
    mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX"
  fi
}

restore_kbuild_tree() {
  local sources="$1" archive="$2" dir="$3"
  mkdir -p "$dir/src"
  tar -xf "$sources" -C "$dir/src"
  restore_objtree "$archive" "$dir/src" "$dir/out"
}

restore_objtree() {
  local archive="$1" src="$2" obj="$3" then
  mkdir -p "$obj"
  tar -xf "$archive" -C "$obj"
  grep -rlI -e @SRCTREE@ -e @OBJTREE@ "$obj" | while IFS= read -r f; do
    sed -i -e "s|@SRCTREE@|$src|g" -e "s|@OBJTREE@|$obj|g" "$f"
  done
  then="$(($(date +%s) - 60))"
  find "$obj" -exec touch -h -d "@$then" {} +
}
