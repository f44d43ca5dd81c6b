/*
 * Time in the stack is a uint64_t of monotonic nanoseconds handed in by the
 * caller of ust_stack_poll(); nothing in src/stack reads a clock, so tests run
 * in virtual time and a fuzzer is deterministic.
 */
#ifndef UST_TIME_H
#define UST_TIME_H

#include <stdint.h>

#define UST_NS_PER_US 1000ull
#define UST_NS_PER_MS 1000000ull
#define UST_NS_PER_S 1000000000ull
/* "No deadline": what ust_stack_next_deadline() returns when nothing is armed. */
#define UST_TIME_NEVER UINT64_MAX

#endif
