/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The root record of CONFIG_MODULE_HASHES, as in the kernel's
 * include/linux/module_hashes.h: the tree's levels in the target's byte
 * order, then the 32-byte SHA-256 root. vmlinux.unstripped is linked with
 * all zeros here; the build writes the real record into the
 * .module_hashes section afterwards (modhash patch).
 */
#ifndef _LINUX_MODULE_HASHES_H
#define _LINUX_MODULE_HASHES_H

#define MODULE_HASHES_HASH_SIZE 32

struct module_hashes_root {
	unsigned int levels;
	struct {
		unsigned char bytes[MODULE_HASHES_HASH_SIZE];
	} hash;
};

#define __module_hashes_section __attribute__((section(".module_hashes"), used))

extern const struct module_hashes_root module_hashes_root;

#endif /* _LINUX_MODULE_HASHES_H */
