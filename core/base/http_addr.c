/* Parsing and vetting http= addresses (see http_addr.h); shared by the
 * runtime and the launcher, which refuses a bad one before the program
 * starts. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include "base/http_addr.h"

int rc_http_parse_addr(const char *s, struct sockaddr_storage *sa, socklen_t *len, char *err, size_t errlen)
{
  memset(sa, 0, sizeof *sa);
  if (!strncmp(s, "unix:", 5)) {
    struct sockaddr_un *un = (struct sockaddr_un *)sa;
    const char *path = s + 5;
    if (!*path || strlen(path) >= sizeof un->sun_path) {
      snprintf(err, errlen, "bad value for option 'http=%.200s' (unix:PATH needs a path of 1 to %zu bytes)", s,
               sizeof un->sun_path - 1);
      return -1;
    }
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, strlen(path) + 1);
    *len = (socklen_t)sizeof *un;
    return 0;
  }
  const char *colon = strrchr(s, ':');
  if (!colon || !colon[1]) {
    snprintf(err, errlen, "bad value for option 'http=%.200s' (want 127.0.0.1:PORT, localhost:PORT, [::1]:PORT or unix:/PATH)", s);
    return -1;
  }
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535 || colon[1] < '0' || colon[1] > '9') {
    snprintf(err, errlen, "bad port in option 'http=%.200s' (want 0 to 65535; 0 picks a free one)", s);
    return -1;
  }
  char host[256];
  size_t hn = (size_t)(colon - s);
  if (hn >= sizeof host) hn = sizeof host - 1;
  memcpy(host, s, hn);
  host[hn] = 0;
  struct sockaddr_in *in4 = (struct sockaddr_in *)sa;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
  if (!strcmp(host, "localhost")) snprintf(host, sizeof host, "127.0.0.1");
  if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
    if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127) goto refuse;
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    *len = (socklen_t)sizeof *in4;
    return 0;
  }
  if (hn >= 2 && host[0] == '[' && host[hn - 1] == ']') {
    host[hn - 1] = 0;
    if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1) {
      if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) goto refuse;
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons((uint16_t)port);
      *len = (socklen_t)sizeof *in6;
      return 0;
    }
    host[hn - 1] = ']';
  }
refuse:
  snprintf(err, errlen, "refusing option 'http=%.200s': the endpoint serves heap contents and listens on loopback "
           "only (127.0.0.0/8, localhost, [::1]) or unix:/PATH", s);
  return -1;
}
