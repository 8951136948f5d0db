// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * An out-of-tree ("vendor") module of the example: it exports a symbol that
 * the other vendor module uses, so depmod puts it in that module's
 * dependencies, and modprobe loads it first.
 */
#include <linux/module.h>

/* A rebuild with another version (tests/kernel/rebuilt_greeter) is another module. */
#ifndef MODHASH_GREETER_VERSION
#define MODHASH_GREETER_VERSION "1"
#endif

int modhash_greeter_count;
EXPORT_SYMBOL_GPL(modhash_greeter_count);

void modhash_greet(const char *who)
{
	modhash_greeter_count++;
	pr_info("modhash_greeter: hello, %s (%d)\n", who, modhash_greeter_count);
}
EXPORT_SYMBOL_GPL(modhash_greet);

static int __init greeter_init(void)
{
	pr_info("modhash_greeter: loaded\n");
	return 0;
}

static void __exit greeter_exit(void)
{
}

module_init(greeter_init);
module_exit(greeter_exit);
MODULE_DESCRIPTION("modhash example: an out-of-tree module that exports a symbol");
MODULE_LICENSE("Dual MIT/GPL");
MODULE_VERSION(MODHASH_GREETER_VERSION);
