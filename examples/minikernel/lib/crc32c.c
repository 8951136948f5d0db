// SPDX-License-Identifier: GPL-2.0-or-later
/* CRC32C (Castagnoli), bit by bit. */
#include <linux/minimod.h>

#define CRC32C_POLY_LE 0x82F63B78u

unsigned int crc32c_le(unsigned int crc, const unsigned char *p, unsigned long len)
{
	int i;

	while (len--) {
		crc ^= *p++;
		for (i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (CRC32C_POLY_LE & -(crc & 1));
	}
	return crc;
}

static int crc32c_selftest(void)
{
	static const unsigned char check[9] = "123456789";

	/* The standard check value of CRC-32C. */
	return (~crc32c_le(~0u, check, sizeof(check))) == 0xE3069283u ? 0 : -1;
}

static int libcrc32c_mod_init(void)
{
	return crc32c_selftest();
}

static void libcrc32c_mod_fini(void)
{
}

module_init(libcrc32c_mod_init);
module_exit(libcrc32c_mod_fini);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("CRC32c (Castagnoli) calculations");
