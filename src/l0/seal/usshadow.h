/*
 * USShadow in L0 (papers/002): a user VM's shadow-device state saved,
 * sealed, restored and released on behalf of L1's migration manager, which
 * asks by ultracall (src/common/ultracall_abi.h, ops SHADOW_*). The state is
 * QEMU's own VMState of the 16550 (vmstate_serial: registers, both FIFOs,
 * the transmitter and timers) plus the console output not yet delivered
 * (the device's ring), sealed by usshadow_seal.h. The sealed bytes are all
 * L1 ever sees; the key stays in L0.
 *
 * Restored state waits under its tag, console socket open, until the user
 * VM registers that tag by VMTAG_SET; vsbypass.c then binds it to the VM's
 * new nested CR3 (usshadow_find_restored / usshadow_forget_restored).
 */
#ifndef NVSEC_USSHADOW_H
#define NVSEC_USSHADOW_H

#include "shadow/vsbypass_int.h"
#include "ultracall_abi.h"

/*
 * Once the machine exists: USShadow is on if QEMU's secret object
 * USSHADOW_KEY_SECRET exists (-object secret,id=usshadow-key,file=KEYFILE,
 * format=raw). Its data: 64 hex digits (AES-256-GCM), or the word
 * "plaintext-demo" (the attack demo's unencrypted carrier, never for use).
 * Without it, or with bad data (logged), state cannot be saved or restored.
 */
#define USSHADOW_KEY_SECRET "usshadow-key"
void usshadow_init(VsbState *v);

/* BQL held: the restored device waiting under tag, or NULL. */
VsbDevice *usshadow_find_restored(VsbState *v, const char *tag);
/* BQL held: take one waiting restored device off the list (L0 reset), or NULL. */
VsbDevice *usshadow_take_any_restored(VsbState *v);
/* BQL held: true if any restored state waits for its VM on this L0. */
bool usshadow_waiting(VsbState *v);
/* BQL held: d (from usshadow_find_restored) is bound now; stop tracking it. */
void usshadow_forget_restored(VsbState *v, VsbDevice *d);

/*
 * The ultracall ops, from any thread (they take the BQL). tag: a checked
 * tag field. Return values as src/common/ultracall_abi.h lists per op.
 */
int usshadow_query(struct ultracall_shadow_entry *out, size_t max);
long usshadow_save(const char *tag, uint8_t *out, size_t cap);
int usshadow_restore(const char *tag, const uint8_t *blob, size_t len);
int usshadow_release(const char *tag);

#endif
