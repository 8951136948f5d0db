"""Providers of the module hashes rules."""

ModuleHashesInfo = provider(
    doc = """The Merkle tree over a kernel's modules (CONFIG_MODULE_HASHES) and
what was made from it: returned by `module_hashes_root`.

Every list is in the order of the `modules` attribute, which is the tree
order: element i belongs to the module at position i (its index in
`modules`, or with `modules_order` its line there; the build then checks that
both orders agree).""",
    fields = {
        "byte_order": "String, `\"little\"` or `\"big\"`: the byte order of the " +
                      "`levels` field in `root_record` (the target's).",
        "compressed_modules": "List of Files: the signed modules compressed " +
                              "(`<name>/compressed/<basename>.gz|.xz|.zst`), in tree " +
                              "order; empty when `compression = \"none\"`.",
        "hashed_modules": "List of Files: the module bytes that were hashed and " +
                          "signed, in tree order: the stripped copies " +
                          "(`<name>/stripped/<basename>`) with `strip = True`, " +
                          "otherwise the same Files as `modules`.",
        "leaves": "List of Files: one leaf JSON per module " +
                  "(`<name>/leaves/<stem>.json`: pos, name, size, leaf), in tree order.",
        "manifest": "File: `<name>/manifest.json`, the tree's levels and root and " +
                    "per module its position, name, size and leaf hash.",
        "modules": "List of Files: the input modules, in tree order.",
        "modules_order": "File or None: the kbuild `modules.order` that gave the order; with " +
                         "`external_modules`, `<name>/modules.order`: that file, then `extra/<stem>.o` per external module.",
        "proofs": "List of Files: one proof per module " +
                  "(`<name>/proofs/<stem>.merkle`, what the kernel build appends), " +
                  "in tree order. Made by their own action, which runs only when " +
                  "something asks for them: the signed modules do not need them.",
        "root_record": "File: `<name>/root.bin`, the 36-byte `.module_hashes` " +
                       "section data (levels in `byte_order`, then the root).",
        "signed_modules": "List of Files: the installable modules " +
                          "(`<name>/signed/<basename>`: module bytes + proof), in tree order.",
        "suffix": "String: the module file suffix (`.ko`) that replaces `.o` in " +
                  "`modules.order` lines.",
    },
)
