/* The address of the live endpoint (http=): a loopback IPv4 address
 * (127.0.0.0/8), localhost, [::1], each with :PORT, or unix:/PATH. Anything
 * else is refused: the endpoint serves the program's heap contents, stacks
 * and symbols to whoever connects, so it never listens beyond this host. */
#ifndef RC_PROFILE_HTTP_ADDR_H
#define RC_PROFILE_HTTP_ADDR_H
#include <stddef.h>
#include <sys/socket.h>

/* 0, or -1 with one line in err naming the problem. */
int rc_http_parse_addr(const char *s, struct sockaddr_storage *sa, socklen_t *len, char *err, size_t errlen);
#endif
