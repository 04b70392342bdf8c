/* See file.h. */
#include "common/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int rl_read_file(const char *path, size_t max, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	struct stat st;
	int rc = 0;
	if (fstat(fileno(f), &st))
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
	else if ((unsigned long long)st.st_size > max)
		rc = -EFBIG;
	char *buf = rc ? NULL : malloc((size_t)st.st_size + 1);
	if (!rc && !buf)
		rc = -ENOMEM;
	if (!rc && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		rc = ferror(f) ? -EIO : -EAGAIN; /* an error, or the file shrank while read */
	fclose(f);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[st.st_size] = 0;
	*out = buf;
	*len = (size_t)st.st_size;
	return 0;
}
