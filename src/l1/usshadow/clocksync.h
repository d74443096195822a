/*
 * The offset between two hosts' clocks from request/answer exchanges over
 * the managers' link (NTP's on-wire arithmetic): the destination's RESUME
 * and the source's STOP, each stamped by its own L1's QEMU, are put on one
 * clock to give the VM's downtime as the paper defines it (stopped until
 * resumed). Of all exchanges the one with the shortest round trip is kept:
 * its offset is off by at most half of that round trip.
 */
#ifndef NVSEC_L1_CLOCKSYNC_H
#define NVSEC_L1_CLOCKSYNC_H

struct clocksync {
    int n;              /* exchanges taken */
    double rtt;         /* the shortest round trip (s), less the peer's own time */
    double offset;      /* peer clock - local clock (s), from that exchange */
};

void clocksync_init(struct clocksync *c);
/*
 * One exchange, in seconds: t1 sent and t4 answered on the local clock, t2
 * received and t3 answered on the peer's. Returns 0, or -1 (not taken) if
 * the times cannot be (t4 < t1 or t3 < t2).
 */
int clocksync_add(struct clocksync *c, double t1, double t2, double t3, double t4);

#endif
