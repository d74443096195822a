/*
 * TCP console flows for console-snoop: classifies segments by port range and
 * returns each direction's bytes once, in sequence order. Pure; unit-tested.
 *
 * The console server (L1's QEMU chardev) listens on a port in [port_lo,
 * port_hi]: a segment to such a port is client->VM (what the user types), one
 * from it is VM->client (what the VM prints). Retransmitted bytes are returned
 * once; a segment beyond the expected sequence number (a capture drop) is taken
 * as is and counted as a gap. A capture that starts mid-connection synchronises
 * on the first segment seen.
 */
#ifndef SNOOP_FLOW_H
#define SNOOP_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

#define SNOOP_MAX_FLOWS 64

enum snoop_dir { SNOOP_TO_VM = 0, SNOOP_FROM_VM = 1 };

struct snoop_half {
    bool synced;
    uint32_t next_seq;
    uint64_t bytes;             /* payload bytes returned */
    uint64_t gaps;              /* times bytes were missing */
};

struct snoop_flow {
    bool used;
    uint32_t client_addr, server_addr;
    uint16_t client_port, server_port;
    struct snoop_half half[2];  /* indexed by enum snoop_dir */
    size_t match_state;         /* the caller's secret matcher, client->VM; 0 on a new connection */
    uint64_t last_use;
};

struct snoop_flows {
    struct snoop_flow f[SNOOP_MAX_FLOWS];
    uint16_t port_lo, port_hi;
    uint64_t clock;
    uint64_t evicted;
};

void snoop_flows_init(struct snoop_flows *t, uint16_t port_lo, uint16_t port_hi);

/*
 * Account one segment. Returns -ENOENT if neither port is in the range;
 * otherwise 0 with *flow and *dir set and [*data, *data + *n) the new bytes
 * (n may be 0: a pure ACK, a retransmission). A SYN from the client starts a
 * new connection on the flow (state and matcher reset). When the table is full
 * the least recently used flow is reused.
 */
int snoop_flows_add(struct snoop_flows *t, const struct snoop_seg *seg,
                    struct snoop_flow **flow, enum snoop_dir *dir,
                    const uint8_t **data, size_t *n);

#endif
