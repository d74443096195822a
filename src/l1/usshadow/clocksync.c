#include "clocksync.h"

void clocksync_init(struct clocksync *c)
{
    c->n = 0;
    c->rtt = -1;
    c->offset = 0;
}

int clocksync_add(struct clocksync *c, double t1, double t2, double t3, double t4)
{
    double rtt = (t4 - t1) - (t3 - t2);

    if (t4 < t1 || t3 < t2 || rtt < 0) {
        return -1;
    }
    if (c->n == 0 || rtt < c->rtt) {
        c->rtt = rtt;
        c->offset = ((t2 - t1) + (t3 - t4)) / 2;
    }
    c->n++;
    return 0;
}
