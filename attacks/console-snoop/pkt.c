/* Ethernet/IPv4/TCP parsing: header layouts from RFC 894 (Ethernet II),
 * IEEE 802.1Q, RFC 791 section 3.1 (IPv4) and RFC 793 section 3.1 (TCP). */
#include "pkt.h"

#include <errno.h>

#define ETH_HLEN_ 14
#define VLAN_HLEN_ 4
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_VLAN 0x8100
#define IPV4_MIN_HLEN 20
#define IPPROTO_TCP_ 6
#define IPV4_FLAG_MF 0x2000
#define IPV4_FRAG_OFFSET_MASK 0x1fff
#define TCP_MIN_HLEN 20

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int snoop_parse_eth(const uint8_t *frame, size_t len, struct snoop_seg *seg)
{
    size_t off = 12;            /* destination and source MAC */

    if (len < ETH_HLEN_)
        return -EINVAL;
    uint16_t type = be16(frame + off);
    off += 2;
    if (type == ETHERTYPE_VLAN) {
        if (len < ETH_HLEN_ + VLAN_HLEN_)
            return -EINVAL;
        type = be16(frame + off + 2);
        off += VLAN_HLEN_;
    }
    if (type != ETHERTYPE_IPV4)
        return -EPROTONOSUPPORT;

    const uint8_t *ip = frame + off;
    size_t ip_avail = len - off;
    if (ip_avail < IPV4_MIN_HLEN)
        return -EINVAL;
    if (ip[0] >> 4 != 4)
        return -EINVAL;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    size_t tot_len = be16(ip + 2);
    if (ihl < IPV4_MIN_HLEN || tot_len < ihl || tot_len > ip_avail)
        return -EINVAL;
    uint16_t frag = be16(ip + 6);
    if ((frag & IPV4_FLAG_MF) || (frag & IPV4_FRAG_OFFSET_MASK))
        return -EPROTONOSUPPORT;
    if (ip[9] != IPPROTO_TCP_)
        return -EPROTONOSUPPORT;

    const uint8_t *tcp = ip + ihl;
    size_t tcp_len = tot_len - ihl;
    if (tcp_len < TCP_MIN_HLEN)
        return -EINVAL;
    size_t doff = (size_t)(tcp[12] >> 4) * 4;
    if (doff < TCP_MIN_HLEN || doff > tcp_len)
        return -EINVAL;

    seg->saddr = be32(ip + 12);
    seg->daddr = be32(ip + 16);
    seg->sport = be16(tcp);
    seg->dport = be16(tcp + 2);
    seg->seq = be32(tcp + 4);
    seg->flags = tcp[13];
    seg->payload = tcp + doff;
    seg->payload_len = tcp_len - doff;
    return 0;
}
