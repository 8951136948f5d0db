// SPDX-License-Identifier: GPL-2.0
/*
 * A kernel image built without CONFIG_MODULE_HASHES: no .module_hashes
 * section. module_hashes_vmlinux must refuse it with a clear message.
 */
unsigned long jiffies;

void _start(void)
{
	for (;;)
		jiffies++;
}
