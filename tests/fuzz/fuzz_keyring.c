/* fuzz_keyring.c: the text of a master key file. */
#include "fuzz.h"

#include <sodium.h>

#include "keyring.h"
#include "status.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return sodium_init() < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyring ring;
	char err[256];
	char *text;

	if (size > 8192)
		return 0; /* keyring_load refuses larger files */
	text = fuzz_copy(data, size);
	err[0] = '\0';
	if (keyring_parse(&ring, text, size, err, sizeof(err)) == GK_OK) {
		FUZZ_CHECK(ring.count >= 1 && ring.count <= KEYRING_MAX);
		FUZZ_CHECK(keyring_current(&ring) == &ring.keys[ring.count - 1]);
		for (size_t i = 0; i < ring.count; i++) {
			const char *kid = ring.keys[i].kid;

			FUZZ_CHECK(valid_kid(kid, strlen(kid)));
			FUZZ_CHECK(keyring_find(&ring, kid, strlen(kid)) == &ring.keys[i]);
		}
		keyring_release(&ring);
	} else {
		FUZZ_CHECK(err[0] != '\0' && ring.keys == NULL && ring.count == 0);
	}
	free(text);
	return 0;
}
