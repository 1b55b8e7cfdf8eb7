/* buf.h: a growable byte buffer with a hard cap, and the capped whole-file
 * reader built on it.
 *
 * The owner sets the cap at buf_init(); an addition that would take the
 * length past it fails with GK_TOOBIG and leaves the buffer as it was, so
 * "the input is too large" stays apart from "malloc failed" (GK_NOMEM). The
 * bytes may be a key, or a provider's reply that echoes one: every block
 * the buffer leaves behind, when it grows and at buf_release(), is wiped
 * first. data is NUL-terminated whenever it is not NULL, and is never
 * larger than cap + 1 bytes. */
#ifndef GK_BUF_H
#define GK_BUF_H

#include <stddef.h>
#include <sys/stat.h>

struct buf {
	char *data;  /* malloc'd, NUL-terminated; NULL until the first byte */
	size_t len;  /* bytes held, the NUL not counted */
	size_t size; /* bytes allocated */
	size_t cap;  /* the most len may reach */
};

void buf_init(struct buf *b, size_t cap);

/* Makes room for n more bytes and the NUL. GK_OK, GK_TOOBIG when len + n
 * would pass the cap, GK_NOMEM. */
int buf_reserve(struct buf *b, size_t n);

/* Appends len bytes; the same codes as buf_reserve(), and on failure the
 * buffer is unchanged. */
int buf_add(struct buf *b, const void *data, size_t len);

/* Cuts the content to len bytes (len <= b->len), wiping what is cut. */
void buf_truncate(struct buf *b, size_t len);

/* Wipes and frees; the buffer is empty again and keeps its cap. */
void buf_release(struct buf *b);

/* Appends everything left to read on fd, then stops at end of file.
 * GK_OK; GK_TOOBIG when there is more than the cap allows; GK_NOMEM; GK_ERR
 * when read() fails (errno says why). */
int buf_read_fd(struct buf *b, int fd);

/* Reads the file at path into out, which the caller has buf_init()'d with
 * the file's cap (and releases, whatever the result). st, when not NULL,
 * receives the open file's fstat(). On failure err says what failed
 * ("unable to read 'path': larger than 64 KiB") and the code is GK_ERR. */
int buf_read_file(struct buf *out, const char *path, struct stat *st, char *err, size_t errlen);

/* A byte count for a message: "64 KiB", "1 MiB", else "1000 bytes", so a
 * message quotes the constant that set the limit, never a copy of it. */
const char *buf_size_text(size_t n, char *out, size_t outlen);
#define BUF_SIZE_TEXT_MAX 32

#endif
