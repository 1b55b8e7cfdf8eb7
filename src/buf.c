/* buf.c: see buf.h. */
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "status.h"

#define BUF_ALLOC_MIN 1024
#define BUF_READ_CHUNK 16384

void buf_init(struct buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

/* Doubles, so a large buffer costs a few copies rather than one per
 * addition; realloc() is not used because it may free the old block
 * without wiping it. */
static int grow(struct buf *b, size_t want)
{
	size_t size = b->size ? b->size : BUF_ALLOC_MIN;
	char *grown;

	while (size < want && size <= SIZE_MAX / 2)
		size *= 2;
	if (size < want || size > b->cap + 1)
		size = b->cap + 1;
	grown = malloc(size);
	if (!grown)
		return GK_NOMEM;
	if (b->data) {
		memcpy(grown, b->data, b->len + 1);
		sodium_memzero(b->data, b->size);
		free(b->data);
	}
	b->data = grown;
	b->size = size;
	return GK_OK;
}

int buf_reserve(struct buf *b, size_t n)
{
	if (n > b->cap || b->len > b->cap - n)
		return GK_TOOBIG;
	if (b->data && b->len + n + 1 <= b->size)
		return GK_OK;
	if (grow(b, b->len + n + 1) != GK_OK)
		return GK_NOMEM;
	if (b->len == 0)
		b->data[0] = '\0';
	return GK_OK;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
	int rc = buf_reserve(b, len);

	if (rc != GK_OK)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return GK_OK;
}

void buf_truncate(struct buf *b, size_t len)
{
	if (!b->data || len >= b->len)
		return;
	sodium_memzero(b->data + len, b->len - len);
	b->len = len;
}

void buf_release(struct buf *b)
{
	if (b->data) {
		sodium_memzero(b->data, b->size);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->size = 0;
}

/* At the cap: one more byte means the file is too large. */
static int read_past_cap(int fd)
{
	char extra;
	ssize_t n;

	do
		n = read(fd, &extra, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return GK_ERR;
	sodium_memzero(&extra, sizeof(extra));
	return n == 0 ? GK_OK : GK_TOOBIG;
}

int buf_read_fd(struct buf *b, int fd)
{
	for (;;) {
		size_t room;
		ssize_t n;
		int rc;

		if (b->len >= b->cap)
			return read_past_cap(fd);
		room = b->cap - b->len < BUF_READ_CHUNK ? b->cap - b->len : BUF_READ_CHUNK;
		rc = buf_reserve(b, room);
		if (rc != GK_OK)
			return rc;
		/* size never passes cap + 1: the read cannot pass the cap */
		n = read(fd, b->data + b->len, b->size - b->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return GK_ERR;
		if (n == 0)
			return GK_OK;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
	}
}

int buf_read_file(struct buf *out, const char *path, struct stat *st, char *err, size_t errlen)
{
	struct stat local;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return set_error(err, errlen, "unable to open '%s': %s", path, strerror(errno));
	if (fstat(fd, st ? st : &local) != 0)
		rc = GK_ERR;
	else
		rc = buf_read_fd(out, fd);
	if (rc != GK_OK) {
		int saved = errno;

		close(fd);
		if (rc == GK_TOOBIG) {
			char size[BUF_SIZE_TEXT_MAX];

			return set_error(err, errlen, "unable to read '%s': larger than %s", path,
					 buf_size_text(out->cap, size, sizeof(size)));
		}
		return set_error(err, errlen, "unable to read '%s': %s", path,
				 rc == GK_NOMEM ? "out of memory" : strerror(saved));
	}
	close(fd);
	return GK_OK;
}

const char *buf_size_text(size_t n, char *out, size_t outlen)
{
	if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
		snprintf(out, outlen, "%zu MiB", n / (1024 * 1024));
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(out, outlen, "%zu KiB", n / 1024);
	else
		snprintf(out, outlen, "%zu bytes", n);
	return out;
}
