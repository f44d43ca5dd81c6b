/* Name tables for the counters declared in drop.def and stats.def. */
#include "stats.h"

static const char *const drop_names[] = {
#define X(name, text) text,
#include "drop.def"
#undef X
};

static const char *const drop_ids[] = {
#define X(name, text) #name,
#include "drop.def"
#undef X
};

static const char *const stat_names[] = {
#define X(name, text) text,
#include "stats.def"
#undef X
};

static const char *const stat_ids[] = {
#define X(name, text) #name,
#include "stats.def"
#undef X
};

const char *
ust_drop_name(enum ust_drop why)
{
	return (unsigned)why < UST_DROP_MAX ? drop_names[why] : "?";
}

const char *
ust_drop_id(enum ust_drop why)
{
	return (unsigned)why < UST_DROP_MAX ? drop_ids[why] : "?";
}

const char *
ust_stat_name(enum ust_stat what)
{
	return (unsigned)what < UST_STAT_MAX ? stat_names[what] : "?";
}

const char *
ust_stat_id(enum ust_stat what)
{
	return (unsigned)what < UST_STAT_MAX ? stat_ids[what] : "?";
}
