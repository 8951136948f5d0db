// SPDX-License-Identifier: GPL-2.0
/* A network device that drops every packet, like drivers/net/dummy.c. */
#include <linux/minimod.h>

struct net_stats {
	unsigned long tx_packets;
	unsigned long tx_bytes;
	unsigned long tx_dropped;
};

static struct net_stats stats;
static int numdummies = 1;

static int dummy_xmit(const void *skb, unsigned long len)
{
	(void)skb;
	stats.tx_packets++;
	stats.tx_bytes += len;
	stats.tx_dropped++;
	return 0;
}

static int dummy_setup(int index)
{
	printk("dummy: setting up dummy device\n");
	return index < numdummies ? 0 : -1;
}

static int dummy_init(void)
{
	int i, err = 0;

	for (i = 0; i < numdummies && !err; i++)
		err = dummy_setup(i);
	return err ? err : dummy_xmit(0, 0);
}

static void dummy_exit(void)
{
	stats.tx_packets = 0;
}

module_init(dummy_init);
module_exit(dummy_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Dummy netdevice driver which discards all packets sent to it");
MODULE_ALIAS("rtnl-link-dummy");
