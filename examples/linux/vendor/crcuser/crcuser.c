// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * An out-of-tree ("vendor") module of the example that depends on two
 * others: crc8() of the kernel build's own lib/crc8.ko, and modhash_greet()
 * of the other vendor module. Its init prints a CRC-8 so that the boot
 * log shows both calls worked.
 */
#include <linux/crc8.h>
#include <linux/module.h>

void modhash_greet(const char *who);

DECLARE_CRC8_TABLE(crcuser_table);

static int __init crcuser_init(void)
{
	static const u8 data[] = "modhash";

	crc8_populate_msb(crcuser_table, 0x07);
	modhash_greet("crcuser");
	pr_info("modhash_crcuser: crc8(\"modhash\") = 0x%02x\n",
		crc8(crcuser_table, data, sizeof(data) - 1, CRC8_INIT_VALUE));
	return 0;
}

static void __exit crcuser_exit(void)
{
}

module_init(crcuser_init);
module_exit(crcuser_exit);
MODULE_DESCRIPTION("modhash example: an out-of-tree module using an in-tree and an out-of-tree symbol");
MODULE_LICENSE("Dual MIT/GPL");
