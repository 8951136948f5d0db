"""Bazel rules for the Linux kernel's module hashes (CONFIG_MODULE_HASHES).

With `CONFIG_MODULE_HASHES` the kernel build needs no signing key: it builds
a Merkle tree over all modules, writes the 36-byte root into vmlinux's
`.module_hashes` section and appends to each module a proof leading from the
module to that root. These rules do the same in Bazel, with the `modhash`
tool (`//tools/modhash`) doing all format work:

```starlark
load("@modhash//rules:defs.bzl", "kernel_module_hashes")

kernel_module_hashes(
    name = "module_hashes",
    vmlinux_unstripped = ":vmlinux.unstripped",
    modules = [":drivers/net/dummy.ko", ":fs/ext2/ext2.ko"],
    modules_order = "modules.order",
    strip = True,
)
```

gives `:module_hashes` (tree, proofs, signed modules), `:module_hashes_vmlinux`
(the kernel image with the root written in) and `:module_hashes_test` (every
signed module checked against that image as the kernel would).

Every rule takes `modhash`, the tool: by default built from source, or your
own prebuilt binary (then no Go toolchain is needed). The leaf, compression,
tree and signing actions run in a persistent `modhash` worker where Bazel
runs actions locally (off: `--strategy=ModuleHashLeaf=sandboxed` etc.).

Public API:

* `module_hashes_root`: strip, hash, tree, sign, compress.
* `module_hashes_vmlinux`: write the root into vmlinux.unstripped.
* `module_hashes_image`: write the root into a boot image made from vmlinux
  (arm64 `Image`, `Image.gz`, `Image.lz4`).
* `module_hashes_test`: check signed modules against a vmlinux.
* `kernel_module_hashes`: the three above, wired together.
* `ModuleHashesInfo`: the provider of `module_hashes_root`.
"""

load("//rules/private:image.bzl", _module_hashes_image = "module_hashes_image")
load("//rules/private:macros.bzl", _kernel_module_hashes = "kernel_module_hashes")
load("//rules/private:providers.bzl", _ModuleHashesInfo = "ModuleHashesInfo")
load("//rules/private:root.bzl", _module_hashes_root = "module_hashes_root")
load("//rules/private:test.bzl", _module_hashes_test = "module_hashes_test")
load("//rules/private:vmlinux.bzl", _module_hashes_vmlinux = "module_hashes_vmlinux")

ModuleHashesInfo = _ModuleHashesInfo
kernel_module_hashes = _kernel_module_hashes
module_hashes_image = _module_hashes_image
module_hashes_root = _module_hashes_root
module_hashes_test = _module_hashes_test
module_hashes_vmlinux = _module_hashes_vmlinux
