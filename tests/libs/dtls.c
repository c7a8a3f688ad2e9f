/* A library loaded with dlopen: its TLS is dynamic TLS, allocated lazily by
 * __tls_get_addr and reached only through each thread's DTV. */
__thread void *dtls_ptr;
__thread char dtls_pad[100] = {1};
void dtls_set(void *p) { dtls_ptr = p; dtls_pad[0]++; }
void *dtls_get(void) { return dtls_ptr; }
