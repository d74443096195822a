/* Knuth-Morris-Pratt prefix matching (Knuth, Morris, Pratt 1977; CLRS 32.4). */
#include "secret.h"

#include <errno.h>
#include <string.h>

int secret_init(struct secret *s, const uint8_t *bytes, size_t len)
{
    if (len == 0 || len > SECRET_MAX)
        return -EINVAL;
    memcpy(s->s, bytes, len);
    s->len = len;
    s->fail[0] = 0;
    size_t k = 0;
    for (size_t i = 1; i < len; i++) {
        while (k > 0 && s->s[i] != s->s[k])
            k = s->fail[k - 1];
        if (s->s[i] == s->s[k])
            k++;
        s->fail[i] = k;
    }
    return 0;
}

size_t secret_feed(const struct secret *s, size_t *state, const uint8_t *data, size_t n)
{
    size_t k = *state, best = k;

    for (size_t i = 0; i < n; i++) {
        /* After a full match, continue from its longest border. */
        while (k > 0 && (k == s->len || s->s[k] != data[i]))
            k = s->fail[k - 1];
        if (s->s[k] == data[i])
            k++;
        if (k > best)
            best = k;
    }
    *state = k;
    return best;
}
