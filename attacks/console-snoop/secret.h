/*
 * How much of a secret a captured byte stream holds. Pure; unit-tested.
 *
 * Definition ("secret bytes captured"): the length of the longest prefix of
 * the secret that occurs as a contiguous run in one captured stream. Streams
 * are fed in chunks, in order; a match may span chunks (one keystroke per TCP
 * segment is the usual case), but not streams (each stream keeps its own state).
 * Computed with the Knuth-Morris-Pratt automaton: after each byte, the state is
 * the longest prefix of the secret that is a suffix of the stream so far.
 */
#ifndef SNOOP_SECRET_H
#define SNOOP_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define SECRET_MAX 256

struct secret {
    uint8_t s[SECRET_MAX];
    size_t len;
    size_t fail[SECRET_MAX];    /* fail[i]: longest proper border of s[0..i] */
};

/* Prepare s for matching. Returns 0, or -EINVAL if len is 0 or above SECRET_MAX. */
int secret_init(struct secret *s, const uint8_t *bytes, size_t len);

/*
 * Feed n bytes of one stream whose matcher state is *state (0 for a new
 * stream). Returns the longest secret prefix matched at any point of this
 * chunk, the carried-in state included; at most s->len.
 */
size_t secret_feed(const struct secret *s, size_t *state, const uint8_t *data, size_t n);

#endif
