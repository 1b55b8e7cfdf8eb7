/* keyring.h: the master keys that seal stored API keys.
 *
 * The file named by GOFANNON_MASTER_KEY_FILE holds one key per line,
 * "KID:BASE64" (32 random bytes), '#' comments allowed. Every key opens
 * values sealed under its kid; the last line is the one new values are sealed
 * with, so rotation is: append a key, reload, rekey, drop the old line. */
#ifndef GK_KEYRING_H
#define GK_KEYRING_H

#include <sodium.h>
#include <stddef.h>

#define KEYRING_MAX 16
#define KID_MAX 32
#define MASTER_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES

struct master_key {
	char kid[KID_MAX + 1];
	unsigned char key[MASTER_KEY_BYTES];
};

struct keyring {
	struct master_key *keys; /* sodium_malloc'd, wiped and freed on release */
	size_t count;
	unsigned file_mode; /* keyring_load: the file's permission bits */
};

/* Parses the text of a key file. Returns GK_OK, or GK_ERR with err set
 * (naming the line, never quoting key material). */
int keyring_parse(struct keyring *ring, const char *text, size_t len, char *err, size_t errlen);
/* keyring_load: other users may read or write the file. */
#define KEYRING_EXPOSED (-10)

/* Reads and parses the file at path. A file that other users can read or
 * write (o+r, o+w) is refused before a byte of it is read: returns
 * KEYRING_EXPOSED with err naming the file, its mode and "chmod 600".
 * Other failures: GK_ERR with err set. On GK_OK ring->file_mode holds the
 * permission bits, so the caller can warn about group access
 * (keyring_group_access). */
int keyring_load(struct keyring *ring, const char *path, char *err, size_t errlen);
/* 1 when the file's group may read or write it: allowed, but worth a warning. */
int keyring_group_access(const struct keyring *ring);
void keyring_release(struct keyring *ring);

/* The key new values are sealed with. */
const struct master_key *keyring_current(const struct keyring *ring);
const struct master_key *keyring_find(const struct keyring *ring, const char *kid, size_t kid_len);

/* Creates path (mode 0600, never overwriting) holding one fresh key, or with
 * append set adds a fresh key as the new last line of an existing file.
 * Returns GK_OK, or GK_ERR with err set. */
int keyring_generate(const char *path, int append, char *kid_out, size_t kid_len, char *err, size_t errlen);

int valid_kid(const char *kid, size_t len);

#endif
