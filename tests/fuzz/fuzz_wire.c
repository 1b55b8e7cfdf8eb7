/* fuzz_wire.c: what a provider sends back: a whole reply, one stream
 * event's data, or an error body. The first byte picks the wire style and
 * what the rest is; for error bodies the next bytes are the key that was
 * used, no run of which may come back in the sentence for the client. */
#include "fuzz.h"

#include "apikey.h"
#include "chat.h"
#include "status.h"
#include "wire.h"

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static void check_error_message(const struct wire_ops *ops, const uint8_t *data, size_t size)
{
	const char *key, *why;
	size_t key_len, n;
	char *copy;

	if (size < 1)
		return;
	n = data[0] % 32 + 1; /* short keys are redacted whole, longer ones by runs */
	if (size < 1 + n)
		return;
	copy = fuzz_copy(data + 1, size - 1);
	if (apikey_normalize(copy, n, &key, &key_len, &why) == GK_OK && key_len == n) {
		char *key_str = strndup(key, key_len);
		char out[WIRE_ERROR_MAX];

		if (!key_str)
			abort();
		wire_error_message(copy + n, size - 1 - n, key_str, key_len, out, sizeof(out));
		FUZZ_CHECK(strlen(out) < sizeof(out) && printable(out));
		FUZZ_CHECK(!fuzz_holds_key_run(out, strlen(out), key_str, key_len));
		(void)wire_key_rejected(ops, 400, copy + n, size - 1 - n);
		free(key_str);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum wire_style styles[] = { WIRE_OPENAI, WIRE_ANTHROPIC, WIRE_GEMINI };
	const struct wire_ops *ops;
	char *body;

	if (size < 1 || size > 1024 * 1024)
		return 0;
	ops = wire_ops_for(styles[data[0] % 3]);
	body = fuzz_copy(data + 1, size - 1);
	switch (data[0] / 3 % 3) {
	case 0: {
		struct wire_reply reply;

		if (wire_parse_reply(ops, body, size - 1, &reply) == GK_OK) {
			FUZZ_CHECK(reply.content && reply.content[reply.content_len] == '\0');
			FUZZ_CHECK(reply.usage.input_tokens >= 0 && reply.usage.output_tokens >= 0);
		} else {
			FUZZ_CHECK(reply.content == NULL);
		}
		wire_reply_release(&reply);
		break;
	}
	case 1: {
		struct wire_event event;
		struct chat_usage usage = { 0, 0 };

		if (wire_parse_event(ops, body, size - 1, &event, &usage) == GK_OK) {
			FUZZ_CHECK(!event.delta || event.delta[event.delta_len] == '\0');
			FUZZ_CHECK(usage.input_tokens >= 0 && usage.output_tokens >= 0);
		} else {
			/* a sentence for the client, printable */
			FUZZ_CHECK(event.error[0] != '\0' && printable(event.error));
			FUZZ_CHECK(event.delta == NULL);
		}
		wire_event_release(&event);
		break;
	}
	default:
		check_error_message(ops, data + 1, size - 1);
		break;
	}
	free(body);
	return 0;
}
