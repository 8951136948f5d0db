// SPDX-License-Identifier: GPL-2.0
/* The second extended file system: superblock checks. */
#include <linux/minimod.h>

#define EXT2_SUPER_MAGIC 0xEF53u

struct ext2_super_block {
	unsigned int s_inodes_count;
	unsigned int s_blocks_count;
	unsigned int s_log_block_size;
	unsigned short s_magic;
};

static unsigned long ext2_block_size(const struct ext2_super_block *es)
{
	return 1024ul << es->s_log_block_size;
}

static int ext2_check_super(const struct ext2_super_block *es)
{
	if (es->s_magic != EXT2_SUPER_MAGIC)
		return -1;
	if (es->s_log_block_size > 6)
		return -1;
	return es->s_inodes_count ? 0 : -1;
}

static int init_ext2_fs(void)
{
	struct ext2_super_block es = {128, 1024, 0, EXT2_SUPER_MAGIC};

	if (ext2_check_super(&es))
		return -1;
	printk("ext2: registered\n");
	return ext2_block_size(&es) == 1024 ? 0 : -1;
}

static void exit_ext2_fs(void)
{
}

module_init(init_ext2_fs);
module_exit(exit_ext2_fs);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Second Extended Filesystem");
MODULE_ALIAS("fs-ext2");
