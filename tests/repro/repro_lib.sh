# The reproducibility builds, shared by tests/repro/repro_test.sh (two
# local builds) and tests/remote_exec/remote_exec_test.sh (build 2 on a
# remote execution cluster). Source after tests/lib/scratch_builds.sh.
#
# Built: //examples/minikernel/... (modules, strip, leaves, tree, signed
# modules, vmlinux.unstripped and the patched vmlinux), //examples/linux/...
# (the real Linux 6.12 x86_64 kernel: vmlinux, modules, and its module hashes
# chains: stripped, xz-compressed, unstripped), //tools/modhash, and a
# generated package with gzip, xz and zstd compressed variants of the tree.
#
# Compared (tests/repro/compare.py): every file any action wrote (from
# Bazel's execution log), the deliverables also hashed on disk with
# SHA-256: root record, manifest, proofs, leaves, stripped, signed and
# compressed modules, vmlinux.unstripped, the patched vmlinux and the
# modhash tool (target and exec configuration).

# The real kernel too: the x86_64 kernel build (vmlinux, bzImage, modules,
# kernel.buildinfo), its external modules, its chains (stripped, compressed,
# unstripped), the bzImage made from the vmlinux with the root, and the
# installed module tree with depmod's files: a key-free, reproducible
# kernel. (One architecture: every kernel build here costs minutes.)
repro_linux_targets=(//examples/linux:x86_64 //examples/linux:x86_64_hashes //examples/linux:x86_64_hashes_vmlinux
  //examples/linux:x86_64_hashes_xz //examples/linux:x86_64_hashes_unstripped_vmlinux
  //examples/linux:x86_64_images //examples/linux:x86_64_modules_install //examples/linux:x86_64_modules_install_xz)
repro_targets=(//examples/minikernel/... "${repro_linux_targets[@]}" //tools/modhash //tests/repro/generated/...)

# repro_build N SRC OB TZ LC_ALL UMASK COMMAND FLAGS... [--] TARGETS...:
# `bazel COMMAND` in checkout SRC and output base OB with that environment,
# its execution log in $tmp/logN.json, its stderr in $tmp/buildN.err.
# Without "--", the targets are repro_targets.
repro_build() {
  local n="$1" src="$2" ob="$3" tz="$4" lc="$5" mask="$6" command="$7" t0=$SECONDS
  shift 7
  local flags=() targets=("${repro_targets[@]}")
  while (($#)); do
    if [[ "$1" == -- ]]; then
      shift
      targets=("$@")
      break
    fi
    flags+=("$1")
    shift
  done
  say "build $n: checkout $src, output base $ob, TZ=$tz LC_ALL=$lc umask $mask, flags: ${flags[*]:-none}"
  (
    umask "$mask"
    export TZ="$tz" LC_ALL="$lc"
    # +proofs: the proof files, which nothing in the chains needs (signing
    # computes the proofs), are deliverables to compare too.
    bazel_in "$src" "$ob" "$command" --noshow_progress --remote_cache= --output_groups=+proofs "${flags[@]}" \
      --execution_log_json_file="$tmp/log$n.json" "${targets[@]}"
  ) 2>"$tmp/build$n.err" || { tail -n 60 "$tmp/build$n.err" >&2; die "build $n failed"; }
  grep -E '^INFO: (Elapsed|[0-9]+ processes)' "$tmp/build$n.err" || true
  echo "build $n: $((SECONDS - t0))s"
}

# repro_compare A B: compares builds A and B (output bases ob_of[A], ob_of[B]);
# the output of compare.py, also in $tmp/compare.out. repro_compare_flags:
# compare.py's options.
repro_compare_flags=()
repro_compare() {
  local a="$1" b="$2"
  say "comparing the outputs of build $a and build $b"
  python3 "$repo/tests/repro/compare.py" "${repro_compare_flags[@]}" "$tmp/log$a.json" "${ob_of[$a]}/execroot/modhash" \
    "$tmp/log$b.json" "${ob_of[$b]}/execroot/modhash" | tee "$tmp/compare.out"
  ((PIPESTATUS[0] == 0)) || die "build $a and build $b are not byte-identical (see above)"
  [[ -f "${ob_of[$a]}/execroot/modhash/bazel-out/k8-fastbuild/bin/examples/linux/x86_64/kernel.buildinfo" ]] || return 0
  say "the toolchain both builds used (examples/linux x86_64/kernel.buildinfo, identical in both)"
  local info="${ob_of[$a]}/execroot/modhash/bazel-out/k8-fastbuild/bin/examples/linux/x86_64/kernel.buildinfo"
  sed -n '/^Build-Environment:/,/^Environment:/p' "$info" | sed '$d'
  grep -E '^(Source|Kernel-Release)' "$info"
}
