"""kernel_module_hashes: the whole module hashes chain of a kernel build."""

load(":root.bzl", "module_hashes_root")
load(":test.bzl", "module_hashes_test")
load(":vmlinux.bzl", "module_hashes_vmlinux")

# Attributes common to all rules, passed to each of the three targets.
_COMMON_ATTRS = [
    "compatible_with",
    "exec_compatible_with",
    "restricted_to",
    "target_compatible_with",
    "testonly",
    "visibility",
]

def kernel_module_hashes(name, vmlinux_unstripped, modules, modules_order = None, **kwargs):
    """Module hashes for a kernel build: tree, signed modules, vmlinux, test.

    Defines:

    * `<name>`: a `module_hashes_root` over `modules` (manifest, root record,
      proofs, signed and optionally compressed modules).
    * `<name>_vmlinux`: a `module_hashes_vmlinux`, the output file
      `<name>_vmlinux` = `vmlinux_unstripped` with the root written into its
      `.module_hashes` section.
    * `<name>_test`: a `module_hashes_test` checking every signed module
      against `<name>_vmlinux` as the kernel would.

    Args:
      name: name of the `module_hashes_root` target, prefix of the others.
      vmlinux_unstripped: the kernel image linked with an all-zero
        `.module_hashes` section.
      modules: the built modules (`.ko`), see `module_hashes_root`.
      modules_order: the kbuild `modules.order` giving the tree order;
        without it, the order of `modules`.
      **kwargs: further `module_hashes_root` attributes (`strip`,
        `strip_flags`, `suffix`, `compression`, `byte_order`,
        `external_modules`), and common
        attributes (`visibility`, `testonly`, `compatible_with`, ...)
        applied to all three targets. `tags` go to all three targets too;
        `size`, `timeout` and `flaky` only to the test.
    """
    common = {k: kwargs.pop(k) for k in _COMMON_ATTRS if k in kwargs}
    tags = kwargs.pop("tags", [])
    test_attrs = {k: kwargs.pop(k) for k in ["size", "timeout", "flaky"] if k in kwargs}

    module_hashes_root(
        name = name,
        modules = modules,
        modules_order = modules_order,
        tags = tags,
        **dict(common, **kwargs)
    )
    module_hashes_vmlinux(
        name = name + "_vmlinux",
        root = ":" + name,
        vmlinux_unstripped = vmlinux_unstripped,
        tags = tags,
        **common
    )
    module_hashes_test(
        name = name + "_test",
        root = ":" + name,
        vmlinux = ":" + name + "_vmlinux",
        tags = tags,
        **dict(common, **test_attrs)
    )
