// SPDX-License-Identifier: GPL-2.0-or-later
/* IPv6: address classification and the pseudo-header checksum. */
#include <linux/minimod.h>

struct in6_addr {
	unsigned char s6_addr[16];
};

static int ipv6_addr_loopback(const struct in6_addr *a)
{
	int i;

	for (i = 0; i < 15; i++)
		if (a->s6_addr[i])
			return 0;
	return a->s6_addr[15] == 1;
}

static int ipv6_addr_is_multicast(const struct in6_addr *a)
{
	return a->s6_addr[0] == 0xff;
}

static unsigned short csum_ipv6_magic(const struct in6_addr *saddr,
				      const struct in6_addr *daddr,
				      unsigned int len, unsigned char proto)
{
	unsigned long sum = len + proto;
	int i;

	for (i = 0; i < 16; i += 2) {
		sum += (unsigned int)(saddr->s6_addr[i] << 8 | saddr->s6_addr[i + 1]);
		sum += (unsigned int)(daddr->s6_addr[i] << 8 | daddr->s6_addr[i + 1]);
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (unsigned short)~sum;
}

static int inet6_init(void)
{
	struct in6_addr lo = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};

	if (!ipv6_addr_loopback(&lo) || ipv6_addr_is_multicast(&lo))
		return -1;
	printk("NET: Registered PF_INET6 protocol family\n");
	return csum_ipv6_magic(&lo, &lo, 8, 17) ? 0 : -1;
}

static void inet6_exit(void)
{
}

module_init(inet6_init);
module_exit(inet6_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IPv6 protocol stack for Linux");
MODULE_ALIAS("net-pf-10");
