/* sources: src/l0/seal/usshadow_seal.c */
/* libs: -lnettle */
/*
 * Sealing of shadow-device state: a blob opens only with the right key, for
 * the VM it was sealed for, unchanged and complete, and only once per
 * sequence number. Every refusal the issue names (failed authentication,
 * replay, truncation, another VM) plus key-file parsing and the plaintext's
 * own decoder, table-driven. Blobs live in exactly-sized heap blocks, so an
 * over-read is an ASan abort.
 */
#define _GNU_SOURCE                     /* memmem */
#include <errno.h>
#include <string.h>

#include "unit.h"
#include "usshadow_seal.h"

static const char key_hex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

static const char tag_a[ULTRACALL_VMTAG_SIZE] = "vm0";
static const char tag_b[ULTRACALL_VMTAG_SIZE] = "vm1";
static const char tag_bad[ULTRACALL_VMTAG_SIZE] = "BAD";
static const char tag_109[ULTRACALL_VMTAG_SIZE] = "vm109";
static const uint8_t nonce1[USSHADOW_NONCE_SIZE] = { 1, 2, 3 };
static const uint8_t nonce2[USSHADOW_NONCE_SIZE] = { 9, 9, 9 };
static const uint8_t secret[] = "root password: hunter2, typed before migration";

static struct usshadow_key key;

static size_t seal_into(uint8_t *out, size_t cap, const char *tag, uint64_t seq,
                        const uint8_t *nonce, enum usshadow_mode mode)
{
    long n = usshadow_seal(&key, mode, tag, seq, nonce, secret, sizeof(secret),
                           out, cap);

    if (n < 0) {
        printf("FAIL setup: seal %ld\n", n);
        exit(1);
    }
    return (size_t)n;
}

static long open_copy(const uint8_t *blob, size_t len, const struct usshadow_key *k,
                      const char *tag, uint64_t *seq, uint8_t *pt)
{
    uint8_t *exact = unit_exact(blob, len);
    long rc = usshadow_unseal(k, USSHADOW_AES_GCM, tag, exact, len, seq, pt,
                              sizeof(secret));

    free(exact);
    return rc;
}

