/* unit.h: what every unit test needs besides cmocka itself.
 *
 * cmocka wants <stdarg.h>, <stddef.h> and <setjmp.h> before <cmocka.h>; the
 * helpers below make scratch files in a private mkdtemp directory, so tests
 * never touch anything outside it and clean up after themselves. */
#ifndef GK_UNIT_H
#define GK_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Creates a fresh private directory; the path goes into dir (PATH_MAX). */
static inline void unit_mkdtemp(char *dir)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, PATH_MAX, "%s/gk-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		fail_msg("unable to create a temporary directory under '%s'", dir);
}

/* Joins dir and name into out (PATH_MAX). */
static inline void unit_path(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	assert_true(n > 0 && n < PATH_MAX);
}

static inline void unit_write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Reads a whole small file into a malloc'd NUL-terminated buffer. */
static inline char *unit_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)size;
	return buf;
}

/* Removes dir and the plain files in it (the tests make no subdirectories). */
static inline void unit_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		unit_path(path, dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* A malloc'd string of n copies of c. */
static inline char *unit_repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* A malloc'd string of n copies of piece. */
static inline char *unit_repeat_str(const char *piece, size_t n)
{
	size_t len = strlen(piece);
	char *s = malloc(len * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * len, piece, len);
	s[len * n] = '\0';
	return s;
}

#endif
