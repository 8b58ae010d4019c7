/*
 * Guest helper of module-branch-test.sh: turns a bridge's MST mode on or off (the
 * IFLA_BR_MULTI_BOOLOPT netlink attribute, which busybox's ip and brctl cannot set), which
 * turns the bridge module's static key br_mst_used on or off.
 * usage: br-mst BRIDGE 0|1   (built static, run inside the qemu guest)
 */
#include <errno.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct req {
	struct nlmsghdr nh;
	struct ifinfomsg ifi;
	char attrs[256];
};

/* Appends an attribute to R; returns it, for nesting. */
static struct rtattr *attr_add(struct req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	if (NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_SPACE(len) > sizeof(*r)) {
		fprintf(stderr, "br-mst: request too long\n");
		exit(1);
	}
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_SPACE(len);
	return a;
}

static void nest_end(struct req *r, struct rtattr *a)
{
	a->rta_len = (unsigned short)((char *)r + r->nh.nlmsg_len - (char *)a);
}

int main(int argc, char **argv)
{
	struct br_boolopt_multi bm = {.optmask = 1u << BR_BOOLOPT_MST_ENABLE};
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	struct req r = {};
	struct rtattr *info, *data;
	char buf[4096];
	struct nlmsghdr *nh;
	unsigned idx;
	ssize_t n;
	int fd;

	if (argc != 3 || (strcmp(argv[2], "0") && strcmp(argv[2], "1"))) {
		fprintf(stderr, "usage: br-mst BRIDGE 0|1\n");
		return 2;
	}
	idx = if_nametoindex(argv[1]);
	if (!idx) {
		fprintf(stderr, "br-mst: no interface '%s'\n", argv[1]);
		return 1;
	}
	if (argv[2][0] == '1')
		bm.optval = bm.optmask;

	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(r.ifi));
	r.nh.nlmsg_type = RTM_NEWLINK;
	r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r.nh.nlmsg_seq = 1;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = (int)idx;
	info = attr_add(&r, IFLA_LINKINFO, NULL, 0);
	attr_add(&r, IFLA_INFO_KIND, "bridge", strlen("bridge"));
	data = attr_add(&r, IFLA_INFO_DATA, NULL, 0);
	attr_add(&r, IFLA_BR_MULTI_BOOLOPT, &bm, sizeof(bm));
	nest_end(&r, data);
	nest_end(&r, info);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0 || sendto(fd, &r, r.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("br-mst: netlink");
		return 1;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	nh = (struct nlmsghdr *)buf;
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || nh->nlmsg_type != NLMSG_ERROR) {
		fprintf(stderr, "br-mst: no answer from the kernel\n");
		return 1;
	}
	if (((struct nlmsgerr *)NLMSG_DATA(nh))->error) {
		fprintf(stderr, "br-mst: %s: %s\n", argv[1],
			strerror(-((struct nlmsgerr *)NLMSG_DATA(nh))->error));
		return 1;
	}
	close(fd);
	return 0;
}
