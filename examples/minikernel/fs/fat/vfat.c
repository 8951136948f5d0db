// SPDX-License-Identifier: GPL-2.0
/* VFAT long file names: the short-name checksum and name validation. */
#include <linux/minimod.h>

static unsigned char fat_checksum(const unsigned char *name)
{
	unsigned char s = name[0];
	int i;

	for (i = 1; i < 11; i++)
		s = (unsigned char)(((s & 1) << 7) + (s >> 1) + name[i]);
	return s;
}

static int vfat_valid_longname(const char *name, unsigned int len)
{
	unsigned int i;

	if (len == 0 || len > 255)
		return 0;
	for (i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == ':' || name[i] == '*')
			return 0;
	return 1;
}

static int init_vfat_fs(void)
{
	static const unsigned char shortname[11] = "README  TXT";

	if (!vfat_valid_longname("readme.txt", 10))
		return -1;
	return fat_checksum(shortname) ? 0 : -1;
}

static void exit_vfat_fs(void)
{
}

module_init(init_vfat_fs);
module_exit(exit_vfat_fs);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFAT filesystem support");
MODULE_ALIAS("fs-vfat");
