/* Heap snapshots for the stack targets (see snapshot.c). */
#ifndef UST_FUZZ_SNAPSHOT_H
#define UST_FUZZ_SNAPSHOT_H

#include <stddef.h>

/* Record the blocks allocated from now on: the world being built. */
void snapshot_track(void);
/* Keep the recorded blocks' bytes, except those of blocks of scratch_size
 * bytes (packet buffers: no state); returns how many bytes are kept. */
size_t snapshot_take(size_t scratch_size);
/* Back to the heap as it was at snapshot_take(). */
void snapshot_restore(void);

#endif
