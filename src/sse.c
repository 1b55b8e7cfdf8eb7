#include "sse.h"

#include <string.h>

#include "status.h"

void sse_parser_init(struct sse_parser *p, size_t cap, sse_handler handler, void *ctx)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->buf, cap);
	p->handler = handler;
	p->ctx = ctx;
}

void sse_parser_release(struct sse_parser *p)
{
	buf_release(&p->buf);
	p->data_len = 0;
}

static int dispatch(struct sse_parser *p)
{
	int rc = GK_OK;

	if (p->has_data) /* end_line() left buf holding the data alone */
		rc = p->handler(p->ctx, p->event, p->buf.data, p->data_len);
	buf_truncate(&p->buf, 0);
	p->data_len = 0;
	p->has_data = 0;
	p->event[0] = '\0';
	return rc;
}

/* The current line is complete: interpret its field, then drop the line. */
static int end_line(struct sse_parser *p)
{
	size_t len = p->buf.len - p->data_len, name_len, skip;
	const char *colon;
	char *line;

	if (len == 0)
		return dispatch(p);
	/* only now: before the first byte of a line there may be no buffer */
	line = p->buf.data + p->data_len;
	colon = memchr(line, ':', len);
	name_len = colon ? (size_t)(colon - line) : len;
	skip = colon ? name_len + 1 : len;
	if (skip < len && line[skip] == ' ')
		skip++;
	if (name_len == 4 && memcmp(line, "data", 4) == 0) {
		/* The value moves back over its field name to follow the data
		 * so far: there is always room, "data:" being longer than "\n". */
		size_t at = p->data_len;

		if (p->has_data)
			line[0] = '\n', at++;
		memmove(p->buf.data + at, line + skip, len - skip);
		p->data_len = at + len - skip;
		p->has_data = 1;
	} else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
		size_t n = len - skip < SSE_EVENT_NAME_MAX ? len - skip : SSE_EVENT_NAME_MAX;

		memcpy(p->event, line + skip, n);
		p->event[n] = '\0';
	} /* else a comment (no name) or a field this parser does not keep */
	buf_truncate(&p->buf, p->data_len);
	return GK_OK;
}

int sse_feed(struct sse_parser *p, const char *buf, size_t len)
{
	size_t i = 0;
	int rc;

	while (i < len) {
		size_t run;

		if (p->skip_lf) {
			p->skip_lf = 0;
			if (buf[i] == '\n') {
				i++;
				continue;
			}
		}
		if (buf[i] == '\r' || buf[i] == '\n') {
			p->skip_lf = buf[i] == '\r';
			i++;
			rc = end_line(p);
			if (rc != GK_OK)
				return rc;
			continue;
		}
		for (run = 0; i + run < len && buf[i + run] != '\r' && buf[i + run] != '\n'; run++)
			;
		rc = buf_add(&p->buf, buf + i, run);
		if (rc != GK_OK)
			return rc;
		i += run;
	}
	return GK_OK;
}

int sse_finish(struct sse_parser *p)
{
	int rc = GK_OK;

	if (p->buf.len > p->data_len)
		rc = end_line(p);
	if (rc == GK_OK)
		rc = dispatch(p);
	return rc;
}
