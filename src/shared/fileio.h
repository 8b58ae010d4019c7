/* Reading files with a size cap, writing them atomically, making directories. */
#pragma once

#include <stddef.h>

/* Reads all of PATH (at most MAX bytes, else -EFBIG) into a NUL-terminated buffer. */
int read_file_capped(const char *path, size_t max, char **ret_buf, size_t *ret_len);
/* Writes DATA to PATH through a temporary file in the same directory and rename(2). */
int write_file_atomic(const char *path, const void *data, size_t len, int mode);
/* mkdir -p; MODE applies to directories created. */
int mkdir_p(const char *path, int mode);
/* rm -rf of a tree; missing is fine. */
int rm_rf(const char *path);
/* Joins two path components with one slash; NULL on allocation failure. */
char *path_join(const char *a, const char *b);
