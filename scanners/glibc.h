/* Every fact about glibc's (and ld.so's) memory layout that reachcheck
 * relies on, in one place: Debian 12's glibc 2.36 on x86-64. A newer glibc
 * that changes one of them changes it here. docs/roots.md says where each
 * root lives and why. */
#ifndef RC_GLIBC_H
#define RC_GLIBC_H
#include <stddef.h>
#include <stdint.h>

/* x86-64 is TLS_TCB_AT_TP: the thread pointer (%fs base, pthread_self())
 * points at the thread descriptor (struct pthread, whose first member is the
 * TCB); the static TLS blocks of the initially loaded modules sit just below
 * it, the block of module k at tp - offset(k). */
#define RC_GLIBC_TLS_STATIC_SIZE 4096u   /* fallback for _dl_get_tls_static_info */
#define RC_GLIBC_TCB_SIZE 2304u          /* fallback for _thread_db_sizeof_pthread */

/* tcbhead_t.dtv, at tp + 8, points at dtv[1]; dtv[-1].counter is the number
 * of entries; dtv[k].pointer.val is module k's dynamic TLS block (NULL or
 * TLS_DTV_UNALLOCATED, -1, when not allocated yet). */
#define RC_GLIBC_TCB_DTV_OFFSET 8u
struct rc_dtv_entry { uintptr_t val, to_free; };
#define RC_GLIBC_DTV_UNALLOCATED UINTPTR_MAX
#define RC_GLIBC_DTV_MAX (1u << 20)      /* more entries than this: not a DTV */

/* The sizes of this process's glibc, read once through GLIBC_PRIVATE
 * symbols (as LeakSanitizer does), else the fallbacks above: the static
 * TLS area (including the TCB) and the thread descriptor. */
struct rc_tls_layout { size_t static_size, tcb_size; };
const struct rc_tls_layout *rc_tls_layout(void);
#endif
