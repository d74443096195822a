/*
 * The local protocol between the interrupt server (nvsec-irqserver) and its
 * injectors (libnvsec-irqinject.so inside each of L1's QEMU processes), over
 * one AF_UNIX SOCK_SEQPACKET socket (default IRQPROTO_SOCK_DEFAULT), so every
 * send is one whole message and nothing needs framing.
 *
 *   injector -> server, once, first: a hello of IRQPROTO_HELLO_SIZE bytes,
 *     little-endian, no padding:
 *       0  4  magic    IRQPROTO_HELLO_MAGIC ("NVIH" as bytes)
 *       4  2  version  IRQPROTO_VERSION
 *       6  2  length   IRQPROTO_HELLO_SIZE
 *       8 24  tag      the VM tag this QEMU runs (src/common/ultracall_abi.h rules)
 *     Anything else the injector sends ends the connection.
 *   server -> injector: irqmsg messages (src/common/irqmsg.h), one per
 *     datagram, tag = the injector's tag, in the order to inject. The first
 *     ones after the hello are the tag's current levels.
 *
 * One injector per tag: a later hello for a tag that a connected injector
 * holds is kept waiting, and takes over (with the tag's current levels) when
 * the holder disconnects. Pure encode/decode here; unit-tested.
 */
#ifndef NVSEC_IRQPROTO_H
#define NVSEC_IRQPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/ultracall_abi.h"

#define IRQPROTO_SOCK_DEFAULT "/run/nvsec/irq.sock"
#define IRQPROTO_HELLO_MAGIC 0x4849564eu        /* "NVIH" little-endian */
#define IRQPROTO_VERSION 1u
#define IRQPROTO_HELLO_SIZE 32u

/*
 * Encode a hello for tag (a C string). Returns IRQPROTO_HELLO_SIZE, -EINVAL if
 * tag is not a valid VM tag, -ENOSPC if out_len < IRQPROTO_HELLO_SIZE.
 */
int irqproto_hello_encode(const char *tag, uint8_t *out, size_t out_len);

/*
 * Decode a hello of exactly len bytes into tag (NUL-padded field). Returns 0,
 * -EMSGSIZE for a wrong length, -EPROTO for a bad magic, version or length
 * field, -EINVAL for a bad tag.
 */
int irqproto_hello_decode(const uint8_t *buf, size_t len, char tag[ULTRACALL_VMTAG_SIZE]);

#endif
