/* libdwfl callbacks: local debug files only (no debuginfod downloads). */
#ifndef RC_DWFL_LOCAL_H
#define RC_DWFL_LOCAL_H
#include <elfutils/libdwfl.h>
extern const Dwfl_Callbacks rc_dwfl_local_callbacks;
#endif
