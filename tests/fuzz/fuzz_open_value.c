/* fuzz_open_value.c: a stored value as Redis returns it. Anyone who can
 * write to Redis controls these bytes, so open_value must refuse anything
 * that was not sealed for this user and provider, and never misbehave.
 * Every input is also sealed as a plaintext and must open back. */
#include "fuzz.h"

#include <sodium.h>

#include "keyring.h"
#include "seal.h"
#include "status.h"

/* The keys the seed corpus was sealed with (tests/fuzz/corpus/open_value). */
static const char ring_text[] = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
				"k2:qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo=\n";

static struct keyring ring;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if (sodium_init() < 0 ||
	    keyring_parse(&ring, ring_text, strlen(ring_text), err, sizeof(err)) != GK_OK)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct secret out;
	static char sealed[SEALED_MAX];
	char *stored = fuzz_copy(data, size);
	const char *kid;
	size_t kid_len;
	enum open_result rc;
	int has_kid;

	memset(&out, 0x5a, sizeof(out));
	rc = open_value(&ring, "alice", "openai", stored, size, &out);
	has_kid = sealed_kid(stored, size, &kid, &kid_len) == GK_OK;
	switch (rc) {
	case OPEN_OK:
		FUZZ_CHECK(has_kid && keyring_find(&ring, kid, kid_len));
		FUZZ_CHECK(out.len <= API_KEY_MAX && out.value[out.len] == '\0');
		/* bound to alice/openai: no other binding opens it */
		FUZZ_CHECK(open_value(&ring, "bob", "openai", stored, size, &out) == OPEN_FAILED);
		FUZZ_CHECK(open_value(&ring, "alice", "anthropic", stored, size, &out) == OPEN_FAILED);
		break;
	case OPEN_UNKNOWN_KID:
		FUZZ_CHECK(has_kid && !keyring_find(&ring, kid, kid_len));
		break;
	case OPEN_FAILED:
		/* decryption may have written into out: all of it is wiped */
		FUZZ_CHECK(has_kid);
		FUZZ_CHECK(out.len == 0);
		for (size_t i = 0; i < sizeof(out.value); i++)
			FUZZ_CHECK(out.value[i] == 0);
		break;
	case OPEN_MALFORMED:
		/* refused before decrypting: out is empty and the rest of it
		 * untouched (still the fill above), so nothing was written */
		FUZZ_CHECK(out.len == 0 && out.value[0] == '\0');
		for (size_t i = 1; i < sizeof(out.value); i++)
			FUZZ_CHECK((unsigned char)out.value[i] == 0x5a);
		break;
	default:
		FUZZ_CHECK(!"unknown open_result");
	}
	FUZZ_CHECK(*open_result_detail(rc) || rc == OPEN_OK);

	/* the same bytes as a plaintext: seal, then open back */
	if (size <= API_KEY_MAX) {
		FUZZ_CHECK(seal_value(&ring, "alice", "openai", stored, size, sealed, sizeof(sealed)) ==
			   GK_OK);
		FUZZ_CHECK(strncmp(sealed, "v1.k2.", 6) == 0);
		FUZZ_CHECK(open_value(&ring, "alice", "openai", sealed, strlen(sealed), &out) == OPEN_OK);
		FUZZ_CHECK(out.len == size && memcmp(out.value, stored, size) == 0);
	} else {
		FUZZ_CHECK(seal_value(&ring, "alice", "openai", stored, size, sealed, sizeof(sealed)) ==
			   GK_ERR);
	}
	secret_wipe(&out);
	free(stored);
	return 0;
}
