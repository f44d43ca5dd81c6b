/*
 * Counters: drop reasons (drop.def) and events (stats.def), one array each in
 * struct ust_stats, with the names `ustack stat` prints. The caller counts:
 * parsers return an enum ust_drop and the protocol code calls ust_drop().
 */
#ifndef UST_STATS_H
#define UST_STATS_H

#include <stdint.h>

enum ust_drop {
#define X(name, text) UST_DROP_##name,
#include "drop.def"
#undef X
	UST_DROP_MAX
};

enum ust_stat {
#define X(name, text) UST_STAT_##name,
#include "stats.def"
#undef X
	UST_STAT_MAX
};

struct ust_stats {
	uint64_t drop[UST_DROP_MAX]; /* packets dropped, by reason */
	uint64_t stat[UST_STAT_MAX]; /* events, by kind */
};

const char *ust_drop_name(enum ust_drop why);
const char *ust_stat_name(enum ust_stat what);
/* Short identifier (e.g. "IP_CSUM") for machine-readable output. */
const char *ust_drop_id(enum ust_drop why);
const char *ust_stat_id(enum ust_stat what);

#endif
