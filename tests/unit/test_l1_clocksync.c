/* sources: src/l1/usshadow/clocksync.c */
/*
 * The migration managers' clock offset: exact for symmetric delays, the
 * exchange with the shortest round trip wins, impossible times are refused.
 */
#include <math.h>

#include "../../src/l1/usshadow/clocksync.h"
#include "unit.h"

static int near(double a, double b)
{
    return fabs(a - b) < 1e-9;
}

int main(void)
{
    struct clocksync c;

    clocksync_init(&c);
    unit_check("empty", c.n == 0 && c.rtt < 0, "n %d rtt %f", c.n, c.rtt);
    /* Peer 5 s ahead; 2 ms each way; the peer takes 1 ms. */
    unit_check("symmetric_taken", clocksync_add(&c, 100.000, 105.002, 105.003, 100.005) == 0 &&
               c.n == 1, "n %d", c.n);
    unit_check("symmetric_offset", near(c.offset, 5.0) && near(c.rtt, 0.004),
               "offset %.9f rtt %.9f", c.offset, c.rtt);
    /* A slower exchange (8 ms out, 2 ms back) does not replace it. */
    clocksync_add(&c, 101.000, 106.008, 106.009, 101.011);
    unit_check("slower_kept_out", c.n == 2 && near(c.offset, 5.0) && near(c.rtt, 0.004),
               "offset %.9f rtt %.9f", c.offset, c.rtt);
    /* A faster one does: 1.5 ms out, 1 ms back, so its offset is off by half the difference. */
    clocksync_add(&c, 102.000, 107.0015, 107.0016, 102.0026);
    unit_check("faster_taken", c.n == 3 && near(c.rtt, 0.0025) && near(c.offset, 5.00025),
               "offset %.9f rtt %.9f", c.offset, c.rtt);
    unit_check("answer_before_question_refused",
               clocksync_add(&c, 103.0, 108.0, 108.001, 102.9) == -1 && c.n == 3, "taken");
    unit_check("peer_answer_before_receipt_refused",
               clocksync_add(&c, 103.0, 108.002, 108.001, 103.004) == -1 && c.n == 3, "taken");
    unit_check("peer_longer_than_round_trip_refused",
               clocksync_add(&c, 103.0, 108.0, 108.010, 103.004) == -1 && c.n == 3, "taken");
    return unit_exit();
}
