# Sourced by the actions that run the kernel's make again over a kernel
# build's object tree (kernel_images.sh, kernel_module.sh).
#
# restore_objtree ARCHIVE SRC OBJ: extracts kernel_build's objtree_archive
# into OBJ, sets its tree paths (@SRCTREE@, @OBJTREE@, which kernel_build
# wrote so that the archive is the same from build to build) to SRC and
# OBJ, and gives every file one time a minute ago: later than any source
# file, so make sees the tree as the kernel build left it, up to date, and
# rebuilds only what depends on the files an action puts in afterwards.
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