static void key_cases(void)
{
    static const struct {
        const char *name;
        const char *text;
        int rc;
    } cases[] = {
        { "key_hex_newline", key_hex, 0 },
        { "key_hex_no_newline", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0 },
        { "key_uppercase", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", 0 },
        { "key_short", "0001020304", -EINVAL },
        { "key_empty", "", -EINVAL },
        { "key_63_digits", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1", -EINVAL },
        { "key_non_hex", "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", -EINVAL },
        { "key_two_newlines", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\n", -EINVAL },
    };
    struct usshadow_key k;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = usshadow_key_parse(cases[i].text, strlen(cases[i].text), &k);

        unit_check(cases[i].name, rc == cases[i].rc && (rc != 0 || (k.k[0] == 0 && k.k[31] == 0x1f)),
                   "rc %d want %d", rc, cases[i].rc);
    }
}

static void refusal_cases(void)
{
    uint8_t blob[512], other[512], pt[sizeof(secret)];
    struct usshadow_key wrong = key;
    size_t len = seal_into(blob, sizeof(blob), tag_a, 7, nonce1, USSHADOW_AES_GCM);
    uint64_t seq = 0;
    long rc;

    rc = open_copy(blob, len, &key, tag_a, &seq, pt);
    unit_check("seal_roundtrip", rc == (long)sizeof(secret) && seq == 7 &&
               memcmp(pt, secret, sizeof(secret)) == 0, "rc %ld seq %llu", rc,
               (unsigned long long)seq);
    unit_check("seal_ciphertext_hides_plaintext",
               memmem(blob, len, "hunter2", 7) == NULL, "plaintext visible in blob");
    unit_check("seal_length", len == sizeof(secret) + USSHADOW_OVERHEAD, "len %zu", len);

    /* Same state, same sequence, fresh nonce: a different ciphertext. */
    size_t len2 = seal_into(other, sizeof(other), tag_a, 7, nonce2, USSHADOW_AES_GCM);
    unit_check("seal_fresh_nonce_changes_ciphertext", len2 == len &&
               memcmp(other + USSHADOW_HDR_SIZE, blob + USSHADOW_HDR_SIZE,
                      len - USSHADOW_HDR_SIZE) != 0, "same ciphertext");

    /* Every single bit of the blob is covered: header (AAD), ciphertext, MAC. */
    int flips_ok = 1;
    for (size_t i = USSHADOW_MAGIC_SIZE; i < len && flips_ok; i++) {
        memcpy(other, blob, len);
        other[i] ^= 0x01;
        rc = open_copy(other, len, &key, tag_a, &seq, pt);
        /* The length field's low bit makes it a truncation: -EINVAL first. */
        if (rc != -EBADMSG && rc != -EINVAL) {
            printf("  byte %zu flipped: rc %ld\n", i, rc);
            flips_ok = 0;
        }
    }
    unit_check("refuse_any_bit_flip", flips_ok, "a modified blob opened");

    memcpy(other, blob, len);
    memcpy(other + USSHADOW_MAGIC_SIZE, tag_b, ULTRACALL_VMTAG_SIZE);
    rc = open_copy(other, len, &key, tag_b, &seq, pt);
    unit_check("refuse_relabelled_identity", rc == -EBADMSG, "rc %ld", rc);

    memcpy(other, blob, len);
    other[USSHADOW_MAGIC_SIZE + ULTRACALL_VMTAG_SIZE] ^= 0xff;  /* seq */
    rc = open_copy(other, len, &key, tag_a, &seq, pt);
    unit_check("refuse_edited_sequence", rc == -EBADMSG, "rc %ld", rc);

    wrong.k[5] ^= 0x80;
    rc = open_copy(blob, len, &wrong, tag_a, &seq, pt);
    unit_check("refuse_wrong_key", rc == -EBADMSG, "rc %ld", rc);

    rc = open_copy(blob, len, &key, tag_b, &seq, pt);
    unit_check("refuse_other_vm", rc == -EACCES, "rc %ld", rc);

    static const size_t cuts[] = { 0, 1, 7, USSHADOW_HDR_SIZE - 1, USSHADOW_HDR_SIZE,
                                   USSHADOW_OVERHEAD - 1, USSHADOW_OVERHEAD };
    int trunc_ok = 1;
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        rc = open_copy(blob, cuts[i], &key, tag_a, &seq, pt);
        trunc_ok &= rc == -EINVAL;
    }
    rc = open_copy(blob, len - 1, &key, tag_a, &seq, pt);
    trunc_ok &= rc == -EINVAL;
    unit_check("refuse_truncated", trunc_ok, "a truncated blob was not -EINVAL");

    memcpy(other, blob, len);
    other[len] = 0;
    rc = open_copy(other, len + 1, &key, tag_a, &seq, pt);
    unit_check("refuse_trailing_bytes", rc == -EINVAL, "rc %ld", rc);

    memcpy(other, blob, len);
    other[0] = 'X';
    rc = open_copy(other, len, &key, tag_a, &seq, pt);
    unit_check("refuse_bad_magic", rc == -EINVAL, "rc %ld", rc);

    memcpy(other, blob, len);
    other[USSHADOW_HDR_SIZE - 1] = 0xff;    /* length field high byte: huge */
    rc = open_copy(other, len, &key, tag_a, &seq, pt);
    unit_check("refuse_huge_length_field", rc == -EINVAL, "rc %ld", rc);

    rc = usshadow_seal(&key, USSHADOW_AES_GCM, tag_a, 1, nonce1, secret,
                       sizeof(secret), other, sizeof(secret) + USSHADOW_OVERHEAD - 1);
    unit_check("seal_refuses_short_output", rc == -ENOSPC, "rc %ld", rc);
    rc = usshadow_seal(&key, USSHADOW_AES_GCM, tag_bad, 1, nonce1, secret,
                       sizeof(secret), other, sizeof(other));
    unit_check("seal_refuses_bad_tag", rc == -EINVAL, "rc %ld", rc);
}

static void plaintext_demo_cases(void)
{
    uint8_t blob[512], pt[sizeof(secret)];
    size_t len = seal_into(blob, sizeof(blob), tag_a, 3, nonce1, USSHADOW_PLAINTEXT_DEMO);
    uint64_t seq = 0;
    long rc = usshadow_unseal(&key, USSHADOW_PLAINTEXT_DEMO, tag_a, blob, len, &seq,
                              pt, sizeof(pt));

    unit_check("demo_plaintext_visible", memmem(blob, len, "hunter2", 7) != NULL,
               "demo mode should carry the state in the clear");
    unit_check("demo_roundtrip", rc == (long)sizeof(secret) && seq == 3, "rc %ld", rc);
}

static void replay_cases(void)
{
    struct usshadow_replay g = { 0 };
    int ok = 1;

    ok &= usshadow_replay_check(&g, tag_a, 1) == 0;
    ok &= usshadow_replay_commit(&g, tag_a, 5) == 0;
    unit_check("replay_same_seq_refused", usshadow_replay_check(&g, tag_a, 5) == -ESTALE, "accepted");
    unit_check("replay_older_seq_refused", usshadow_replay_check(&g, tag_a, 4) == -ESTALE, "accepted");
    unit_check("replay_newer_seq_accepted", usshadow_replay_check(&g, tag_a, 6) == 0, "refused");
    unit_check("replay_other_vm_independent", usshadow_replay_check(&g, tag_b, 1) == 0, "refused");
    ok &= usshadow_replay_commit(&g, tag_a, 3) == 0;    /* never goes back */
    unit_check("replay_commit_never_lowers", usshadow_replay_last(&g, tag_a) == 5, "lowered");
    for (int i = 0; i < 100 && ok; i++) {
        char t[ULTRACALL_VMTAG_SIZE] = { 0 };

        snprintf(t, sizeof(t), "vm%d", i + 10);
        ok &= usshadow_replay_commit(&g, t, (uint64_t)i + 1) == 0;
    }
    unit_check("replay_grows", ok && usshadow_replay_last(&g, tag_109) == 100 &&
               usshadow_replay_last(&g, tag_a) == 5, "lost entries");
    usshadow_replay_free(&g);
}

static void state_cases(void)
{
    static const uint8_t vm[] = { 1, 2, 3, 4, 5 }, ring[] = "abc", input[] = "ls -l\r";
    struct usshadow_state_view in = { vm, sizeof(vm), ring, 3, 42, input, 6 }, out;
    uint8_t buf[64];
    long n = usshadow_state_encode(&in, buf, sizeof(buf));
    int rc;
    uint8_t *exact;

    exact = unit_exact(buf, (size_t)n);
    rc = usshadow_state_decode(exact, (size_t)n, &out);
    unit_check("state_roundtrip", n == (long)usshadow_state_size(5, 3, 6) && rc == 0 &&
               out.vmstate_len == 5 && out.ring_len == 3 && out.ring_dropped == 42 &&
               memcmp(out.vmstate, vm, 5) == 0 && memcmp(out.ring, "abc", 3) == 0 &&
               out.input_len == 6 && memcmp(out.input, "ls -l\r", 6) == 0,
               "n %ld rc %d", n, rc);
    int trunc_ok = 1;
    for (long cut = 0; cut < n; cut++) {
        uint8_t *p = unit_exact(buf, (size_t)cut);

        trunc_ok &= usshadow_state_decode(p, (size_t)cut, &out) == -EINVAL;
        free(p);
    }
    unit_check("state_refuses_every_truncation", trunc_ok, "a prefix decoded");
    uint8_t *longer = unit_exact(buf, (size_t)n + 1);
    unit_check("state_refuses_trailing_byte",
               usshadow_state_decode(longer, (size_t)n + 1, &out) == -EINVAL, "decoded");
    free(longer);
    exact[n - 6 - 4] = 7;                   /* input length one past the end */
    unit_check("state_refuses_long_input", usshadow_state_decode(exact, (size_t)n, &out) == -EINVAL,
               "decoded");
    exact[n - 6 - 4] = 6;
    exact[4] = 0xff;                        /* vmstate length beyond the buffer */
    unit_check("state_refuses_long_vmstate", usshadow_state_decode(exact, (size_t)n, &out) == -EINVAL,
               "decoded");
    exact[4] = 5;
    memcpy(exact, "USST", 4);               /* the first format, without input */
    unit_check("state_refuses_old_magic", usshadow_state_decode(exact, (size_t)n, &out) == -EINVAL,
               "decoded");
    free(exact);
    unit_check("state_encode_short_output", usshadow_state_encode(&in, buf, 10) == -ENOSPC,
               "encoded");

    struct usshadow_state_view none = { vm, sizeof(vm), NULL, 0, 0, NULL, 0 };
    n = usshadow_state_encode(&none, buf, sizeof(buf));
    rc = n > 0 ? usshadow_state_decode(buf, (size_t)n, &out) : -1;
    unit_check("state_roundtrip_empty_blocks", rc == 0 && out.ring_len == 0 &&
               out.input_len == 0 && out.vmstate_len == 5, "n %ld rc %d", n, rc);
}

int main(void)
{
    if (usshadow_key_parse(key_hex, strlen(key_hex), &key) != 0) {
        printf("FAIL setup: key\n");
        return 1;
    }
    key_cases();
    refusal_cases();
    plaintext_demo_cases();
    replay_cases();
    state_cases();
    return unit_exit();
}
