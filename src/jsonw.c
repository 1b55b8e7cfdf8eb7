#include "jsonw.h"

#include <stdio.h>
#include <string.h>

void jsonw_init(struct jsonw *w, struct arena *arena, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->arena = arena;
	w->max = max;
}

/* reserve() when the buffer must grow (or the writer failed, or the cap
 * is passed). The buffer never grows past max + 1, so that room in it is
 * room under the cap. */
static int reserve_grow(struct jsonw *w, size_t n)
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
	if (cap - 1 > w->max) /* not cap > max + 1: max may be SIZE_MAX */
		cap = w->max + 1;
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

/* Makes room for n more bytes and the final NUL. */
static inline int reserve(struct jsonw *w, size_t n)
{
	if (!w->failed && w->cap - w->len > n)
		return 1;
	return reserve_grow(w, n);
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

/* s in quotes, then tail[0..tail_len): one reservation and copy when s
 * needs no escape, as keys and most values do. */
static void put_quoted(struct jsonw *w, const char *s, const char *tail, size_t tail_len)
{
	size_t plain = plain_run(s);
	char *at;

	if (s[plain] != '\0') {
		put_escaped(w, s);
		put(w, tail, tail_len);
		return;
	}
	if (!reserve(w, plain + 2 + tail_len))
		return;
	at = w->buf + w->len;
	at[0] = '"';
	memcpy(at + 1, s, plain);
	at[plain + 1] = '"';
	memcpy(at + plain + 2, tail, tail_len);
	w->len += plain + 2 + tail_len;
}

void jsonw_key(struct jsonw *w, const char *key)
{
	if (w->depth == 0 || w->after_key) {
		w->failed = 1;
		return;
	}
	begin_item(w);
	put_quoted(w, key, ":", 1);
	w->after_key = 1;
}

void jsonw_string(struct jsonw *w, const char *s)
{
	if (!s) {
		jsonw_null(w);
		return;
	}
	begin_item(w);
	put_quoted(w, s, "", 0);
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

/* Like put_escaped, by length: a NUL is escaped, not an end. */
static void put_escaped_len(struct jsonw *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t plain = 0;

	put(w, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(w, s + plain, i - plain);
		plain = i + 1;
		if (c >= 0x20) {
			esc[1] = (char)c;
			put(w, esc, 2);
		} else {
			put(w, esc, 6);
		}
	}
	put(w, s + plain, len - plain);
	put(w, "\"", 1);
}

void jsonw_string_len(struct jsonw *w, const char *s, size_t len)
{
	begin_item(w);
	put_escaped_len(w, s, len);
}

void jsonw_int(struct jsonw *w, long long value)
{
	char text[24];
	int n = snprintf(text, sizeof(text), "%lld", value);

	begin_item(w);
	put(w, text, (size_t)n);
}

void jsonw_members(struct jsonw *w, const char *members, size_t len)
{
	if (w->depth == 0 || w->after_key) {
		w->failed = 1;
		return;
	}
	if (len == 0)
		return;
	begin_item(w);
	put(w, members, len);
}

const char *jsonw_members_of(struct jsonw *w, size_t *len)
{
	size_t n;
	const char *text = jsonw_finish(w, &n);

	if (!text || n < 2 || text[0] != '{' || text[n - 1] != '}')
		return NULL;
	*len = n - 2;
	return text + 1;
}

void jsonw_reset(struct jsonw *w)
{
	w->len = 0;
	w->failed = 0;
	w->depth = 0;
	w->after_key = 0;
}
