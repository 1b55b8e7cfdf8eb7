#include "keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "status.h"

#define KEYRING_FILE_MAX 8192

int valid_kid(const char *kid, size_t len)
{
	if (len == 0 || len > KID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = kid[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int parse_line(struct master_key *mk, const char *line, size_t len, unsigned lineno, char *err,
		      size_t errlen)
{
	const char *colon = memchr(line, ':', len);
	size_t kid_len, bin_len;
	const char *b64_end;

	if (!colon)
		return set_error(err, errlen, "line %u: expected KID:BASE64KEY", lineno);
	kid_len = (size_t)(colon - line);
	if (!valid_kid(line, kid_len))
		return set_error(err, errlen, "line %u: key id must be 1 to 32 of A-Z, a-z, 0-9, '-', '_'",
				 lineno);
	memcpy(mk->kid, line, kid_len);
	mk->kid[kid_len] = '\0';
	if (sodium_base642bin(mk->key, sizeof(mk->key), colon + 1, len - kid_len - 1, NULL, &bin_len,
			      &b64_end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    b64_end != line + len || bin_len != sizeof(mk->key))
		return set_error(err, errlen, "line %u: key must be 32 bytes in base64", lineno);
	return GK_OK;
}

static size_t trim_len(const char *line, size_t len)
{
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
		len--;
	return len;
}

int keyring_parse(struct keyring *ring, const char *text, size_t len, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	unsigned lineno = 0;

	ring->count = 0;
	ring->file_mode = 0;
	ring->keys = sodium_allocarray(KEYRING_MAX, sizeof(*ring->keys));
	if (!ring->keys)
		return set_error(err, errlen, "out of memory");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line_len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		lineno++;
		while (line_len && (*p == ' ' || *p == '\t')) {
			p++;
			line_len--;
		}
		line_len = trim_len(p, line_len);
		if (line_len && *p != '#') {
			if (ring->count == KEYRING_MAX) {
				keyring_release(ring);
				return set_error(err, errlen, "more than %d keys", KEYRING_MAX);
			}
			if (parse_line(&ring->keys[ring->count], p, line_len, lineno, err, errlen) != GK_OK) {
				keyring_release(ring);
				return GK_ERR;
			}
			if (keyring_find(ring, ring->keys[ring->count].kid,
					 strlen(ring->keys[ring->count].kid))) {
				set_error(err, errlen, "line %u: key id '%s' is used twice", lineno,
					  ring->keys[ring->count].kid);
				keyring_release(ring);
				return GK_ERR;
			}
			ring->count++;
		}
		p = nl ? nl + 1 : end;
	}
	if (ring->count == 0) {
		keyring_release(ring);
		return set_error(err, errlen, "no key in the file");
	}
	return GK_OK;
}

/* The mode of the file read (its fstat(), taken on the open file, not the
 * path, so the file checked is the file read); KEYRING_EXPOSED when other
 * users can read or write it. */
static int check_mode(const struct stat *st, const char *path, unsigned *mode, char *err, size_t errlen)
{
	*mode = (unsigned)st->st_mode & 07777;
	if (st->st_mode & (S_IROTH | S_IWOTH)) {
		set_error(err, errlen,
			  "master key file '%s' can be %s by other users (mode %04o); chmod 600 it and "
			  "keep it owned by the service's user",
			  path, st->st_mode & S_IROTH ? "read" : "written", *mode);
		return KEYRING_EXPOSED;
	}
	return GK_OK;
}

int keyring_group_access(const struct keyring *ring)
{
	return (ring->file_mode & (S_IRGRP | S_IWGRP)) != 0;
}

int keyring_load(struct keyring *ring, const char *path, char *err, size_t errlen)
{
	struct buf file;
	struct stat st;
	unsigned mode = 0;
	int rc;

	buf_init(&file, KEYRING_FILE_MAX);
	rc = buf_read_file(&file, path, &st, err, errlen);
	if (rc == GK_OK)
		rc = check_mode(&st, path, &mode, err, errlen);
	if (rc == GK_OK) {
		rc = keyring_parse(ring, file.data, file.len, err, errlen);
		if (rc != GK_OK)
			error_prefix(err, errlen, "'%s': ", path);
	}
	buf_release(&file); /* wipes the keys read */
	if (rc == GK_OK)
		ring->file_mode = mode;
	return rc;
}

void keyring_release(struct keyring *ring)
{
	sodium_free(ring->keys); /* wipes */
	ring->keys = NULL;
	ring->count = 0;
}

const struct master_key *keyring_current(const struct keyring *ring)
{
	return ring->count ? &ring->keys[ring->count - 1] : NULL;
}

const struct master_key *keyring_find(const struct keyring *ring, const char *kid, size_t kid_len)
{
	for (size_t i = 0; i < ring->count; i++)
		if (strlen(ring->keys[i].kid) == kid_len && memcmp(ring->keys[i].kid, kid, kid_len) == 0)
			return &ring->keys[i];
	return NULL;
}

/* A key id that sorts by creation: k + UTC date + 6 random hex digits. */
static void make_kid(char *kid, size_t len)
{
	unsigned char rnd[3];
	char hex[7];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(kid, len, "k%04d%02d%02d%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, hex);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return GK_ERR;
		buf += n;
		len -= (size_t)n;
	}
	return GK_OK;
}

/* Returns 1 when the file behind fd is empty or ends with a newline: a key
 * appended to a hand-written file must start on a line of its own. */
static int ends_with_newline(int fd)
{
	struct stat st;
	char last;

	if (fstat(fd, &st) != 0 || st.st_size == 0)
		return 1;
	return pread(fd, &last, 1, st.st_size - 1) == 1 && last == '\n';
}

int keyring_generate(const char *path, int append, char *kid_out, size_t kid_len, char *err, size_t errlen)
{
	unsigned char key[MASTER_KEY_BYTES];
	char b64[sodium_base64_ENCODED_LEN(MASTER_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	char line[KID_MAX + sizeof(b64) + 200];
	char kid[KID_MAX + 1];
	int flags = append ? (O_RDWR | O_APPEND) : (O_WRONLY | O_CREAT | O_EXCL);
	const char *prefix;
	int fd, rc, len;

	fd = open(path, flags | O_CLOEXEC, 0600);
	if (fd < 0)
		return set_error(err, errlen, "unable to %s '%s': %s", append ? "open" : "create", path,
				 errno == EEXIST ? "it already exists (refusing to overwrite a master key)"
						 : strerror(errno));
	make_kid(kid, sizeof(kid));
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
	if (append)
		prefix = ends_with_newline(fd) ? "" : "\n";
	else
		prefix = "# gofannon-keys master keys: KID:BASE64, one per line; the last one seals.\n";
	len = snprintf(line, sizeof(line), "%s%s:%s\n", prefix, kid, b64);
	rc = write_all(fd, line, (size_t)len);
	if (rc == GK_OK && fsync(fd) != 0)
		rc = GK_ERR;
	sodium_memzero(key, sizeof(key));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(line, sizeof(line));
	if (close(fd) != 0 || rc != GK_OK)
		return set_error(err, errlen, "unable to write '%s': %s", path, strerror(errno));
	snprintf(kid_out, kid_len, "%s", kid);
	return GK_OK;
}
