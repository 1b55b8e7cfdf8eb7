#include "mask_memo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct memo_entry {
	uint64_t hash;
	char *what; /* user NUL provider NUL sealed, malloc'd; NULL: empty */
	size_t what_len;
	char mask[MASK_MAX + 1];
};

static struct memo_entry memo[MASK_MEMO_SLOTS];

static uint64_t fnv1a(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211u;
	return h;
}

/* The three parts as one string, what an entry compares: user and
 * provider each with its NUL, then the sealed text. */
struct memo_key {
	const char *user, *provider_id, *sealed;
	size_t user_len, provider_len, sealed_len;
	uint64_t hash;
};

static struct memo_key memo_key(const char *user, const char *provider_id, const char *sealed, size_t len)
{
	struct memo_key k = { user, provider_id, sealed, strlen(user) + 1, strlen(provider_id) + 1, len, 0 };

	k.hash = fnv1a(fnv1a(fnv1a(14695981039346656037u, user, k.user_len), provider_id, k.provider_len),
		       sealed, len);
	return k;
}

static size_t memo_key_len(const struct memo_key *k)
{
	return k->user_len + k->provider_len + k->sealed_len;
}

static struct memo_entry *slot_of(const struct memo_key *k)
{
	return &memo[k->hash % MASK_MEMO_SLOTS];
}

static int entry_is(const struct memo_entry *e, const struct memo_key *k)
{
	const char *w = e->what;

	return w && e->hash == k->hash && e->what_len == memo_key_len(k) &&
	       memcmp(w, k->user, k->user_len) == 0 &&
	       memcmp(w + k->user_len, k->provider_id, k->provider_len) == 0 &&
	       memcmp(w + k->user_len + k->provider_len, k->sealed, k->sealed_len) == 0;
}

const char *mask_memo_find(const char *user, const char *provider_id, const char *sealed, size_t len,
			   char mask[MASK_MAX + 1])
{
	struct memo_key k = memo_key(user, provider_id, sealed, len);
	const struct memo_entry *e = slot_of(&k);

	if (!entry_is(e, &k))
		return NULL;
	memcpy(mask, e->mask, MASK_MAX + 1);
	return mask;
}

static void entry_empty(struct memo_entry *e)
{
	free(e->what);
	memset(e, 0, sizeof(*e));
}

void mask_memo_keep(const char *user, const char *provider_id, const char *sealed, size_t len,
		    const char *mask)
{
	struct memo_key k = memo_key(user, provider_id, sealed, len);
	struct memo_entry *e = slot_of(&k);
	char *what = malloc(memo_key_len(&k));

	if (strlen(mask) > MASK_MAX || !what) {
		free(what);
		return;
	}
	entry_empty(e);
	memcpy(what, user, k.user_len);
	memcpy(what + k.user_len, provider_id, k.provider_len);
	memcpy(what + k.user_len + k.provider_len, sealed, len);
	e->hash = k.hash;
	e->what = what;
	e->what_len = memo_key_len(&k);
	memcpy(e->mask, mask, strlen(mask) + 1);
}

void mask_memo_clear(void)
{
	for (size_t i = 0; i < MASK_MEMO_SLOTS; i++)
		entry_empty(&memo[i]);
}

size_t mask_memo_count(void)
{
	size_t n = 0;

	for (size_t i = 0; i < MASK_MEMO_SLOTS; i++)
		n += memo[i].what != NULL;
	return n;
}
