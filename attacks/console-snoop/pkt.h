/*
 * Ethernet/IPv4/TCP parsing for console-snoop: one captured frame in, the TCP
 * segment it carries out. Pure (no syscalls), so it is unit-tested on the host
 * with truncated and hostile frames.
 */
#ifndef SNOOP_PKT_H
#define SNOOP_PKT_H

#include <stddef.h>
#include <stdint.h>

/* One TCP segment. Addresses and ports in host byte order; payload points into the frame. */
struct snoop_seg {
    uint32_t saddr, daddr;
    uint16_t sport, dport;
    uint32_t seq;
    uint8_t flags;              /* TCP flag byte (FIN 0x01, SYN 0x02, RST 0x04, ...) */
    const uint8_t *payload;
    size_t payload_len;
};

#define SNOOP_TCP_FIN 0x01
#define SNOOP_TCP_SYN 0x02
#define SNOOP_TCP_RST 0x04

/*
 * Parse an Ethernet II frame (at most one 802.1Q tag) carrying IPv4 and TCP.
 * The frame may be longer than the IP datagram (Ethernet padding); the payload
 * is bounded by the IP total length. Checksums are not checked: frames captured
 * on their way out precede checksum offload.
 *
 * Returns 0 and fills *seg; -EPROTONOSUPPORT for a well-formed frame that is
 * not unfragmented IPv4/TCP (ARP, IPv6, UDP, IP fragments); -EINVAL for a
 * truncated or inconsistent frame (lengths that do not fit, IHL < 5, TCP data
 * offset < 5).
 */
int snoop_parse_eth(const uint8_t *frame, size_t len, struct snoop_seg *seg);

#endif
