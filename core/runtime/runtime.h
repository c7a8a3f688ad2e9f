/* The runtime layer: start-up, fork handlers and the at-exit check
 * (runtime/init.c) and the public API of include/reachcheck.h
 * (runtime/api.c). Uses every layer below. */
#ifndef RC_RUNTIME_H
#define RC_RUNTIME_H
#include "base/base.h"
#include "check/mark.h"
#include "report/report.h"
#include "retain/retain.h"
#include "reachcheck.h"
#endif
