// SPDX-License-Identifier: GPL-2.0
/*
 * The root of the module hashes tree. It is all zeros in
 * vmlinux.unstripped: the modules are built after the kernel image, so their
 * tree is not known yet. module_hashes_vmlinux (modhash patch) writes the
 * real 36 bytes into this section to make vmlinux.
 */
#include <linux/module_hashes.h>

const struct module_hashes_root module_hashes_root __module_hashes_section = {0};
