#include "jsonw.h"

#include <string.h>

void jsonw_init(struct jsonw *w, struct arena *arena, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->arena = arena;
	w->max = max;
}

/* Makes room for n more bytes and the final NUL. */
static int reserve(struct jsonw *w, size_t n)
{
	size_t want, cap;
	char *grown;

	if (w->failed)
		return 0;
	if (n > w->max || w->len > w->max - n) {
		w->failed = 1;
		return 0;
	}
	want = w->len + n + 1;
	if (want <= w->cap)
		return 1;
	cap = w->cap ? w->cap * 2 : 1024;
	while (cap < want)
		cap *= 2;
	grown = arena_alloc_uninit(w->arena, cap); /* written before it is read */
	if (!grown) {
		w->failed = 1;
		return 0;
	}
	if (w->len)
		memcpy(grown, w->buf, w->len);
	w->buf = grown;
	w->cap = cap;
	return 1;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* The comma before an item, unless it follows its key. */
static void begin_item(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->depth > 0 && w->has_items[w->depth - 1])
		put(w, ",", 1);
	if (w->depth > 0)
		w->has_items[w->depth - 1] = 1;
}

static void open_container(struct jsonw *w, const char *bracket)
{
	begin_item(w);
	if (w->depth == JSONW_DEPTH_MAX) {
		w->failed = 1;
		return;
	}
	put(w, bracket, 1);
	w->has_items[w->depth++] = 0;
}

static void close_container(struct jsonw *w, const char *bracket)
{
	if (w->depth == 0 || w->after_key) {
		w->failed = 1;
		return;
	}
	w->depth--;
	put(w, bracket, 1);
}

void jsonw_object_begin(struct jsonw *w)
{
	open_container(w, "{");
}

void jsonw_object_end(struct jsonw *w)
{
	close_container(w, "}");
}

void jsonw_array_begin(struct jsonw *w)
{
	open_container(w, "[");
}

void jsonw_array_end(struct jsonw *w)
{
	close_container(w, "]");
}

/* The length of s's leading run that JSON takes as it is. A loop, not
 * strcspn() with a 33-character set: that builds its table on every call
 * and was a tenth of GET /api/providers. */
static size_t plain_run(const char *s)
{
	size_t n = 0;

	for (unsigned char c; (c = (unsigned char)s[n]) != '\0' && c >= 0x20 && c != '"' && c != '\\'; n++)
		;
	return n;
}

static void put_escaped(struct jsonw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	put(w, "\"", 1);
	while (*s) {
		size_t plain = plain_run(s);
		unsigned char c;

		put(w, s, plain);
		s += plain;
		c = (unsigned char)*s;
		if (!c)
			break;
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			put(w, esc, 2);
		} else {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			put(w, esc, 6);
		}
		s++;
	}
	put(w, "\"", 1);
}

void jsonw_key(struct jsonw *w, const char *key)
{
	if (w->depth == 0 || w->after_key) {
		w->failed = 1;
		return;
	}
	begin_item(w);
	put_escaped(w, key);
	put(w, ":", 1);
	w->after_key = 1;
}

void jsonw_string(struct jsonw *w, const char *s)
{
	if (!s) {
		jsonw_null(w);
		return;
	}
	begin_item(w);
	put_escaped(w, s);
}

void jsonw_bool(struct jsonw *w, int value)
{
	begin_item(w);
	if (value)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void jsonw_null(struct jsonw *w)
{
	begin_item(w);
	put(w, "null", 4);
}

const char *jsonw_finish(struct jsonw *w, size_t *len)
{
	if (w->failed || w->depth != 0 || w->after_key || !w->buf)
		return NULL;
	w->buf[w->len] = '\0';
	*len = w->len;
	return w->buf;
}
