/* fuzz_sse.c: a provider's event stream, as libcurl hands it over in pieces
 * of any size. The events must not depend on where the pieces were cut: the
 * stream is fed once whole and once cut where the first bytes say, and both
 * must give the same events (or the same error). */
#include "fuzz.h"

#include "sse.h"
#include "status.h"

#define CAP 1024

struct record {
	char *text; /* each event as "name\0data\0", one after the other */
	size_t len;
	size_t events;
};

static int on_event(void *ctx, const char *event, const char *data, size_t len)
{
	struct record *r = ctx;
	size_t name_len = strlen(event);
	char *grown;

	FUZZ_CHECK(name_len <= SSE_EVENT_NAME_MAX);
	FUZZ_CHECK(len <= CAP && data[len] == '\0');
	grown = realloc(r->text, r->len + name_len + len + 2);
	if (!grown)
		abort();
	memcpy(grown + r->len, event, name_len + 1);
	memcpy(grown + r->len + name_len + 1, data, len);
	grown[r->len + name_len + 1 + len] = '\0';
	r->text = grown;
	r->len += name_len + len + 2;
	r->events++;
	return GK_OK;
}

/* Feeds stream[0..len) in pieces whose sizes come from cuts, then finishes. */
static int run(const char *stream, size_t len, const uint8_t *cuts, size_t ncuts, struct record *r)
{
	struct sse_parser p;
	size_t at = 0, k = 0;
	int rc = GK_OK;

	sse_parser_init(&p, CAP, on_event, r);
	while (rc == GK_OK && at < len) {
		size_t piece = ncuts ? (size_t)cuts[k++ % ncuts] % 17 : len;

		if (piece == 0) {
			/* empty pieces are legal too: libcurl may deliver them */
			rc = sse_feed(&p, stream + at, 0);
			piece = 1;
		}
		if (piece > len - at)
			piece = len - at;
		if (rc == GK_OK)
			rc = sse_feed(&p, stream + at, piece);
		at += piece;
	}
	if (rc == GK_OK)
		rc = sse_finish(&p);
	sse_parser_release(&p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record whole = { 0 }, pieces = { 0 };
	size_t ncuts;
	char *stream;
	int rc_whole, rc_pieces;

	if (size < 1)
		return 0;
	ncuts = data[0] % 8;
	if (size < 1 + ncuts)
		return 0;
	stream = fuzz_copy(data + 1 + ncuts, size - 1 - ncuts);
	rc_whole = run(stream, size - 1 - ncuts, NULL, 0, &whole);
	rc_pieces = run(stream, size - 1 - ncuts, data + 1, ncuts, &pieces);
	FUZZ_CHECK(rc_whole == GK_OK || rc_whole == GK_TOOBIG);
	FUZZ_CHECK(rc_whole == rc_pieces);
	if (rc_whole == GK_OK) {
		FUZZ_CHECK(whole.events == pieces.events && whole.len == pieces.len);
		FUZZ_CHECK(whole.len == 0 || memcmp(whole.text, pieces.text, whole.len) == 0);
	}
	free(whole.text);
	free(pieces.text);
	free(stream);
	return 0;
}
