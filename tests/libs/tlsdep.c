/* A shared library linked by tls_static: its __thread variable lives in the
 * static TLS block of every thread. */
__thread void *tlsdep_ptr;
void tlsdep_set(void *p) { tlsdep_ptr = p; }
void *tlsdep_get(void) { return tlsdep_ptr; }

/* A global of an initially loaded library (used by the globals test). */
void *tlsdep_global;
void tlsdep_set_global(void *p) { tlsdep_global = p; }
