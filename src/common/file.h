/* Reading a whole file into memory, for the CLI's @FILE arguments, scenario files and
 * serve's certificates alike. */
#ifndef RINGLOAD_COMMON_FILE_H
#define RINGLOAD_COMMON_FILE_H

#include <stddef.h>

/* The regular file at path, whole and NUL-terminated, into a new *out (len bytes).
 * Returns 0, a negative errno from opening or reading, -EINVAL when it is not a regular
 * file, or -EFBIG when it is larger than max. */
int rl_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
