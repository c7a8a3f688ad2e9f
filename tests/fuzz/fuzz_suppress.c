/* libFuzzer target: the suppression-file parser and pattern matcher
 * (core/report/suppress.c). The file is the input; matching runs against frames
 * whose names come from the input too. suppress.c is included so that its
 * pattern list can be reset between runs; the symbolizer and the stack depot
 * are stubbed. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../../core/report/suppress.c"

static char g_names[3][256];
static union { struct rc_stack s; char raw[sizeof(struct rc_stack) + 3 * sizeof(uintptr_t)]; } g_stack;

const struct rc_stack *rc_depot_get(uint32_t id) { return id ? &g_stack.s : NULL; }

void rc_symbolize(uintptr_t pc, uint32_t gen, struct rc_frame_info *out)
{
  (void)gen;
  memset(out, 0, sizeof *out);
  out->pc = pc;
  size_t i = pc % 3;
  snprintf(out->function, sizeof out->function, "%s", g_names[i]);
  out->file = g_names[(i + 1) % 3];
  out->module = g_names[(i + 2) % 3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int fd = -1;
  static char path[64];
  if (fd < 0) {
    fd = memfd_create("supp", 0);
    if (fd < 0) abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  /* the first 3 lines of the input also name the frames to match */
  size_t off = 0;
  for (int k = 0; k < 3; k++) {
    size_t n = 0;
    while (off < size && data[off] != '\n' && n < sizeof g_names[k] - 1) g_names[k][n++] = (char)data[off++];
    g_names[k][n] = 0;
    if (off < size) off++;
  }
  if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size) abort();
  g_stack.s.depth = 3;
  for (int k = 0; k < 3; k++) g_stack.s.pc[k] = (uintptr_t)k;
  char err[256];
  if (rc_suppress_load(path, err, sizeof err) == 0) {
    (void)rc_suppress_match(1);
    (void)rc_suppress_match(0);
  } else if (!memchr(err, 0, sizeof err)) {
    abort();
  }
  rc_vec_free(&pats);
  return 0;
}
